// CUDA im2col / col2im for channels-last convolutions (see kernels/conv.hpp): one thread per col
// element for im2col; one thread per input element for col2im, which gathers the taps that read it
// (no atomics, deterministic, f32/f64 accumulation).
#include <axon/kernels/conv.hpp>
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>

#include "pop_fast.cuh"

namespace axon::kernels::cuda {

namespace {


// col element t = ((row * G + g) * K + kk) * Cg + c.
template <class T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ col, Geo3 g, ColLayout l, int64_t n0,
                              int64_t total) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = t;
    const int64_t c = pop_fast(r, g.Cg);
    int64_t kk = pop_fast(r, g.K);
    const int64_t kflat = kk;
    const int64_t gi = pop_fast(r, g.G);
    const int64_t row = r;
    int64_t o = pop_fast(r, g.O);
    const int64_t n = n0 + r;
    int64_t idx[3];
    bool valid = true;
    for (int d = 2; d >= 0; --d) {
      const int64_t od = pop_fast(o, g.out[d]);
      const int64_t kd = pop_fast(kk, g.k[d]);
      int64_t p = od * g.s[d] + kd * g.kdil[d] - g.lo[d];
      if (p < 0 || pop_fast(p, g.idil[d]) != 0 || p >= g.in[d]) valid = false;
      idx[d] = p;
    }
    T v = T(0.0f);
    if (valid) v = x[(((n * g.in[0] + idx[0]) * g.in[1] + idx[1]) * g.in[2] + idx[2]) * g.C + gi * g.Cg + c];
    col[row * l.row_stride + gi * l.group_stride + kflat * g.Cg + c] = v;
  }
}

// dx element t = (((n - n0) * in-pixels + i) * C + ch).
template <class T>
__global__ void col2im_kernel(const T* __restrict__ col, T* __restrict__ dx, Geo3 g, ColLayout l, int64_t n0,
                              int64_t total) {
  using A = acc_t<T>;
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2];
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = t;
    int64_t gi = pop_fast(r, g.C);
    const int64_t c = pop_fast(gi, g.Cg);
    int64_t p = pop_fast(r, in_px);
    const int64_t nl = r;
    int64_t i[3];
    for (int d = 2; d >= 0; --d) i[d] = pop_fast(p, g.in[d]);
    A acc = A(0);
    int64_t kk = 0;
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++kk) {
          const int64_t kd[3] = {k0, k1, k2};
          int64_t o = 0;
          bool valid = true;
          for (int d = 0; d < 3; ++d) {
            int64_t q = i[d] * g.idil[d] + g.lo[d] - kd[d] * g.kdil[d];
            if (q < 0 || pop_fast(q, g.s[d]) != 0 || q >= g.out[d]) {
              valid = false;
              break;
            }
            o = o * g.out[d] + q;
          }
          if (!valid) continue;
          const int64_t row = nl * g.O + o;
          acc += convert<A>(col[row * l.row_stride + gi * l.group_stride + kk * g.Cg + c]);
        }
    dx[(n0 * in_px) * g.C + t] = convert<T>(acc);
  }
}

}  // namespace

void im2col(DType dt, const void* x, void* col, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count, cudaStream_t s) {
  const Geo3 g = to3(geo);
  const int64_t total = count * g.O * g.G * g.K * g.Cg;
  if (total == 0) return;
  constexpr int kBlock = 256;
  AXON_DISPATCH_FLOAT(dt, "conv", {
    im2col_kernel<<<grid_for(total, kBlock), kBlock, 0, s>>>(static_cast<const scalar_t*>(x),
                                                             static_cast<scalar_t*>(col), g, l, n0, total);
  });
  AXON_CUDA_LAUNCH_CHECK("conv");
}

void col2im(DType dt, const void* col, void* dx, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count, cudaStream_t s) {
  const Geo3 g = to3(geo);
  const int64_t total = count * g.in[0] * g.in[1] * g.in[2] * g.C;
  if (total == 0) return;
  constexpr int kBlock = 256;
  AXON_DISPATCH_FLOAT(dt, "conv", {
    col2im_kernel<<<grid_for(total, kBlock), kBlock, 0, s>>>(static_cast<const scalar_t*>(col),
                                                             static_cast<scalar_t*>(dx), g, l, n0, total);
  });
  AXON_CUDA_LAUNCH_CHECK("conv");
}

}  // namespace axon::kernels::cuda
