#pragma once
// A fused whole-sequence LSTM: one tape entry for the sequence, its backward next to its forward
// (kernels/*/lstm*). The layers (<axon/layers/recurrent.hpp>) call it for the default gates.
#include <axon/tensor.hpp>

namespace axon {

struct LstmSequence {
  Tensor output;  // [B, T, U]: h_t of every step
  Tensor c, h;    // the final carry [B, U]
};

// x [B, T, in], wx [in, 4U] and wh [U, 4U] with the gate columns in the order i, f, g, o, bias [4U]
// or undefined, c0 and h0 [B, U]:
//   [i f g o] = [sigmoid sigmoid tanh sigmoid](x_t wx + h_prev wh + bias),
//   c_t = f c_prev + i g, h_t = o tanh(c_t);
// reverse scans from the last step to the first (outputs stay aligned with the input steps).
// Gradients flow to every input, c0 and h0 included. The fused path runs for f32 / f64 tensors of
// one dtype (CPU and CUDA); anything else (16-bit or mixed dtypes) and the backward while a tape
// records it (grad of grad) run the same math as separate axon ops.
LstmSequence lstm_sequence(const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& bias, const Tensor& c0,
                           const Tensor& h0, bool reverse = false);

}  // namespace axon
