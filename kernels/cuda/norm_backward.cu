// CUDA layer / rms norm backward: dx with one block per row (x and dy held in registers as in the
// forward), and the gamma / beta gradients as per-chunk column sums (one thread per column, a chunk
// of rows per blockIdx.y, coalesced across columns); the caller sums the chunks.
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/norm.hpp>
#include <axon/kernels/scalar.hpp>

#include "norm_common.cuh"

namespace axon::kernels::cuda {

namespace {

template <class T, int V>
__global__ void __launch_bounds__(1024)
    bwd_regs(const T* __restrict__ x, const T* __restrict__ w, const stat_t<T>* __restrict__ mean,
             const stat_t<T>* __restrict__ rstd, const T* __restrict__ dy, T* __restrict__ dx, int64_t rows,
             int n, bool rms) {
  using A = acc_t<T>;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    const T* gr = dy + r * n;
    A m = rms ? A(0) : A(mean[r]), rs = A(rstd[r]);
    A xh[V], g[V];
    A s1 = 0, s2 = 0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      int k = tid + j * nt;
      bool in = k < n;
      xh[j] = in ? (convert<A>(xr[k]) - m) * rs : A(0);
      g[j] = in ? convert<A>(gr[k]) * (w ? convert<A>(w[k]) : A(1)) : A(0);
    }
#pragma unroll
    for (int j = 0; j < V; ++j) {
      s1 += g[j];
      s2 += g[j] * xh[j];
    }
    s1 = rms ? A(0) : block_sum(s1, red) / A(n);
    s2 = block_sum(s2, red) / A(n);
    T* dr = dx + r * n;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      int k = tid + j * nt;
      if (k < n) dr[k] = convert<T>(rs * (g[j] - s1 - xh[j] * s2));
    }
  }
}

// Aligned rows of a multiple of 16 bytes: x, dy (and w) move as 16-byte vectors, about 16 values
// of each per thread.
template <class T, int VV>
__global__ void __launch_bounds__(1024)
    bwd_vec(const T* __restrict__ x, const T* __restrict__ w, const stat_t<T>* __restrict__ mean,
            const stat_t<T>* __restrict__ rstd, const T* __restrict__ dy, T* __restrict__ dx, int64_t rows, int n,
            bool rms) {
  using A = acc_t<T>;
  constexpr int N = Vec<T>::N;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x, nv = n / N;
  const Vec<T>* wv = reinterpret_cast<const Vec<T>*>(w);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Vec<T>* xr = reinterpret_cast<const Vec<T>*>(x + r * n);
    const Vec<T>* gr = reinterpret_cast<const Vec<T>*>(dy + r * n);
    A m = rms ? A(0) : A(mean[r]), rs = A(rstd[r]);
    A xh[VV][N], g[VV][N];
    A s1 = 0, s2 = 0;
#pragma unroll
    for (int j = 0; j < VV; ++j) {
      int i = tid + j * nt;
      if (i < nv) {
        Vec<T> xt = xr[i], gt = gr[i], wt;
        if (w) wt = wv[i];
#pragma unroll
        for (int e = 0; e < N; ++e) {
          xh[j][e] = (convert<A>(xt.v[e]) - m) * rs;
          g[j][e] = convert<A>(gt.v[e]) * (w ? convert<A>(wt.v[e]) : A(1));
        }
      } else {
#pragma unroll
        for (int e = 0; e < N; ++e) xh[j][e] = g[j][e] = A(0);
      }
    }
#pragma unroll
    for (int j = 0; j < VV; ++j)
#pragma unroll
      for (int e = 0; e < N; ++e) {
        s1 += g[j][e];
        s2 += g[j][e] * xh[j][e];
      }
    s1 = rms ? A(0) : block_sum(s1, red) / A(n);
    s2 = block_sum(s2, red) / A(n);
    Vec<T>* dr = reinterpret_cast<Vec<T>*>(dx + r * n);
#pragma unroll
    for (int j = 0; j < VV; ++j) {
      int i = tid + j * nt;
      if (i < nv) {
        Vec<T> o;
#pragma unroll
        for (int e = 0; e < N; ++e) o.v[e] = convert<T>(rs * (g[j][e] - s1 - xh[j][e] * s2));
        dr[i] = o;
      }
    }
  }
}

// Launched with up to 1024 threads (see fwd_global).
template <class T>
__global__ void __launch_bounds__(1024) bwd_global(const T* __restrict__ x, const T* __restrict__ w,
                           const stat_t<T>* __restrict__ mean, const stat_t<T>* __restrict__ rstd,
                           const T* __restrict__ dy, T* __restrict__ dx, int64_t rows, int64_t n, bool rms) {
  using A = acc_t<T>;
  __shared__ A red[32];
  const int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    const T* gr = dy + r * n;
    A m = rms ? A(0) : A(mean[r]), rs = A(rstd[r]);
    A s1 = 0, s2 = 0;
    for (int64_t k = tid; k < n; k += nt) {
      A xh = (convert<A>(xr[k]) - m) * rs;
      A g = convert<A>(gr[k]) * (w ? convert<A>(w[k]) : A(1));
      s1 += g;
      s2 += g * xh;
    }
    s1 = rms ? A(0) : block_sum(s1, red) / A(n);
    s2 = block_sum(s2, red) / A(n);
    T* dr = dx + r * n;
    for (int64_t k = tid; k < n; k += nt) {
      A xh = (convert<A>(xr[k]) - m) * rs;
      A g = convert<A>(gr[k]) * (w ? convert<A>(w[k]) : A(1));
      dr[k] = convert<T>(rs * (g - s1 - xh * s2));
    }
  }
}

template <class T>
__global__ void param_partials(const T* __restrict__ x, const stat_t<T>* __restrict__ mean,
                               const stat_t<T>* __restrict__ rstd, const T* __restrict__ dy,
                               stat_t<T>* __restrict__ p, int64_t rows, int64_t n, int64_t chunks, bool rms) {
  using A = acc_t<T>;
  int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  int64_t per = (rows + chunks - 1) / chunks;
  int64_t ch = blockIdx.y, r0 = ch * per, r1 = r0 + per < rows ? r0 + per : rows;
  A a = 0, c = 0;
  for (int64_t r = r0; r < r1; ++r) {
    A g = convert<A>(dy[r * n + k]);
    A m = rms ? A(0) : A(mean[r]);
    a += g * (convert<A>(x[r * n + k]) - m) * A(rstd[r]);
    c += g;
  }
  p[ch * n + k] = a;
  p[(chunks + ch) * n + k] = c;
}

template <class T>
void launch_dx(const T* x, const T* w, const stat_t<T>* mean, const stat_t<T>* rstd, const T* dy, T* dx,
               int64_t rows, int64_t n, bool rms, cudaStream_t s) {
  unsigned grid = grid_for(rows, 1, 1 << 20);
  constexpr int N = Vec<T>::N;
  if (n % N == 0 && aligned16(x) && aligned16(dy) && aligned16(dx) && (!w || aligned16(w))) {
    RowPlan v = plan_vec(n / N, N == 2 ? 4 : 16 / N);  // about 16 values of x and of dy per thread
    switch (v.v) {
      case 1: bwd_vec<T, 1><<<grid, v.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms); break;
      case 2: bwd_vec<T, 2><<<grid, v.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms); break;
      case 4:
        if constexpr (N <= 4) bwd_vec<T, 4><<<grid, v.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
        break;
      default: bwd_global<T><<<grid, v.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, n, rms); break;
    }
    AXON_CUDA_LAUNCH_CHECK(rms ? "rms_norm_backward" : "layer_norm_backward");
    return;
  }
  RowPlan p = plan_rows(n);
  switch (p.v) {
    case 1:
      bwd_regs<T, 1><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
      break;
    case 2:
      bwd_regs<T, 2><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
      break;
    case 4:
      bwd_regs<T, 4><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
      break;
    case 8:
      bwd_regs<T, 8><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
      break;
    case 16:
      // f64 would hold 64 doubles per thread under the 64-register cap of 1024-thread blocks
      // (ptxas: ~300 bytes of spills): its rows this long take the global path instead.
      if constexpr (sizeof(T) == 8)
        bwd_global<T><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, n, rms);
      else
        bwd_regs<T, 16><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, int(n), rms);
      break;
    default:
      bwd_global<T><<<grid, p.threads, 0, s>>>(x, w, mean, rstd, dy, dx, rows, n, rms);
      break;
  }
  AXON_CUDA_LAUNCH_CHECK(rms ? "rms_norm_backward" : "layer_norm_backward");
}

}  // namespace

int64_t norm_param_chunks(int64_t rows, int64_t n) {
  int64_t col_blocks = (n + 255) / 256;
  int64_t want = (1024 + col_blocks - 1) / col_blocks;  // ~1024 blocks in all
  int64_t c = want < rows ? want : rows;
  if (c > 65535) c = 65535;
  return c < 1 ? 1 : c;
}

void norm_backward(DType dt, const void* x, const void* w, const void* mean, const void* rstd, const void* dy,
                   void* dx, int64_t rows, int64_t n, bool rms, cudaStream_t s) {
  if (rows * n == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "layer_norm_backward",
      launch_dx(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w),
                static_cast<const stat_t<scalar_t>*>(mean), static_cast<const stat_t<scalar_t>*>(rstd),
                static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx), rows, n, rms, s));
}

void norm_param_partials(DType dt, const void* x, const void* mean, const void* rstd, const void* dy,
                         void* partial, int64_t rows, int64_t n, int64_t chunks, bool rms, cudaStream_t s) {
  if (n == 0 || chunks == 0) return;
  dim3 grid(unsigned((n + 255) / 256), unsigned(chunks));
  AXON_DISPATCH_FLOAT(dt, "layer_norm_backward",
                      (param_partials<scalar_t><<<grid, 256, 0, s>>>(
                          static_cast<const scalar_t*>(x), static_cast<const stat_t<scalar_t>*>(mean),
                          static_cast<const stat_t<scalar_t>*>(rstd), static_cast<const scalar_t*>(dy),
                          static_cast<stat_t<scalar_t>*>(partial), rows, n, chunks, rms)));
  AXON_CUDA_LAUNCH_CHECK("layer_norm_backward");
}

}  // namespace axon::kernels::cuda
