// CUDA layer / rms norm forward: one block per row. Rows that fit are held in registers (each thread
// keeps its elements, loaded coalesced and all in flight at once), so HBM sees exactly one read and
// one write per element and the variance is an exact second pass over registers. Aligned rows whose
// length is a multiple of 16 bytes move 16-byte vectors (about 8 per thread, 512 threads for a 16384
// f32 row, so two blocks share an SM and one loads while the other reduces); other rows use scalar
// loads; rows too long for registers re-read global memory (served mostly by L2).
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/norm.hpp>
#include <axon/kernels/scalar.hpp>

#include "norm_common.cuh"

namespace axon::kernels::cuda {

namespace {

template <class T, int V>
__global__ void __launch_bounds__(1024)
    fwd_regs(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, T* __restrict__ y,
             stat_t<T>* __restrict__ mean, stat_t<T>* __restrict__ rstd, int64_t rows, int n, double eps,
             bool rms) {
  using A = acc_t<T>;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    A v[V];
    A s = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      int k = tid + j * nt;
      v[j] = k < n ? convert<A>(xr[k]) : A(0);
    }
#pragma unroll
    for (int j = 0; j < V; ++j) s += v[j];
    A m = rms ? A(0) : block_sum(s, red) / A(n);
    A q = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      int k = tid + j * nt;
      A d = k < n ? v[j] - m : A(0);
      q += d * d;
    }
    A rs = rsqrt_(block_sum(q, red) / A(n) + A(eps));
    if (tid == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    T* yr = y + r * n;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      int k = tid + j * nt;
      if (k < n) {
        A o = (v[j] - m) * rs;
        if (w) o *= convert<A>(w[k]);
        if (b) o += convert<A>(b[k]);
        yr[k] = convert<T>(o);
      }
    }
  }
}

template <class T, int VV>
__global__ void __launch_bounds__(1024)
    fwd_vec(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, T* __restrict__ y,
            stat_t<T>* __restrict__ mean, stat_t<T>* __restrict__ rstd, int64_t rows, int n, double eps,
            bool rms) {
  using A = acc_t<T>;
  constexpr int N = Vec<T>::N;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x, nv = n / N;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Vec<T>* xr = reinterpret_cast<const Vec<T>*>(x + r * n);
    A v[VV][N];
#pragma unroll
    for (int j = 0; j < VV; ++j) {
      int i = tid + j * nt;
      if (i < nv) {
        Vec<T> t = xr[i];
#pragma unroll
        for (int e = 0; e < N; ++e) v[j][e] = convert<A>(t.v[e]);
      } else {
#pragma unroll
        for (int e = 0; e < N; ++e) v[j][e] = A(0);
      }
    }
    A s = 0;
    if (!rms) {
#pragma unroll
      for (int j = 0; j < VV; ++j)
#pragma unroll
        for (int e = 0; e < N; ++e) s += v[j][e];
    }
    A m = rms ? A(0) : block_sum(s, red) / A(n);
    A q = 0;
#pragma unroll
    for (int j = 0; j < VV; ++j)
      if (tid + j * nt < nv)
#pragma unroll
        for (int e = 0; e < N; ++e) {
          A d = v[j][e] - m;
          q += d * d;
        }
    A rs = rsqrt_(block_sum(q, red) / A(n) + A(eps));
    if (tid == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    Vec<T>* yr = reinterpret_cast<Vec<T>*>(y + r * n);
    const Vec<T>* wv = reinterpret_cast<const Vec<T>*>(w);
    const Vec<T>* bv = reinterpret_cast<const Vec<T>*>(b);
#pragma unroll
    for (int j = 0; j < VV; ++j) {
      int i = tid + j * nt;
      if (i < nv) {
        Vec<T> o, wt, bt;
        if (w) wt = wv[i];
        if (b) bt = bv[i];
#pragma unroll
        for (int e = 0; e < N; ++e) {
          A a = (v[j][e] - m) * rs;
          if (w) a *= convert<A>(wt.v[e]);
          if (b) a += convert<A>(bt.v[e]);
          o.v[e] = convert<T>(a);
        }
        yr[i] = o;
      }
    }
  }
}

// Launched with up to 1024 threads: without the bound the compiler may use more than 64 registers
// (f64) and the launch fails.
template <class T>
__global__ void __launch_bounds__(1024) fwd_global(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                           T* __restrict__ y, stat_t<T>* __restrict__ mean, stat_t<T>* __restrict__ rstd,
                           int64_t rows, int64_t n, double eps, bool rms) {
  using A = acc_t<T>;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    A s = 0;
    if (!rms)
      for (int64_t k = tid; k < n; k += nt) s += convert<A>(xr[k]);
    A m = rms ? A(0) : block_sum(s, red) / A(n);
    A q = 0;
    for (int64_t k = tid; k < n; k += nt) {
      A d = convert<A>(xr[k]) - m;
      q += d * d;
    }
    A rs = rsqrt_(block_sum(q, red) / A(n) + A(eps));
    if (tid == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    T* yr = y + r * n;
    for (int64_t k = tid; k < n; k += nt) {
      A o = (convert<A>(xr[k]) - m) * rs;
      if (w) o *= convert<A>(w[k]);
      if (b) o += convert<A>(b[k]);
      yr[k] = convert<T>(o);
    }
  }
}

template <class T>
void launch(const T* x, const T* w, const T* b, T* y, stat_t<T>* mean, stat_t<T>* rstd, int64_t rows,
            int64_t n, double eps, bool rms, cudaStream_t s) {
  unsigned grid = grid_for(rows, 1, 1 << 20);
  constexpr int N = Vec<T>::N;
  if (n % N == 0 && aligned16(x) && aligned16(y) && (!w || aligned16(w)) && (!b || aligned16(b))) {
    RowPlan v = plan_vec(n / N, N == 8 ? 4 : 8);  // about 32 values in registers per thread
    switch (v.v) {
      case 1:
        fwd_vec<T, 1><<<grid, v.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
        break;
      case 2:
        fwd_vec<T, 2><<<grid, v.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
        break;
      case 4:
        fwd_vec<T, 4><<<grid, v.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
        break;
      case 8:  // 16-bit types stop at 4 vectors (32 values)
        if constexpr (N < 8)
          fwd_vec<T, 8><<<grid, v.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
        break;
      default:
        fwd_global<T><<<grid, v.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, n, eps, rms);
        break;
    }
    AXON_CUDA_LAUNCH_CHECK(rms ? "rms_norm" : "layer_norm");
    return;
  }
  RowPlan p = plan_rows(n);
  switch (p.v) {
    case 1:
      fwd_regs<T, 1><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
      break;
    case 2:
      fwd_regs<T, 2><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
      break;
    case 4:
      fwd_regs<T, 4><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
      break;
    case 8:
      fwd_regs<T, 8><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
      break;
    case 16:
      fwd_regs<T, 16><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, int(n), eps, rms);
      break;
    default:
      fwd_global<T><<<grid, p.threads, 0, s>>>(x, w, b, y, mean, rstd, rows, n, eps, rms);
      break;
  }
  AXON_CUDA_LAUNCH_CHECK(rms ? "rms_norm" : "layer_norm");
}

}  // namespace

void norm_forward(DType dt, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                  int64_t rows, int64_t n, double eps, bool rms, cudaStream_t s) {
  if (rows * n == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "layer_norm",
      launch(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w),
             static_cast<const scalar_t*>(b), static_cast<scalar_t*>(y), static_cast<stat_t<scalar_t>*>(mean),
             static_cast<stat_t<scalar_t>*>(rstd), rows, n, eps, rms, s));
}

}  // namespace axon::kernels::cuda
