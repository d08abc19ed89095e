#pragma once
// Shared pieces of the CUDA softmax forward (softmax.cu) and backward (softmax_backward.cu).
#include <cuda_runtime.h>

#include <axon/kernels/scalar.hpp>
#include <limits>

namespace axon::kernels::cuda::softmax_detail {

__device__ __forceinline__ float exp_(float v) { return expf(v); }
__device__ __forceinline__ double exp_(double v) { return ::exp(v); }
__device__ __forceinline__ float log_(float v) { return logf(v); }
__device__ __forceinline__ double log_(double v) { return ::log(v); }
template <class A>
__device__ __forceinline__ A max_nan(A m, A v) {
  return (v != v || v > m) ? v : m;
}
template <class A>
__device__ __forceinline__ A neg_inf() {
  return -std::numeric_limits<A>::infinity();
}

template <class A>
__device__ __forceinline__ A warp_max(A v) {
  for (int off = 16; off > 0; off >>= 1) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
template <class A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
// Every thread of the block gets the result. `red` holds 32 entries.
template <bool Max, class A>
__device__ __forceinline__ A block_all(A v, A* red) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = Max ? warp_max(v) : warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nwarps ? red[lane] : (Max ? neg_inf<A>() : A(0));
  v = Max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // red is reused by the next reduction
  return v;
}

// Values per lane for a row of n <= 1024 held by one warp: the next power of two >= n / 32.
inline int warp_row_values(int64_t n) {
  int v = 1;
  while (32 * v < n) v *= 2;
  return v;
}

}  // namespace axon::kernels::cuda::softmax_detail
