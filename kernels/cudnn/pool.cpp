// cuDNN max and average pooling, forward and backward, on channels-last [N, D, H, W, C] data
// (cudnn_pool_norm.hpp). Pooling with a unit depth axis runs as 2-D (NHWC), the rest as 3-D (NDHWC).
// The descriptors of a problem are built once and cached for the process.
#include <axon/kernels/cudnn_pool_norm.hpp>

#ifndef AXON_HAS_CUDNN
namespace axon::kernels::cudnn {
bool pool_supports(const PoolGeometry&, DType) { return false; }
bool pool_forward(PoolMode, DType, const void*, void*, const PoolGeometry&, cudnnContext*, cudaStream_t) {
  return false;
}
bool pool_backward(PoolMode, DType, const void*, const void*, const void*, void*, const PoolGeometry&, cudnnContext*,
                   cudaStream_t) {
  return false;
}
}  // namespace axon::kernels::cudnn
#else
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cudnn_common.hpp"
#include "pool_norm_runs.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace axon::kernels::cudnn {

namespace {
using namespace detail;

struct PoolPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnPoolingDescriptor_t pool = nullptr;
  bool ok = false;  // cuDNN took the descriptors
};

// 2-D when the depth axis is trivial.
int spatial_dims(const PoolGeometry& g) { return g.in[0] == 1 && g.window[0] == 1 && g.out[0] == 1 ? 2 : 3; }

std::unique_ptr<PoolPlan> make_plan(PoolMode m, DType dt, const PoolGeometry& g) {
  const char* op = "pool (cuDNN)";
  auto p = std::make_unique<PoolPlan>();
  const int nd = spatial_dims(g), first = 3 - nd;
  std::vector<int> xd{int(g.n), int(g.c)}, yd{int(g.n), int(g.c)}, win, pad, stride;
  for (int d = first; d < 3; ++d) {
    xd.push_back(int(g.in[d]));
    yd.push_back(int(g.out[d]));
    win.push_back(int(g.window[d]));
    pad.push_back(int(g.pad_lo[d]));
    stride.push_back(int(g.stride[d]));
  }
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x), op);
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y), op);
  AXON_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&p->pool), op);
  const cudnnDataType_t t = data_type(dt);
  const cudnnPoolingMode_t mode =
      m == PoolMode::max ? CUDNN_POOLING_MAX_DETERMINISTIC : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
  bool ok = cudnnSetTensorNdDescriptorEx(p->x, CUDNN_TENSOR_NHWC, t, nd + 2, xd.data()) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetTensorNdDescriptorEx(p->y, CUDNN_TENSOR_NHWC, t, nd + 2, yd.data()) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetPoolingNdDescriptor(p->pool, mode, CUDNN_PROPAGATE_NAN, nd, win.data(), pad.data(),
                                    stride.data()) == CUDNN_STATUS_SUCCESS;
  // cuDNN's own output size must be ours (the high padding it implies covers our windows).
  std::vector<int> od(static_cast<size_t>(nd + 2));
  ok = ok && cudnnGetPoolingNdForwardOutputDim(p->pool, p->x, nd + 2, od.data()) == CUDNN_STATUS_SUCCESS &&
       od == yd;
  p->ok = ok;
  return p;
}

std::mutex g_mutex;
PoolPlan& plan_for(PoolMode m, DType dt, const PoolGeometry& g) {
  static std::map<std::vector<int64_t>, std::unique_ptr<PoolPlan>> plans;
  std::vector<int64_t> key{static_cast<int64_t>(m), static_cast<int64_t>(dt), g.n, g.c};
  for (int d = 0; d < 3; ++d)
    for (int64_t v : {g.in[d], g.out[d], g.window[d], g.stride[d], g.dilation[d], g.pad_lo[d]}) key.push_back(v);
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(std::move(key), make_plan(m, dt, g)).first;
  return *it->second;
}
}  // namespace

bool pool_supports(const PoolGeometry& g, DType dt) {
  if (dt != DType::f32 && dt != DType::f64 && dt != DType::bf16 && dt != DType::f16) return false;
  const int64_t big = int64_t(1) << 31;  // cuDNN's sizes are ints
  int64_t in = g.n * g.c, out = g.n * g.c;
  for (int d = 0; d < 3; ++d) {
    if (g.dilation[d] != 1 || g.pad_lo[d] < 0 || g.pad_lo[d] >= g.window[d]) return false;
    // Symmetric padding: cuDNN pads pad_lo on both sides, so its output size is ours only when our
    // high padding does not reach beyond that.
    if ((g.in[d] + 2 * g.pad_lo[d] - g.window[d]) / g.stride[d] + 1 != g.out[d]) return false;
    if (g.in[d] + 2 * g.pad_lo[d] < g.window[d]) return false;
    in *= g.in[d];
    out *= g.out[d];
  }
  return in < big && out < big;
}

bool pool_forward(PoolMode m, DType dt, const void* x, void* y, const PoolGeometry& g, cudnnContext* h,
                  cudaStream_t s) {
  const char* op = m == PoolMode::max ? "max_pool (cuDNN)" : "avg_pool (cuDNN)";
  std::lock_guard<std::mutex> lock(g_mutex);
  PoolPlan& p = plan_for(m, dt, g);
  if (!p.ok) return false;
  AXON_CUDNN_CHECK(cudnnSetStream(h, s), op);
  const cudnnStatus_t st = cudnnPoolingForward(h, p.pool, alpha(dt), p.x, x, beta(dt), p.y, y);
  if (st == CUDNN_STATUS_NOT_SUPPORTED) {
    p.ok = false;
    return false;
  }
  AXON_CUDNN_CHECK(st, op);
  ++g_pool_norm_runs[kPoolForward];
  return true;
}

bool pool_backward(PoolMode m, DType dt, const void* x, const void* y, const void* dy, void* dx,
                   const PoolGeometry& g, cudnnContext* h, cudaStream_t s) {
  const char* op = m == PoolMode::max ? "max_pool backward (cuDNN)" : "avg_pool backward (cuDNN)";
  std::lock_guard<std::mutex> lock(g_mutex);
  PoolPlan& p = plan_for(m, dt, g);
  if (!p.ok) return false;
  AXON_CUDNN_CHECK(cudnnSetStream(h, s), op);
  const cudnnStatus_t st = cudnnPoolingBackward(h, p.pool, alpha(dt), p.y, y, p.y, dy, p.x, x, beta(dt), p.x, dx);
  if (st == CUDNN_STATUS_NOT_SUPPORTED) return false;
  AXON_CUDNN_CHECK(st, op);
  ++g_pool_norm_runs[kPoolBackward];
  return true;
}

}  // namespace axon::kernels::cudnn
#endif  // AXON_HAS_CUDNN
