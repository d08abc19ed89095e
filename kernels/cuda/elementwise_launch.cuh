#pragma once
// The launch machinery of the CUDA elementwise kernels: one kernel shape for every op, specialised
// on a functor. Two paths:
//  - vectorised: every operand contiguous and aligned; each thread moves 16 bytes of its widest
//    operand per step (float4, 8 halves, 2 doubles) in a grid-stride loop;
//  - strided: offsets from the Indexers (one division per axis, shared by all operands; 32-bit
//    divisions while the indices fit).
// Functors receive and return storage types (the adapters below convert to the arithmetic type).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/elementwise_math.hpp>
#include <axon/kernels/scalar.hpp>

#include "device_props.cuh"

namespace axon::kernels::cuda::ew {

using namespace ::axon::kernels::ew;  // the scalar functors

inline constexpr int kBlock = 256;

template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

inline unsigned blocks_for(int64_t work) { return resident_blocks(work, kBlock); }

template <int K>
struct Indexers {
  Indexer ix[K];
};

// Element offsets of element i for K operands sharing sizes.
template <int K>
__device__ __forceinline__ void offsets(const Indexers<K>& p, int64_t i, int64_t (&off)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) off[k] = 0;
  const Indexer& s = p.ix[0];
  for (int d = s.ndim - 1; d >= 0; --d) {
    int64_t q = div_fast(i, s.sizes[d]);
    int64_t r = i - q * s.sizes[d];
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] += r * p.ix[k].strides[d];
    i = q;
  }
}

#define AXON_EW_GRID_LOOP(i, n)                                             \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

template <int V, class O, class F, class T0>
__global__ void __launch_bounds__(kBlock) vec1(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0) {
  const int64_t nv = n / V;
  AXON_EW_GRID_LOOP(i, nv) {
    Vec<T0, V> a = reinterpret_cast<const Vec<T0, V>*>(x0)[i];
    Vec<O, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k) o.v[k] = f(a.v[k]);
    reinterpret_cast<Vec<O, V>*>(y)[i] = o;
  }
  AXON_EW_GRID_LOOP(j, n - nv * V) {
    int64_t i = nv * V + j;
    y[i] = f(x0[i]);
  }
}

template <int V, class O, class F, class T0, class T1>
__global__ void __launch_bounds__(kBlock)
    vec2(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0, const T1* __restrict__ x1) {
  const int64_t nv = n / V;
  AXON_EW_GRID_LOOP(i, nv) {
    Vec<T0, V> a = reinterpret_cast<const Vec<T0, V>*>(x0)[i];
    Vec<T1, V> b = reinterpret_cast<const Vec<T1, V>*>(x1)[i];
    Vec<O, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k) o.v[k] = f(a.v[k], b.v[k]);
    reinterpret_cast<Vec<O, V>*>(y)[i] = o;
  }
  AXON_EW_GRID_LOOP(j, n - nv * V) {
    int64_t i = nv * V + j;
    y[i] = f(x0[i], x1[i]);
  }
}

template <int V, class O, class F, class T0, class T1, class T2>
__global__ void __launch_bounds__(kBlock) vec3(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0,
                                               const T1* __restrict__ x1, const T2* __restrict__ x2) {
  const int64_t nv = n / V;
  AXON_EW_GRID_LOOP(i, nv) {
    Vec<T0, V> a = reinterpret_cast<const Vec<T0, V>*>(x0)[i];
    Vec<T1, V> b = reinterpret_cast<const Vec<T1, V>*>(x1)[i];
    Vec<T2, V> c = reinterpret_cast<const Vec<T2, V>*>(x2)[i];
    Vec<O, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k) o.v[k] = f(a.v[k], b.v[k], c.v[k]);
    reinterpret_cast<Vec<O, V>*>(y)[i] = o;
  }
  AXON_EW_GRID_LOOP(j, n - nv * V) {
    int64_t i = nv * V + j;
    y[i] = f(x0[i], x1[i], x2[i]);
  }
}

template <class O, class F, class T0>
__global__ void __launch_bounds__(kBlock)
    strided1(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0, Indexers<1> p) {
  AXON_EW_GRID_LOOP(i, n) {
    int64_t off[1];
    offsets(p, i, off);
    y[i] = f(x0[off[0]]);
  }
}

template <class O, class F, class T0, class T1>
__global__ void __launch_bounds__(kBlock)
    strided2(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0, const T1* __restrict__ x1,
             Indexers<2> p) {
  AXON_EW_GRID_LOOP(i, n) {
    int64_t off[2];
    offsets(p, i, off);
    y[i] = f(x0[off[0]], x1[off[1]]);
  }
}

template <class O, class F, class T0, class T1, class T2>
__global__ void __launch_bounds__(kBlock)
    strided3(int64_t n, F f, O* __restrict__ y, const T0* __restrict__ x0, const T1* __restrict__ x1,
             const T2* __restrict__ x2, Indexers<3> p) {
  AXON_EW_GRID_LOOP(i, n) {
    int64_t off[3];
    offsets(p, i, off);
    y[i] = f(x0[off[0]], x1[off[1]], x2[off[2]]);
  }
}

template <class T, int V>
inline bool aligned(const T* p) {
  return reinterpret_cast<uintptr_t>(p) % (sizeof(T) * V) == 0;
}
template <class... Ts>
inline constexpr int vec_width() {
  return static_cast<int>(16 / std::max({sizeof(Ts)...}));
}

// Launches y[i] = f(x0[i], ...) over n elements on stream s; `name` is the op in error messages.
template <class O, class F, class T0>
void launch(const char* name, int64_t n, F f, O* y, cudaStream_t s, const T0* x0, const Indexer& i0) {
  if (n == 0) return;
  constexpr int V = vec_width<O, T0>();
  if (i0.contiguous() && aligned<O, V>(y) && aligned<T0, V>(x0)) {
    vec1<V><<<blocks_for(std::max<int64_t>(n / V, n % V)), kBlock, 0, s>>>(n, f, y, x0);
  } else {
    strided1<<<blocks_for(n), kBlock, 0, s>>>(n, f, y, x0, Indexers<1>{{i0}});
  }
  AXON_CUDA_LAUNCH_CHECK(name);
}

template <class O, class F, class T0, class T1>
void launch(const char* name, int64_t n, F f, O* y, cudaStream_t s, const T0* x0, const Indexer& i0,
            const T1* x1, const Indexer& i1) {
  if (n == 0) return;
  constexpr int V = vec_width<O, T0, T1>();
  if (i0.contiguous() && i1.contiguous() && aligned<O, V>(y) && aligned<T0, V>(x0) && aligned<T1, V>(x1)) {
    vec2<V><<<blocks_for(std::max<int64_t>(n / V, n % V)), kBlock, 0, s>>>(n, f, y, x0, x1);
  } else {
    strided2<<<blocks_for(n), kBlock, 0, s>>>(n, f, y, x0, x1, Indexers<2>{{i0, i1}});
  }
  AXON_CUDA_LAUNCH_CHECK(name);
}

template <class O, class F, class T0, class T1, class T2>
void launch(const char* name, int64_t n, F f, O* y, cudaStream_t s, const T0* x0, const Indexer& i0,
            const T1* x1, const Indexer& i1, const T2* x2, const Indexer& i2) {
  if (n == 0) return;
  constexpr int V = vec_width<O, T0, T1, T2>();
  if (i0.contiguous() && i1.contiguous() && i2.contiguous() && aligned<O, V>(y) && aligned<T0, V>(x0) &&
      aligned<T1, V>(x1) && aligned<T2, V>(x2)) {
    vec3<V><<<blocks_for(std::max<int64_t>(n / V, n % V)), kBlock, 0, s>>>(n, f, y, x0, x1, x2);
  } else {
    strided3<<<blocks_for(n), kBlock, 0, s>>>(n, f, y, x0, x1, x2, Indexers<3>{{i0, i1, i2}});
  }
  AXON_CUDA_LAUNCH_CHECK(name);
}

// ---- adapters: storage types in and out, arithmetic in acc_t

// convert(): in device code the 16-bit conversions are the hardware's instructions, with the
// host's rounding and NaNs (dtype.hpp), so CPU and CUDA agree bit for bit.
template <class D, class S>
__device__ __forceinline__ D cvt(S s) {
  return convert<D>(s);
}

// y = F(x), result stored as O.
template <class T, class O, class F>
struct Map1 {
  F f;
  __device__ __forceinline__ O operator()(T x) const { return cvt<O>(f(cvt<acc_t<T>>(x))); }
};
template <class T, class O, class F>
struct Map2 {
  F f;
  __device__ __forceinline__ O operator()(T a, T b) const {
    return cvt<O>(f(cvt<acc_t<T>>(a), cvt<acc_t<T>>(b)));
  }
};
// x op s (ScalarFirst = false) or s op x.
template <class T, class O, class F, bool ScalarFirst>
struct WithScalar {
  F f;
  acc_t<T> s;
  __device__ __forceinline__ O operator()(T x) const {
    if constexpr (ScalarFirst)
      return cvt<O>(f(s, cvt<acc_t<T>>(x)));
    else
      return cvt<O>(f(cvt<acc_t<T>>(x), s));
  }
};

}  // namespace axon::kernels::cuda::ew
