// CUDA direct max pooling: one thread per output element, channels fastest so a warp reads
// consecutive channels of the same window cell (coalesced).
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/pool.hpp>
#include <axon/kernels/scalar.hpp>
#include <limits>

#include "pop_fast.cuh"

namespace axon::kernels::cuda {

namespace {
template <class T>
__global__ void max_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ index,
                                PoolGeometry g, int64_t total) {
  using A = acc_t<T>;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = e;
    const int64_t c = pop_fast(r, g.c), ow = pop_fast(r, g.out[2]), oh = pop_fast(r, g.out[1]);
    const int64_t od = pop_fast(r, g.out[0]), n = r;
    const T* xn = x + n * g.in[0] * g.in[1] * g.in[2] * g.c + c;
    A best = -std::numeric_limits<A>::infinity();
    int64_t bi = -1;
    for (int64_t i = 0; i < g.window[0]; ++i) {
      int64_t d = od * g.stride[0] + i * g.dilation[0] - g.pad_lo[0];
      if (d < 0 || d >= g.in[0]) continue;
      for (int64_t j = 0; j < g.window[1]; ++j) {
        int64_t h = oh * g.stride[1] + j * g.dilation[1] - g.pad_lo[1];
        if (h < 0 || h >= g.in[1]) continue;
        for (int64_t k = 0; k < g.window[2]; ++k) {
          int64_t w = ow * g.stride[2] + k * g.dilation[2] - g.pad_lo[2];
          if (w < 0 || w >= g.in[2]) continue;
          int64_t sp = (d * g.in[1] + h) * g.in[2] + w;
          A v = convert<A>(xn[sp * g.c]);
          if (bi < 0 || v > best || (v != v && best == best)) {
            best = v;
            bi = sp;
          }
        }
      }
    }
    y[e] = convert<T>(best);
    index[e] = bi;
  }
}
// One thread per input element: the outputs whose windows can hold spatial cell (d, h, w) are
// o = (pos + pad_lo - i * dilation) / stride for the window taps i that divide evenly.
template <class T>
__global__ void max_pool_backward_kernel(const T* __restrict__ dy, const int64_t* __restrict__ index,
                                         T* __restrict__ dx, PoolGeometry g, int64_t total) {
  using A = acc_t<T>;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = e;
    const int64_t c = pop_fast(r, g.c), w = pop_fast(r, g.in[2]), h = pop_fast(r, g.in[1]);
    const int64_t d = pop_fast(r, g.in[0]), n = r;
    const int64_t sp = (d * g.in[1] + h) * g.in[2] + w;
    const int64_t base = n * g.out[0] * g.out[1] * g.out[2];
    A acc = 0;
    for (int64_t i = 0; i < g.window[0]; ++i) {
      int64_t pd = d + g.pad_lo[0] - i * g.dilation[0];
      if (pd < 0) continue;
      int64_t od = pd;
      if (pop_fast(od, g.stride[0])) continue;
      if (od >= g.out[0]) continue;
      for (int64_t j = 0; j < g.window[1]; ++j) {
        int64_t ph = h + g.pad_lo[1] - j * g.dilation[1];
        if (ph < 0) continue;
        int64_t oh = ph;
        if (pop_fast(oh, g.stride[1])) continue;
        if (oh >= g.out[1]) continue;
        for (int64_t k = 0; k < g.window[2]; ++k) {
          int64_t pw = w + g.pad_lo[2] - k * g.dilation[2];
          if (pw < 0) continue;
          int64_t ow = pw;
          if (pop_fast(ow, g.stride[2])) continue;
          if (ow >= g.out[2]) continue;
          int64_t o = ((base + (od * g.out[1] + oh) * g.out[2] + ow) * g.c) + c;
          if (index[o] == sp) acc += convert<A>(dy[o]);
        }
      }
    }
    dx[e] = convert<T>(acc);
  }
}
}  // namespace

void max_pool_backward(DType dt, const void* dy, const int64_t* index, void* dx, const PoolGeometry& g,
                       cudaStream_t s) {
  const int64_t total = g.n * g.c * g.in[0] * g.in[1] * g.in[2];
  if (total == 0) return;
  AXON_DISPATCH_FLOAT(dt, "max_pool_backward",
                      (max_pool_backward_kernel<scalar_t><<<grid_for(total, 256), 256, 0, s>>>(
                          static_cast<const scalar_t*>(dy), index, static_cast<scalar_t*>(dx), g, total)));
  AXON_CUDA_LAUNCH_CHECK("max_pool_backward");
}

void max_pool_forward(DType dt, const void* x, void* y, int64_t* index, const PoolGeometry& g,
                      cudaStream_t s) {
  const int64_t total = g.n * g.c * g.out[0] * g.out[1] * g.out[2];
  if (total == 0) return;
  AXON_DISPATCH_FLOAT(dt, "max_pool",
                      (max_pool_kernel<scalar_t><<<grid_for(total, 256), 256, 0, s>>>(
                          static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), index, g, total)));
  AXON_CUDA_LAUNCH_CHECK("max_pool");
}

}  // namespace axon::kernels::cuda
