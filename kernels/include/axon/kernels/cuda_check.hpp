#pragma once
// Turns CUDA, cuBLAS and cuDNN status codes into axon::Error with the op and the library's own
// words. Only CUDA translation units include this.
#include <cuda_runtime_api.h>

#include <string>

#include <axon/error.hpp>

namespace axon::kernels::cuda_detail {
// "op: <library> error NAME (text) in expr"
[[noreturn]] inline void throw_status(const char* library, const char* name, const char* text, const char* op,
                                      const char* expr, const char* file, int line) {
  std::string msg = std::string(op) + ": " + library + " error " + name;
  if (text && *text) msg += std::string(" (") + text + ")";
  throw ::axon::Error(msg + " in " + expr, file, line);
}
[[noreturn]] inline void throw_cuda(cudaError_t e, const char* op, const char* expr, const char* file, int line) {
  throw_status("CUDA", cudaGetErrorName(e), cudaGetErrorString(e), op, expr, file, line);
}
}  // namespace axon::kernels::cuda_detail

#define AXON_CUDA_CHECK(expr, op)                                                               \
  do {                                                                                          \
    cudaError_t axon_e_ = (expr);                                                               \
    if (axon_e_ != cudaSuccess) [[unlikely]]                                                    \
      ::axon::kernels::cuda_detail::throw_cuda(axon_e_, op, #expr, __FILE__, __LINE__);         \
  } while (0)
// After a <<<...>>> launch: a bad configuration surfaces here, not at the next sync.
#define AXON_CUDA_LAUNCH_CHECK(op) AXON_CUDA_CHECK(cudaGetLastError(), op)

#define AXON_CUBLAS_CHECK(expr, op)                                                             \
  do {                                                                                          \
    auto axon_s_ = (expr);                                                                      \
    if (axon_s_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                          \
      ::axon::kernels::cuda_detail::throw_status("cuBLAS", cublasGetStatusName(axon_s_),        \
                                                 cublasGetStatusString(axon_s_), op, #expr, __FILE__, __LINE__); \
  } while (0)

#define AXON_CUDNN_CHECK(expr, op)                                                              \
  do {                                                                                          \
    auto axon_s_ = (expr);                                                                      \
    if (axon_s_ != CUDNN_STATUS_SUCCESS) [[unlikely]]                                           \
      ::axon::kernels::cuda_detail::throw_status("cuDNN", cudnnGetErrorString(axon_s_), "", op, #expr, \
                                                 __FILE__, __LINE__);                           \
  } while (0)

namespace axon::kernels {
// Grid size for a grid-stride loop over n elements.
inline unsigned grid_for(int64_t n, int block, int max_blocks = 65535 * 8) {
  int64_t g = (n + block - 1) / block;
  if (g < 1) g = 1;
  return static_cast<unsigned>(g > max_blocks ? max_blocks : g);
}
}  // namespace axon::kernels
