#pragma once
// Inclusive prefix sums along the middle axis of a contiguous [outer, n, inner] array, into a
// contiguous array of the same shape; `reverse` sums from the end (the gradient of cumsum).
// Floating dtypes keep their dtype (accumulating in double on the CPU, in float or double on
// CUDA); integers and bool give i64.
#include <axon/kernels/common.hpp>

namespace axon::kernels {

inline DType cumsum_out_dtype(DType in) { return is_floating(in) ? in : DType::i64; }

namespace cpu {
void cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse = false);
}  // namespace cpu
namespace cuda {
// Bytes of device scratch cumsum() needs (0 unless a few long rows are split across the GPU).
size_t cumsum_workspace_bytes(int64_t outer, int64_t n, int64_t inner);
void cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse,
            void* workspace, size_t workspace_bytes, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
