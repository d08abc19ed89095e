// CUDA softmax / log-softmax backward, fused (one kernel instead of mul, sum, sub, mul):
//   softmax:     dx = y * (g - s), s = sum(g * y);   log-softmax: dx = g - exp(y) * s, s = sum(g).
//  - rows (inner == 1) up to 1024 long: one warp per row, y and g held in registers (one read each);
//  - longer rows: one block per row, a summing pass then a writing pass (the re-read of the row,
//    at most a few hundred KB per block, comes mostly from L2);
//  - inner > 1: one thread per (outer, inner) column, coalesced across inner.
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>

#include "softmax_common.cuh"

namespace axon::kernels::cuda {

namespace {

using namespace softmax_detail;

template <bool Log, class A>
__device__ __forceinline__ A term(A y, A g) {
  if constexpr (Log) return g;
  else return g * y;
}
template <bool Log, class A>
__device__ __forceinline__ A grad(A y, A g, A s) {
  if constexpr (Log) return g - exp_(y) * s;
  else return y * (g - s);
}

template <bool Log, class T, int V>
__global__ void __launch_bounds__(256) bwd_rows_warp(const T* __restrict__ y, const T* __restrict__ g,
                                                     T* __restrict__ dx, int64_t outer, int n) {
  using A = acc_t<T>;
  const int lane = threadIdx.x & 31;
  const int64_t wpb = blockDim.x >> 5;
  for (int64_t o = blockIdx.x * wpb + (threadIdx.x >> 5); o < outer; o += int64_t(gridDim.x) * wpb) {
    A yv[V], gv[V];
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int k = lane + 32 * j;
      yv[j] = k < n ? convert<A>(y[o * n + k]) : A(0);
      gv[j] = k < n ? convert<A>(g[o * n + k]) : A(0);
    }
    A s = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) s += term<Log>(yv[j], gv[j]);  // padding adds 0
    s = warp_sum(s);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int k = lane + 32 * j;
      if (k < n) dx[o * n + k] = convert<T>(grad<Log>(yv[j], gv[j], s));
    }
  }
}

template <bool Log, class T>
__global__ void __launch_bounds__(1024) bwd_rows_block(const T* __restrict__ y, const T* __restrict__ g,
                                                       T* __restrict__ dx, int64_t outer, int64_t n) {
  using A = acc_t<T>;
  __shared__ A red[32];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const T* yr = y + o * n;
    const T* gr = g + o * n;
    A s = 0;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) s += term<Log>(convert<A>(yr[k]), convert<A>(gr[k]));
    s = block_all<false>(s, red);  // ends with a barrier: red is free for the next row
    T* dr = dx + o * n;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x)
      dr[k] = convert<T>(grad<Log>(convert<A>(yr[k]), convert<A>(gr[k]), s));
  }
}

template <bool Log, class T>
__global__ void __launch_bounds__(256) bwd_columns(const T* __restrict__ y, const T* __restrict__ g,
                                                   T* __restrict__ dx, int64_t outer, int64_t n, int64_t inner) {
  using A = acc_t<T>;
  const int64_t cols = outer * inner;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = div_fast(c, inner), at = o * n * inner + (c - o * inner);
    A s = 0;
    for (int64_t k = 0; k < n; ++k) s += term<Log>(convert<A>(y[at + k * inner]), convert<A>(g[at + k * inner]));
    for (int64_t k = 0; k < n; ++k)
      dx[at + k * inner] = convert<T>(grad<Log>(convert<A>(y[at + k * inner]), convert<A>(g[at + k * inner]), s));
  }
}

template <bool Log, class T>
void launch(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner, cudaStream_t s) {
  if (inner > 1) {
    bwd_columns<Log><<<grid_for(outer * inner, 256), 256, 0, s>>>(y, g, dx, outer, n, inner);
  } else if (n <= 1024) {
    const unsigned grid = grid_for(outer, 8);
    switch (warp_row_values(n)) {
      case 1: bwd_rows_warp<Log, T, 1><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
      case 2: bwd_rows_warp<Log, T, 2><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
      case 4: bwd_rows_warp<Log, T, 4><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
      case 8: bwd_rows_warp<Log, T, 8><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
      case 16: bwd_rows_warp<Log, T, 16><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
      default: bwd_rows_warp<Log, T, 32><<<grid, 256, 0, s>>>(y, g, dx, outer, int(n)); break;
    }
  } else {
    const int threads = n >= 16384 ? 1024 : n >= 4096 ? 512 : 256;
    bwd_rows_block<Log><<<grid_for(outer, 1), threads, 0, s>>>(y, g, dx, outer, n);
  }
}

}  // namespace

void softmax_backward(DType dt, const void* y, const void* g, void* dx, int64_t outer, int64_t n, int64_t inner,
                      bool log, cudaStream_t s) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_backward",
                      (log ? launch<true, scalar_t> : launch<false, scalar_t>)(
                          static_cast<const scalar_t*>(y), static_cast<const scalar_t*>(g),
                          static_cast<scalar_t*>(dx), outer, n, inner, s));
  AXON_CUDA_LAUNCH_CHECK(log ? "log_softmax_backward" : "softmax_backward");
}

}  // namespace axon::kernels::cuda
