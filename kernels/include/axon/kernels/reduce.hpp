#pragma once
// Reductions of the middle axis of a contiguous [outer, n, inner] array into a contiguous
// [outer, inner] one. Front-ends bring any set of reduced axes into that layout.
//
// Result dtypes (reduce_out_dtype): sum and prod keep floating dtypes and give i64 for integers and
// bool; max and min keep the dtype; all and any give bool; argmax and argmin give i64 (the first
// index on ties; NaN counts as the extreme, as NumPy). Floating sums accumulate in double on the
// CPU and in float (double for f64) on CUDA. `scale` multiplies sums (mean = sum * 1/n).
// n may be 0 only for sum, prod, all and any (the identity is written).
#include <axon/kernels/common.hpp>

namespace axon::kernels {

enum class ReduceOp : uint8_t { sum, prod, max, min, all, any, argmax, argmin };

inline DType reduce_out_dtype(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::prod:
      return is_floating(in) ? in : DType::i64;
    case ReduceOp::all:
    case ReduceOp::any:
      return DType::boolean;
    case ReduceOp::argmax:
    case ReduceOp::argmin:
      return DType::i64;
    default:
      return in;
  }
}

namespace cpu {
void reduce(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
            double scale = 1);
}  // namespace cpu

namespace cuda {
// Bytes of device scratch reduce() needs for this problem (0 for most: only long rows split
// across several blocks need room for partial results).
size_t reduce_workspace_bytes(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner);
void reduce(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
            double scale, void* workspace, size_t workspace_bytes, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
