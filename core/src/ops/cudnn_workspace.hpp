#pragma once
// cuDNN workspaces for the op front-ends (conv, pooling, batch norm): tensors from the stream-ordered
// pool, kept until the op returns; freeing them after the enqueue is safe. CUDA builds with cuDNN.
#include <algorithm>
#include <axon/kernels/conv.hpp>
#include <vector>

#include "internal.hpp"

namespace axon::detail {

struct WorkspaceKeep {
  Device device;
  std::vector<Tensor> keep;
};
inline kernels::cudnn::Workspace workspace_for(WorkspaceKeep& k) {
  kernels::cudnn::Workspace ws;
  ws.ctx = &k;
  ws.alloc = [](void* ctx, std::size_t bytes) -> void* {
    auto* keep = static_cast<WorkspaceKeep*>(ctx);
    keep->keep.push_back(empty({static_cast<int64_t>(std::max<std::size_t>(bytes, 1))}, DType::u8, keep->device));
    return keep->keep.back().data_ptr();
  };
  return ws;
}

}  // namespace axon::detail
