// CUDA softmax / log-softmax.
//  - rows (inner == 1) up to 1024 long: one warp per row, held in registers;
//  - longer rows: one block per row; the row is cached in shared memory (as float, or double for
//    f64) with 16-byte vector loads, so HBM sees one read and one write per element; rows too long
//    for shared memory re-read global memory instead;
//  - inner > 1: one thread per (outer, inner) column, coalesced across inner.
#include <cuda_runtime.h>

#include <atomic>
#include <mutex>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>

#include "device_props.cuh"
#include "softmax_common.cuh"

namespace axon::kernels::cuda {

namespace {

using namespace softmax_detail;

// Rows up to 32 * V long (V <= 32): one warp per row, held in registers (element lane + 32 j in
// v[j], coalesced loads all in flight at once), so each element is read once, exp'd once and
// written once.
template <class T, int V>
__global__ void __launch_bounds__(256)
    rows_warp(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int n, bool log) {
  using A = acc_t<T>;
  const int lane = threadIdx.x & 31;
  const int64_t wpb = blockDim.x >> 5;
  for (int64_t o = blockIdx.x * wpb + (threadIdx.x >> 5); o < outer; o += int64_t(gridDim.x) * wpb) {
    const T* row = x + o * n;
    T* out = y + o * n;
    A v[V];
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int k = lane + 32 * j;
      v[j] = k < n ? convert<A>(row[k]) : neg_inf<A>();
    }
    A m = v[0];
#pragma unroll
    for (int j = 1; j < V; ++j) m = max_nan(m, v[j]);
    m = warp_max(m);
    A s = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      if (lane + 32 * j < n) {  // padding is excluded, not exp(-inf - m): m may be -inf
        const A d = v[j] - m, e = exp_(d);
        s += e;
        v[j] = log ? d : e;
      }
    }
    s = warp_sum(s);
    const A f = log ? log_(s) : A(1) / s;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const int k = lane + 32 * j;
      if (k < n) out[k] = convert<T>(log ? v[j] - f : v[j] * f);
    }
  }
}

template <class T>
struct alignas(16) Vec {
  static constexpr int N = 16 / sizeof(T);
  T v[N];
};

// Cache: the row lives in dynamic shared memory (n entries of the accumulation type). Aligned rows
// move 16-byte vectors between HBM and registers and whole vectors between registers and shared
// memory (no bank conflicts); each thread keeps the same vectors through the three passes.
// Launched with up to 1024 threads: the bound keeps f64 under the 64 registers that allows.
template <class T, bool Cache>
__global__ void __launch_bounds__(1024) rows_block(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, bool log) {
  using A = acc_t<T>;
  constexpr int V = Vec<T>::N;
  struct alignas(16) AV {
    A v[V];
  };
  extern __shared__ __align__(16) unsigned char dyn[];
  A* cache = reinterpret_cast<A*>(dyn);
  AV* cvec = reinterpret_cast<AV*>(dyn);
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const T* row = x + o * n;
    T* out = y + o * n;
    const bool vec = Cache && reinterpret_cast<uintptr_t>(row) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(out) % 16 == 0 && n % V == 0;
    const int64_t nv = n / V;
    A m = neg_inf<A>();
    if (vec) {
      const Vec<T>* vp = reinterpret_cast<const Vec<T>*>(row);
      int64_t i = tid;
      for (; i + 3 * nt < nv; i += 4 * nt) {  // four loads in flight per thread
        Vec<T> v[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) v[u] = vp[i + u * nt];
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          AV a;
#pragma unroll
          for (int j = 0; j < V; ++j) {
            a.v[j] = convert<A>(v[u].v[j]);
            m = max_nan(m, a.v[j]);
          }
          cvec[i + u * nt] = a;
        }
      }
      for (; i < nv; i += nt) {
        Vec<T> v = vp[i];
        AV a;
#pragma unroll
        for (int j = 0; j < V; ++j) {
          a.v[j] = convert<A>(v.v[j]);
          m = max_nan(m, a.v[j]);
        }
        cvec[i] = a;
      }
    } else {
      for (int64_t k = tid; k < n; k += nt) {
        A a = convert<A>(row[k]);
        if (Cache) cache[k] = a;
        m = max_nan(m, a);
      }
    }
    m = block_all<true>(m, red);
    A s = 0;
    if (vec) {
      for (int64_t i = tid; i < nv; i += nt) {
        AV a = cvec[i];
#pragma unroll
        for (int j = 0; j < V; ++j) {
          A d = a.v[j] - m, e = exp_(d);
          s += e;
          a.v[j] = log ? d : e;
        }
        cvec[i] = a;
      }
    } else {
      for (int64_t k = tid; k < n; k += nt) {
        A d = (Cache ? cache[k] : convert<A>(row[k])) - m;
        A e = exp_(d);
        s += e;
        if (Cache) cache[k] = log ? d : e;
      }
    }
    s = block_all<false>(s, red);
    A f = log ? log_(s) : A(1) / s;
    if (vec) {
      Vec<T>* vp = reinterpret_cast<Vec<T>*>(out);
      for (int64_t i = tid; i < nv; i += nt) {
        AV a = cvec[i];
        Vec<T> v;
#pragma unroll
        for (int j = 0; j < V; ++j) v.v[j] = convert<T>(log ? a.v[j] - f : a.v[j] * f);
        vp[i] = v;
      }
    } else if (Cache) {
      for (int64_t k = tid; k < n; k += nt) out[k] = convert<T>(log ? cache[k] - f : cache[k] * f);
    } else {
      for (int64_t k = tid; k < n; k += nt) {
        A d = convert<A>(row[k]) - m;
        out[k] = convert<T>(log ? d - f : exp_(d) * f);
      }
    }
    __syncthreads();  // the next row overwrites the cache
  }
}

template <class T>
__global__ void columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, int64_t inner,
                        bool log) {
  using A = acc_t<T>;
  int64_t cols = outer * inner;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols;
       c += int64_t(gridDim.x) * blockDim.x) {
    int64_t o = c / inner, i = c - o * inner;
    const T* p = x + o * n * inner + i;
    T* q = y + o * n * inner + i;
    A m = neg_inf<A>();
    for (int64_t k = 0; k < n; ++k) m = max_nan(m, convert<A>(p[k * inner]));
    A s = 0;
    for (int64_t k = 0; k < n; ++k) s += exp_(convert<A>(p[k * inner]) - m);
    A f = log ? log_(s) : A(1) / s;
    for (int64_t k = 0; k < n; ++k) {
      A d = convert<A>(p[k * inner]) - m;
      q[k * inner] = convert<T>(log ? d - f : exp_(d) * f);
    }
  }
}

template <class T>
void launch(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s) {
  using A = acc_t<T>;
  if (inner > 1) {
    columns<<<grid_for(outer * inner, 256), 256, 0, s>>>(x, y, outer, n, inner, log);
  } else if (n <= 1024) {
    const unsigned grid = grid_for(outer, 8);
    switch (warp_row_values(n)) {
      case 1: rows_warp<T, 1><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
      case 2: rows_warp<T, 2><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
      case 4: rows_warp<T, 4><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
      case 8: rows_warp<T, 8><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
      case 16: rows_warp<T, 16><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
      default: rows_warp<T, 32><<<grid, 256, 0, s>>>(x, y, outer, int(n), log); break;
    }
  } else {
    int threads = n >= 16384 ? 1024 : n >= 4096 ? 512 : 256;
    size_t bytes = size_t(n) * sizeof(A);
    if (bytes + 1024 <= size_t(max_dynamic_smem())) {
      // Per device: the largest dynamic shared size granted so far. Host threads may launch at once:
      // the size is raised under a lock (so it never goes down) and published only once it is set.
      static std::atomic<int> configured[64] = {};
      static std::mutex raise;
      int dev = 0;
      AXON_CUDA_CHECK(cudaGetDevice(&dev), "softmax");
      std::atomic<int>& granted = configured[dev >= 0 && dev < 64 ? dev : 0];
      if (bytes > 48 * 1024 && int(bytes) > granted.load(std::memory_order_acquire)) {
        std::lock_guard<std::mutex> lock(raise);
        if (int(bytes) > granted.load(std::memory_order_relaxed)) {
          AXON_CUDA_CHECK(cudaFuncSetAttribute(rows_block<T, true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               int(bytes)),
                          "softmax");
          granted.store(int(bytes), std::memory_order_release);
        }
      }
      rows_block<T, true><<<grid_for(outer, 1), threads, bytes, s>>>(x, y, outer, n, log);
    } else {
      rows_block<T, false><<<grid_for(outer, 1), threads, 0, s>>>(x, y, outer, n, log);
    }
  }
  AXON_CUDA_LAUNCH_CHECK(log ? "log_softmax" : "softmax");
}

}  // namespace

void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log,
             cudaStream_t s) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "softmax",
      launch(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), outer, n, inner, log, s));
}

}  // namespace axon::kernels::cuda
