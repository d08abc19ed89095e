#pragma once
// Softmax and log-softmax along the middle axis of a contiguous [outer, n, inner] array (floating
// dtypes), into a contiguous array of the same shape. Max-subtracted, so |x| = 1000 stays finite;
// NaN in a row gives NaN for the whole row. 16-bit inputs compute in float.
#include <axon/kernels/common.hpp>

namespace axon::kernels {
namespace cpu {
void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log);
}  // namespace cpu
namespace cuda {
void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log,
             cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
