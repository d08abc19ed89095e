#pragma once
// Recurrent layers (Axon.Layers "Recurrent"): the LSTM, GRU and ConvLSTM cells, the
// static / dynamic unrolls that scan a cell over axis 1 of a sequence, and whole-sequence lstm / gru /
// conv_lstm. Built from differentiable axon ops (matmul, conv, sigmoid, tanh, mul, add, where, concat),
// so gradients come from the tape; the default LSTM runs one fused op instead (see Cost below).
//
// Parameter layout as Axon keeps it: one tensor per gate, in maps.
//   lstm: input_kernel {"wii","wif","wig","wio"} [in, units], hidden_kernel {"whi","whf","whg","who"}
//         [units, units], bias {"bi","bf","bg","bo"} [units]
//   gru:  input_kernel {"wir","wiz","win"}, hidden_kernel {"whr","whz","whn"}, bias {"br","bz","bin","bhn"}
//   An empty bias map means no bias (Axon's default 0).
// Carries as Axon's tuples: lstm and conv_lstm {c, h}, gru {h}.
//
// Masks follow Axon: where mask is nonzero (1 = a padding step, as Axon.mask(x, eos) gives) the cell
// keeps its old carry and outputs the old hidden state. A step mask is a scalar, [batch] or [batch, 1];
// a sequence mask is a scalar, [batch, time] or [batch, time, 1]; an undefined Tensor is no mask.
//
// ⚠ Initial state: Axon's builders start from a *random* hidden state drawn with the recurrent
// initializer. Here an empty carry means zeros (PyTorch's h0 = None); the model builders offer Axon's
// draw as an option (RecurrentLayerOptions::initial_state in <axon/model/builders.hpp>).
//
// Cost: lstm with the default gate and activation ("sigmoid", "tanh" by name) and no mask runs the fused op
// axon::lstm_sequence (<axon/recurrent_ops.hpp>): one GEMM for x . W of every step, per step one GEMM and one
// pointwise pass, weight gradients as single GEMMs over batch * time. Otherwise (other gates, functions, masks;
// gru; conv_lstm) the steps are composed of ops, x . W of every step still one matmul before the loop.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <axon/activation_option.hpp>
#include <axon/autograd.hpp>
#include <axon/conv.hpp>
#include <axon/tensor.hpp>

namespace axon::layers {

using GateParams = std::map<std::string, Tensor>;  // gate name -> tensor (Axon's per-gate maps)
using Carry = std::vector<Tensor>;                  // lstm / conv_lstm {c, h}; gru {h}

struct CellOptions {
  Activation gate = "sigmoid";  // any name of axon::activations::activate, or a function
  Activation activation = "tanh";
};

struct CellOutput {
  Tensor output;  // the new hidden state (the old one at masked steps)
  Carry carry;
};

// i = gate(x Wii + bi + h Whi), f = gate(x Wif + bf + h Whf), g = act(x Wig + bg + h Whg),
// o = gate(x Wio + bo + h Who); c' = f c + i g; h' = o act(c'). x [batch, in], c and h [batch, units]
// (an empty carry: zeros). Returns {h', {c', h'}}.
CellOutput lstm_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                     const GateParams& hidden_kernel, const GateParams& bias = {}, const CellOptions& options = {});

// r = gate(x Wir + br + h Whr), z = gate(x Wiz + bz + h Whz), n = act(x Win + bin + r (h Whn + bhn)),
// h' = (1 - z) n + z h. Returns {h', {h'}}. (PyTorch's GRU has separate input and hidden biases for r
// and z; Axon's single br, bz equal their sums.)
CellOutput gru_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                    const GateParams& hidden_kernel, const GateParams& bias = {}, const CellOptions& options = {});

// ConvLSTM (Shi et al. 2015) as Axon computes it, channels first: gates = conv(x, input_kernel) + bias +
// conv(h, hidden_kernel), split along the channels in the order i, g, f, o; f = sigmoid(f + 1) (a forget
// bias of 1); c' = f c + sigmoid(i) tanh(g); h' = sigmoid(o) tanh(c').
//   x [batch, in, spatial...], c and h [batch, units, spatial...] (empty: zeros of the conv's output
//   size), input_kernel [4 units, in, k...], hidden_kernel [4 units, units, k...], bias [4 units] or
//   undefined. The hidden conv must keep the spatial size (padding same with unit strides does).
// Axon ignores the mask here; it is honoured as in the other cells (no mask gives Axon's result).
// (Axon's builder stores the carry with an extra axis of size 1 after the batch; here it has none.)
struct ConvLstmOptions {
  std::vector<int64_t> strides = {1};
  Padding padding = PaddingMode::same;
};
CellOutput conv_lstm_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const Tensor& input_kernel,
                          const Tensor& hidden_kernel, const Tensor& bias = {}, const ConvLstmOptions& options = {});

// A cell for the unrolls: one time step x_t [batch, features...], the carry, the step mask ([batch, 1]
// bool, or undefined). Capture the kernels in the closure.
using CellFn = std::function<CellOutput(const Tensor& x, const Carry& carry, const Tensor& mask)>;

struct UnrollOutput {
  Tensor output;  // [batch, time, ...]: the cell outputs stacked along axis 1
  Carry carry;    // the final carry
};

// Scans `cell` over axis 1 of `sequence` [batch, time, features...] starting from `carry`.
// Axon's static unroll inlines the loop into the compiled graph and its dynamic unroll is a while
// loop; executed eagerly the two compute the same thing and are recorded the same way, so both names
// are kept for Axon's API and dynamic_unroll is static_unroll.
UnrollOutput static_unroll(const CellFn& cell, const Tensor& sequence, const Carry& carry, const Tensor& mask = {});
UnrollOutput dynamic_unroll(const CellFn& cell, const Tensor& sequence, const Carry& carry, const Tensor& mask = {});

enum class Unroll { static_unroll, dynamic_unroll };

struct RecurrentOptions {
  Activation gate = "sigmoid";  // a name or a function, as CellOptions
  Activation activation = "tanh";
  Unroll unroll = Unroll::static_unroll;  // Axon's functional default (same result either way)
  // Scan from the last step to the first (the backward half of a bidirectional RNN). The outputs stay
  // aligned with the input steps (output[:, t] is the state after reading steps T-1 .. t), as in
  // PyTorch's bidirectional RNNs; the final carry is the one after step 0.
  bool reverse = false;
};

// Whole sequences: x [batch, time, in] -> {outputs [batch, time, units], final carry}. Same math and
// parameters as the cells (Axon's lstm/gru with lstm_cell/gru_cell), the input projection of every
// step done by one matmul before the loop.
UnrollOutput lstm(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                  const GateParams& hidden_kernel, const GateParams& bias = {}, const RecurrentOptions& options = {});
UnrollOutput gru(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                 const GateParams& hidden_kernel, const GateParams& bias = {}, const RecurrentOptions& options = {});
// x [batch, time, in, spatial...] -> {outputs [batch, time, units, spatial...], {c, h}}; the input
// convolution of every step is one conv over batch * time images before the loop.
struct ConvLstmSequenceOptions {
  std::vector<int64_t> strides = {1};
  Padding padding = PaddingMode::same;
  Unroll unroll = Unroll::static_unroll;
  bool reverse = false;
};
UnrollOutput conv_lstm(const Tensor& x, const Carry& carry, const Tensor& mask, const Tensor& input_kernel,
                       const Tensor& hidden_kernel, const Tensor& bias = {}, const ConvLstmSequenceOptions& options = {});

}  // namespace axon::layers
