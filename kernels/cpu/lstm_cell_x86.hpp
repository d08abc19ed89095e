#pragma once
// The LSTM cell's forward pointwise pass for one batch row in AVX2 + FMA, for the f32 rows scan of
// kernels/cpu/lstm.cpp (not installed; callers check packed_gemm_available()).
#include <cstdint>

namespace axon::kernels::cpu {

// g holds one row's pre-activations [i f g o] (gate q at g + q U, without the bias) and gets the
// activated gates; c = f cp + i a, h = o tanh(c), for units [0, U). tanh is vm::tanh_rational's
// fit with its division as a reciprocal estimate and one Newton step, sigmoid(x) = (1 + tanh(x/2)) / 2:
// within 4e-7 of the accurate functions absolutely.
void lstm_cell_forward_avx2(float* g, const float* bias, const float* cp, float* c, float* h, int64_t U);

}  // namespace axon::kernels::cpu
