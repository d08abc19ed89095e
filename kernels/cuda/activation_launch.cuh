#pragma once
// Shared launch code of the fused activation kernels: 16-byte vector loads/stores when every pointer
// is aligned (the common case for fresh tensors), a scalar grid-stride loop otherwise.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include <axon/kernels/activation.hpp>
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>

#include "device_props.cuh"

namespace axon::kernels::cuda::act_detail {

inline constexpr int kBlock = 256;

template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

inline unsigned blocks_for(int64_t work) { return resident_blocks(work, kBlock); }

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// y[i] = f(x[i]) (K = 1) or y[i] = f(x[i], z[i]) (K = 2), in V-wide packs then a scalar tail.
template <int V, class T, class F>
__global__ void __launch_bounds__(kBlock) map1(int64_t n, F f, T* __restrict__ y, const T* __restrict__ x) {
  const int64_t nv = n / V, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nv; i += stride) {
    Pack<T, V> a = reinterpret_cast<const Pack<T, V>*>(x)[i], o;
#pragma unroll
    for (int k = 0; k < V; ++k) o.v[k] = f(a.v[k]);
    reinterpret_cast<Pack<T, V>*>(y)[i] = o;
  }
  for (int64_t i = nv * V + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride) y[i] = f(x[i]);
}

template <int V, class T, class F>
__global__ void __launch_bounds__(kBlock)
    map2(int64_t n, F f, T* __restrict__ y, const T* __restrict__ x, const T* __restrict__ z) {
  const int64_t nv = n / V, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nv; i += stride) {
    Pack<T, V> a = reinterpret_cast<const Pack<T, V>*>(x)[i], b = reinterpret_cast<const Pack<T, V>*>(z)[i], o;
#pragma unroll
    for (int k = 0; k < V; ++k) o.v[k] = f(a.v[k], b.v[k]);
    reinterpret_cast<Pack<T, V>*>(y)[i] = o;
  }
  for (int64_t i = nv * V + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride)
    y[i] = f(x[i], z[i]);
}

template <class T, class F>
void launch1(const char* name, int64_t n, F f, T* y, const T* x, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T);
  if (aligned16(x) && aligned16(y)) {
    map1<V><<<blocks_for(n / V + 1), kBlock, 0, s>>>(n, f, y, x);
  } else {
    map1<1><<<blocks_for(n), kBlock, 0, s>>>(n, f, y, x);
  }
  AXON_CUDA_LAUNCH_CHECK(name);
}

template <class T, class F>
void launch2(const char* name, int64_t n, F f, T* y, const T* x, const T* z, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T);
  if (aligned16(x) && aligned16(y) && aligned16(z)) {
    map2<V><<<blocks_for(n / V + 1), kBlock, 0, s>>>(n, f, y, x, z);
  } else {
    map2<1><<<blocks_for(n), kBlock, 0, s>>>(n, f, y, x, z);
  }
  AXON_CUDA_LAUNCH_CHECK(name);
}


}  // namespace axon::kernels::cuda::act_detail
