#pragma once
// Shared pieces of the row-normalization kernels (norm_forward.cu, norm_backward.cu).
#include <axon/kernels/scalar.hpp>
#include <cstdint>
#include <type_traits>

namespace axon::kernels::cuda {

template <class T>
using stat_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

__device__ __forceinline__ float rsqrt_(float v) { return rsqrtf(v); }
__device__ __forceinline__ double rsqrt_(double v) { return ::rsqrt(v); }

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
// Every thread of the block gets the sum. `red` holds 32 entries; blockDim.x is a multiple of 32.
template <class A>
__device__ __forceinline__ A block_sum(A v, A* red) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nwarps ? red[lane] : A(0);
  v = warp_sum(v);
  __syncthreads();  // red is reused by the next reduction
  return v;
}

// Threads per row block and values per thread held in registers (0: row too long, use global).
struct RowPlan {
  int threads, v;
};
inline RowPlan plan_rows(int64_t n) {
  // About 16 elements per thread on long rows (many loads in flight), at least one warp.
  int64_t t = (n + 15) / 16;
  t = ((t + 31) / 32) * 32;
  if (t < 32) t = 32;
  if (t > 1024) t = 1024;
  int64_t per = (n + t - 1) / t;
  int v = 1;
  while (v < per) v *= 2;
  return {int(t), v <= 16 ? v : 0};
}

// 16-byte vectors for the aligned paths: N elements of T.
template <class T>
struct alignas(16) Vec {
  static constexpr int N = 16 / sizeof(T);
  T v[N];
};

// Vectorized plan: `threads` per row block, `vv` vectors per thread (0: too long, use another path),
// aiming at about `target` vectors per thread so that long rows keep many loads in flight while two
// blocks still fit on an SM.
inline RowPlan plan_vec(int64_t nv, int target) {
  int64_t t = (nv + target - 1) / target;
  t = ((t + 31) / 32) * 32;
  if (t < 32) t = 32;
  if (t > 1024) t = 1024;
  int64_t per = (nv + t - 1) / t;
  int v = 1;
  while (v < per) v *= 2;
  return {int(t), v <= target ? v : 0};
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace axon::kernels::cuda
