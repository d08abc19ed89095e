#pragma once
// A whole-sequence LSTM layer (gates i, f, g, o; sigmoid gates, tanh activation), batch-major:
//   pre_t = x_t Wx + h_prev Wh + bias, [i f g o] = [sig sig tanh sig](pre_t),
//   c_t = f c_prev + i g, h_t = o tanh(c_t).
// x [B, T, in], wx [in, 4U], wh [U, 4U], bias [4U] (null: none), c0 and h0 [B, U], all contiguous.
// `reverse` scans t = T-1 .. 0 (outputs stay aligned with the input steps).
// Forward writes gates [B, T, 4U] (the activated i, f, g, o the backward needs), cs [B, T, U] (c_t)
// and hs [B, T, U] (h_t, the layer's output). The input projection of every step is one GEMM before
// the loop; each step is one GEMM h_prev Wh accumulated into the gate buffer and one pointwise pass.
// Backward takes the output gradients dhs [B, T, U], dc_last and dh_last [B, U] (the final carry's)
// and writes dc0, dh0 [B, U], and where not null dx [B, T, in], dwx, dwh, dbias. dgates [B, T, 4U]
// is the caller's scratch.
#include <axon/kernels/common.hpp>

namespace axon::kernels {

struct LstmDims {
  int64_t batch = 0, time = 0, in = 0, units = 0;
  bool reverse = false;
};

namespace cpu {
void lstm_forward(DType dt, const LstmDims& d, const void* x, const void* wx, const void* wh, const void* bias,
                  const void* c0, const void* h0, void* gates, void* cs, void* hs);
void lstm_backward(DType dt, const LstmDims& d, const void* x, const void* wx, const void* wh, const void* c0,
                   const void* h0, const void* gates, const void* cs, const void* hs, const void* dhs,
                   const void* dc_last, const void* dh_last, void* dgates, void* dc0, void* dh0,
                   void* dx, void* dwx, void* dwh, void* dbias);
}  // namespace cpu

// CUDA: the GEMMs are cuBLAS calls made by the op front-end; these are the per-step pointwise passes.
// Row b of a step lives at base + b * ld (ld = T * width for a [B, T, width] buffer's step t).
namespace cuda {
// pre = xp + gh + bias (gh [B, 4U] contiguous, bias [4U] or null) -> gates (activated i, f, g, o;
// may alias xp), c = f c_prev + i g, h = o tanh(c).
void lstm_cell_forward(DType dt, int64_t batch, int64_t units, const void* xp, int64_t ld_xp, const void* gh,
                       const void* bias, const void* c_prev, int64_t ld_cp, void* gates, int64_t ld_g, void* c, void* h,
                       int64_t ld_ch, cudaStream_t s);
// dh = dh_out + dh_rec ([B, U] contiguous); dc ([B, U], in: from the step after, out: to the step
// before); dgates gets the pre-activation gradients.
void lstm_cell_backward(DType dt, int64_t batch, int64_t units, const void* gates, int64_t ld_g, const void* c_prev,
                        int64_t ld_cp, const void* c, const void* dh_out, int64_t ld_ch, const void* dh_rec, void* dc,
                        void* dgates, int64_t ld_dg, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
