// The LSTM's per-step pointwise passes on the GPU (kernels/include/axon/kernels/recurrent.hpp): one
// thread per (batch row, unit), the four gates of a unit read and written by the same thread.
#include <cstdint>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/recurrent.hpp>

namespace axon::kernels::cuda {

namespace {

__device__ __forceinline__ float sig(float v) { return 1.0f / (1.0f + __expf(-v)); }
__device__ __forceinline__ double sig(double v) { return 1.0 / (1.0 + exp(-v)); }
__device__ __forceinline__ float th(float v) { return tanhf(v); }
__device__ __forceinline__ double th(double v) { return tanh(v); }

template <class T>
__global__ void forward_kernel(int64_t B, int64_t U, const T* xp, int64_t ld_xp, const T* gh, const T* bias,
                               const T* cp, int64_t ld_cp, T* g, int64_t ld_g, T* c, T* h, int64_t ld_ch) {
  const int64_t n = B * U;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = k / U, u = k - b * U;
    const T* x = xp + b * ld_xp;
    const T* r = gh + b * 4 * U;
    T pre[4];
    for (int q = 0; q < 4; ++q) pre[q] = x[q * U + u] + r[q * U + u] + (bias ? bias[q * U + u] : T(0));
    const T i = sig(pre[0]), f = sig(pre[1]), a = th(pre[2]), o = sig(pre[3]);
    const T cv = f * cp[b * ld_cp + u] + i * a;
    T* gr = g + b * ld_g;
    gr[u] = i, gr[U + u] = f, gr[2 * U + u] = a, gr[3 * U + u] = o;
    c[b * ld_ch + u] = cv;
    h[b * ld_ch + u] = o * th(cv);
  }
}

template <class T>
__global__ void backward_kernel(int64_t B, int64_t U, const T* g, int64_t ld_g, const T* cp, int64_t ld_cp,
                                const T* c, const T* dh_out, int64_t ld_ch, const T* dh_rec, T* dc, T* dg,
                                int64_t ld_dg) {
  const int64_t n = B * U;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = k / U, u = k - b * U;
    const T* gr = g + b * ld_g;
    const T i = gr[u], f = gr[U + u], a = gr[2 * U + u], o = gr[3 * U + u];
    const T tc = th(c[b * ld_ch + u]);
    const T dh = dh_out[b * ld_ch + u] + dh_rec[k];
    const T dcv = dc[k] + dh * o * (T(1) - tc * tc);
    T* d = dg + b * ld_dg;
    d[u] = dcv * a * i * (T(1) - i);
    d[U + u] = dcv * cp[b * ld_cp + u] * f * (T(1) - f);
    d[2 * U + u] = dcv * i * (T(1) - a * a);
    d[3 * U + u] = dh * tc * o * (T(1) - o);
    dc[k] = dcv * f;
  }
}

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

}  // namespace

void lstm_cell_forward(DType dt, int64_t batch, int64_t units, const void* xp, int64_t ld_xp, const void* gh,
                       const void* bias, const void* c_prev, int64_t ld_cp, void* gates, int64_t ld_g, void* c, void* h,
                       int64_t ld_ch, cudaStream_t s) {
  const unsigned blocks = blocks_for(batch * units);
  if (dt == DType::f32)
    forward_kernel<float><<<blocks, 256, 0, s>>>(batch, units, static_cast<const float*>(xp), ld_xp,
                                                 static_cast<const float*>(gh), static_cast<const float*>(bias),
                                                 static_cast<const float*>(c_prev), ld_cp, static_cast<float*>(gates),
                                                 ld_g, static_cast<float*>(c), static_cast<float*>(h), ld_ch);
  else
    forward_kernel<double><<<blocks, 256, 0, s>>>(batch, units, static_cast<const double*>(xp), ld_xp,
                                                  static_cast<const double*>(gh), static_cast<const double*>(bias),
                                                  static_cast<const double*>(c_prev), ld_cp,
                                                  static_cast<double*>(gates), ld_g, static_cast<double*>(c),
                                                  static_cast<double*>(h), ld_ch);
  AXON_CUDA_LAUNCH_CHECK("lstm");
}

void lstm_cell_backward(DType dt, int64_t batch, int64_t units, const void* gates, int64_t ld_g, const void* c_prev,
                        int64_t ld_cp, const void* c, const void* dh_out, int64_t ld_ch, const void* dh_rec, void* dc,
                        void* dgates, int64_t ld_dg, cudaStream_t s) {
  const unsigned blocks = blocks_for(batch * units);
  if (dt == DType::f32)
    backward_kernel<float><<<blocks, 256, 0, s>>>(
        batch, units, static_cast<const float*>(gates), ld_g, static_cast<const float*>(c_prev), ld_cp,
        static_cast<const float*>(c), static_cast<const float*>(dh_out), ld_ch, static_cast<const float*>(dh_rec),
        static_cast<float*>(dc), static_cast<float*>(dgates), ld_dg);
  else
    backward_kernel<double><<<blocks, 256, 0, s>>>(
        batch, units, static_cast<const double*>(gates), ld_g, static_cast<const double*>(c_prev), ld_cp,
        static_cast<const double*>(c), static_cast<const double*>(dh_out), ld_ch, static_cast<const double*>(dh_rec),
        static_cast<double*>(dc), static_cast<double*>(dgates), ld_dg);
  AXON_CUDA_LAUNCH_CHECK("lstm");
}

}  // namespace axon::kernels::cuda
