#pragma once
// Softmax and log-softmax along the middle axis of a contiguous [outer, n, inner] array (floating
// dtypes), into a contiguous array of the same shape. Max-subtracted, so |x| = 1000 stays finite;
// NaN in a row gives NaN for the whole row. 16-bit inputs compute in float.
#include <axon/kernels/common.hpp>

//
// softmax_backward: the input gradient from the forward's output y and the output gradient g (same
// layout and dtype), in one pass over each row: dx = y * (g - sum(g * y)) for softmax,
// dx = g - exp(y) * sum(g) for log-softmax (y = log-probabilities). Sums in f64 on the CPU, in the
// accumulation type (f32, f64 for f64) on CUDA.
namespace axon::kernels {
namespace cpu {
void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log);
void softmax_backward(DType dt, const void* y, const void* g, void* dx, int64_t outer, int64_t n,
                      int64_t inner, bool log);
}  // namespace cpu
namespace cuda {
void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log,
             cudaStream_t s);
void softmax_backward(DType dt, const void* y, const void* g, void* dx, int64_t outer, int64_t n,
                      int64_t inner, bool log, cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
