#pragma once
// The counters behind cudnn::pool_norm_runs(): pool forward, pool backward, batch norm training,
// inference, backward.
#include <atomic>
#include <cstdint>

namespace axon::kernels::cudnn::detail {
extern std::atomic<int64_t> g_pool_norm_runs[5];
enum RunIndex { kPoolForward = 0, kPoolBackward, kBnTraining, kBnInference, kBnBackward };
}  // namespace axon::kernels::cudnn::detail
