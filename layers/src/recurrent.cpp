// LSTM / GRU / ConvLSTM cells, the unrolls and the whole-sequence layers, composed of axon ops.
#include <axon/layers/recurrent.hpp>

#include <utility>

#include <axon/activations.hpp>
#include <axon/layers/conv.hpp>
#include <axon/ops.hpp>
#include <axon/recurrent_ops.hpp>

#include "unbind.hpp"

namespace axon::layers {

namespace {

Tensor activate(const Activation& a, const Tensor& x) {
  if (a.fn) return a.fn(x);
  if (a.name == "sigmoid") return sigmoid(x);
  if (a.name == "tanh") return tanh(x);
  return activations::activate(a.name, x);
}

// ---- parameters

const Tensor& gate_param(const char* op, const GateParams& m, const char* map, const char* key,
                         const char* expected) {
  auto it = m.find(key);
  AXON_CHECK(it != m.end() && it->second.defined(), op, "{} has no \"{}\" (expected {})", map, key, expected);
  return it->second;
}

// Every gate's kernels and biases concatenated along the output axis, so one matmul serves all gates.
struct Packed {
  int64_t in = 0, units = 0;
  Tensor wx;   // [in, G units]
  Tensor wh;   // [units, G units]
  Tensor bx;   // [G units] or undefined
  Tensor bhn;  // gru: [units] or undefined
};

struct GateNames {
  std::vector<const char*> wi, wh, b;
  const char* wi_list;
  const char* wh_list;
  const char* b_list;
};
const GateNames kLstm{{"wii", "wif", "wig", "wio"}, {"whi", "whf", "whg", "who"}, {"bi", "bf", "bg", "bo"},
                      "\"wii\", \"wif\", \"wig\", \"wio\"", "\"whi\", \"whf\", \"whg\", \"who\"",
                      "\"bi\", \"bf\", \"bg\", \"bo\""};
const GateNames kGru{{"wir", "wiz", "win"}, {"whr", "whz", "whn"}, {"br", "bz", "bin", "bhn"},
                     "\"wir\", \"wiz\", \"win\"", "\"whr\", \"whz\", \"whn\"", "\"br\", \"bz\", \"bin\", \"bhn\""};

Packed pack(const char* op, const GateNames& names, const GateParams& ik, const GateParams& hk, const GateParams& b,
            int64_t in_features) {
  Packed p;
  std::vector<Tensor> wx, wh, bx;
  const Tensor& first = gate_param(op, ik, "input_kernel", names.wi[0], names.wi_list);
  AXON_CHECK(first.dim() == 2, op, "input_kernel \"{}\" must be [in, units], got {}", names.wi[0], describe(first));
  p.in = first.size(0);
  p.units = first.size(1);
  AXON_CHECK(p.in == in_features, op, "input_kernel \"{}\" is {} but the input has {} features ([{}, units] expected)",
             names.wi[0], describe(first), in_features, in_features);
  for (const char* k : names.wi) {
    const Tensor& w = gate_param(op, ik, "input_kernel", k, names.wi_list);
    AXON_CHECK(w.shape() == Shape({p.in, p.units}), op, "input_kernel \"{}\" is {}; every input kernel must be [{}, {}]",
               k, describe(w), p.in, p.units);
    wx.push_back(w);
  }
  for (const char* k : names.wh) {
    const Tensor& w = gate_param(op, hk, "hidden_kernel", k, names.wh_list);
    AXON_CHECK(w.shape() == Shape({p.units, p.units}), op, "hidden_kernel \"{}\" is {}; every hidden kernel must be [{}, {}]",
               k, describe(w), p.units, p.units);
    wh.push_back(w);
  }
  if (!b.empty()) {
    for (const char* k : names.b) {
      const Tensor& v = gate_param(op, b, "bias", k, names.b_list);
      AXON_CHECK(v.shape() == Shape({p.units}), op, "bias \"{}\" is {}; every bias must be [{}]", k, describe(v), p.units);
      if (std::string(k) == "bhn")
        p.bhn = v;
      else
        bx.push_back(v);
    }
  }
  p.wx = concat(wx, 1);
  p.wh = concat(wh, 1);
  if (!bx.empty()) p.bx = concat(bx, 0);
  return p;
}

// ---- carries and masks

Carry check_carry(const char* op, const Carry& carry, size_t n, const Shape& shape, const Tensor& like) {
  if (carry.empty()) return Carry(n, zeros(shape, like.dtype(), like.device()));
  AXON_CHECK(carry.size() == n, op, "the carry must hold {} tensors ({}), got {}", n, n == 2 ? "{c, h}" : "{h}",
             carry.size());
  for (size_t i = 0; i < n; ++i) {
    AXON_CHECK(carry[i].defined() && carry[i].shape() == shape, op, "carry {} must be {}, got {}", i, to_string(shape),
               carry[i].defined() ? describe(carry[i]) : std::string("undefined"));
  }
  return carry;
}

Tensor as_bool(const Tensor& m) { return m.dtype() == DType::boolean ? m : ne(m, 0); }

// A step mask as a bool [batch or 1, 1, ...] of the carry's rank (so it broadcasts over the carry).
Tensor step_mask(const char* op, const Tensor& mask, int64_t batch, int64_t rank) {
  if (!mask.defined()) return mask;
  Shape s(static_cast<size_t>(rank), 1);
  if (mask.numel() != 1) {
    AXON_CHECK(mask.dim() >= 1 && mask.dim() <= 2 && mask.size(0) == batch && mask.numel() == batch, op,
               "the step mask {} must be a scalar, [{}] or [{}, 1]", describe(mask), batch, batch);
    s[0] = batch;
  }
  return axon::reshape(as_bool(mask), s);
}

// A sequence mask split into one step mask per time step (all undefined without a mask).
std::vector<Tensor> step_masks(const char* op, const Tensor& mask, int64_t batch, int64_t time, int64_t rank) {
  if (!mask.defined()) return std::vector<Tensor>(static_cast<size_t>(time));
  if (mask.dim() == 0 || mask.numel() == 1)
    return std::vector<Tensor>(static_cast<size_t>(time), step_mask(op, axon::reshape(mask, {}), batch, rank));
  const bool ok = (mask.dim() == 2 || (mask.dim() == 3 && mask.size(2) == 1)) && mask.size(0) == batch &&
                  mask.size(1) == time;
  AXON_CHECK(ok, op, "the mask {} must be a scalar, [batch, time] = [{}, {}] or [{}, {}, 1]", describe(mask), batch,
             time, batch, time);
  NoGrad ng;  // bool: no gradient flows through a mask
  Tensor m = axon::reshape(as_bool(mask), {batch, time});
  std::vector<Tensor> out;
  Shape s(static_cast<size_t>(rank), 1);
  s[0] = batch;
  for (int64_t t = 0; t < time; ++t) out.push_back(axon::reshape(m.select(1, t), s));
  return out;
}

// Where the mask is set keep the old value.
Tensor keep_where(const Tensor& m, const Tensor& old_value, const Tensor& new_value) {
  return m.defined() ? where(m, old_value, new_value) : new_value;
}

// ---- one step given the input projection xp = x Wx + bx of this step

CellOutput lstm_step(const Tensor& xp, const Carry& carry, const Tensor& wh, const Tensor& m, const CellOptions& o) {
  const Tensor &c = carry[0], &h = carry[1];
  auto g = detail::chunk(add(xp, matmul(h, wh)), 4, -1);
  Tensor i = activate(o.gate, g[0]), f = activate(o.gate, g[1]), gg = activate(o.activation, g[2]),
         out = activate(o.gate, g[3]);
  Tensor c2 = add(mul(f, c), mul(i, gg));
  Tensor h2 = mul(out, activate(o.activation, c2));
  c2 = keep_where(m, c, c2);
  h2 = keep_where(m, h, h2);
  return {h2, {c2, h2}};
}

CellOutput gru_step(const Tensor& xp, const Carry& carry, const Tensor& wh, const Tensor& bhn, const Tensor& m,
                    const CellOptions& o) {
  const Tensor& h = carry[0];
  auto x3 = detail::chunk(xp, 3, -1);
  auto h3 = detail::chunk(matmul(h, wh), 3, -1);
  Tensor r = activate(o.gate, add(x3[0], h3[0]));
  Tensor z = activate(o.gate, add(x3[1], h3[1]));
  Tensor hn = bhn.defined() ? add(h3[2], bhn) : h3[2];
  Tensor n = activate(o.activation, add(x3[2], mul(r, hn)));
  Tensor h2 = add(n, mul(z, sub(h, n)));  // (1 - z) n + z h
  h2 = keep_where(m, h, h2);
  return {h2, {h2}};
}

Tensor project(const Tensor& x, const Packed& p) {
  Tensor y = matmul(x, p.wx);
  return p.bx.defined() ? add(y, p.bx) : y;
}

// The input projection of every step with one matmul: x [B, T, in] -> T tensors [B, G units].
std::vector<Tensor> project_sequence(const Tensor& x, const Packed& p) {
  const int64_t b = x.size(0), t = x.size(1);
  Tensor y = axon::reshape(project(axon::reshape(x, {b * t, x.size(2)}), p), {b, t, p.wx.size(1)});
  return detail::unbind(y, 1);
}

void check_sequence(const char* op, const Tensor& x, int64_t min_rank, const char* layout) {
  AXON_CHECK(x.defined(), op, "the input is undefined");
  AXON_CHECK(x.dim() >= min_rank, op, "the input must be {}, got {}", layout, describe(x));
  AXON_CHECK(x.is_floating_point(), op, "the input must be floating, got {}", describe(x));
}

// The fused sequence op (lstm_sequence) serves the default gates (sigmoid, tanh, given by name)
// without a mask. Composed per step: gates or activations given as functions (even sigmoid / tanh
// themselves: a function cannot be compared) or other names, and masks (the fused kernels have no
// keep-the-carry path).
bool fused_lstm_applies(const Tensor& mask, const RecurrentOptions& o) {
  return !mask.defined() && !o.gate.fn && o.gate.name == "sigmoid" && !o.activation.fn && o.activation.name == "tanh";
}

// Runs `step(t, carry, mask_t)` over the time steps (backwards when reverse) and stacks the outputs in
// input order.
template <class Step>
UnrollOutput scan(int64_t time, Carry carry, const std::vector<Tensor>& masks, bool reverse, Step step) {
  AXON_CHECK(time > 0, "unroll", "the sequence has no time steps");
  std::vector<Tensor> outputs(static_cast<size_t>(time));
  for (int64_t k = 0; k < time; ++k) {
    const int64_t t = reverse ? time - 1 - k : k;
    CellOutput r = step(t, carry, masks[t]);
    outputs[t] = std::move(r.output);
    carry = std::move(r.carry);
  }
  return {stack(outputs, 1), std::move(carry)};
}

Tensor conv_gates(const Tensor& x, const Tensor& kernel, const Tensor& bias, const ConvLstmOptions& o) {
  ConvOptions co;
  co.strides = o.strides;
  co.padding = o.padding;
  co.channels = Channels::first;
  return layers::conv(x, kernel, bias, co);
}

void check_conv_lstm_params(const char* op, const Tensor& x_step, const Tensor& ik, const Tensor& hk, const Tensor& b) {
  AXON_CHECK(ik.defined() && hk.defined(), op, "input_kernel and hidden_kernel must be defined");
  const int64_t nd = x_step.dim() - 2;
  AXON_CHECK(ik.dim() == nd + 2 && ik.size(0) % 4 == 0 && ik.size(0) > 0, op,
             "input_kernel must be [4 units, in, k...] with {} spatial dims, got {}", nd, describe(ik));
  AXON_CHECK(ik.size(1) == x_step.size(1), op, "input_kernel {} expects {} input channels but the input {} has {}",
             describe(ik), ik.size(1), describe(x_step), x_step.size(1));
  const int64_t units = ik.size(0) / 4;
  AXON_CHECK(hk.dim() == nd + 2 && hk.size(0) == 4 * units && hk.size(1) == units, op,
             "hidden_kernel must be [{}, {}, k...] (4 units, units) for input_kernel {}, got {}", 4 * units, units,
             describe(ik), describe(hk));
  AXON_CHECK(!b.defined() || b.shape() == Shape({4 * units}), op, "bias must be [{}], got {}", 4 * units,
             describe(b));
}

// The hidden convolution must map the state [B, units, S...] onto itself (checked before any conv runs).
void check_state_conv(const char* op, const Shape& state, const Tensor& hk, const ConvLstmOptions& o) {
  const size_t nd = state.size() - 2;
  bool ok = o.padding.mode != PaddingMode::explicit_pads || o.padding.pads.size() == nd;
  for (size_t d = 0; ok && d < nd; ++d) {
    const int64_t in = state[2 + d], k = hk.size(static_cast<int64_t>(2 + d));
    const int64_t s = o.strides.empty() ? 1 : o.strides.size() == 1 ? o.strides[0] : o.strides.at(d);
    int64_t out = in;
    if (o.padding.mode == PaddingMode::same) {
      out = (in + s - 1) / s;
    } else {
      const int64_t lo = o.padding.mode == PaddingMode::explicit_pads ? o.padding.pads[d].first : 0;
      const int64_t hi = o.padding.mode == PaddingMode::explicit_pads ? o.padding.pads[d].second : 0;
      out = in + lo + hi >= k ? (in + lo + hi - k) / s + 1 : -1;
    }
    ok = out == in;
  }
  AXON_CHECK(ok, op,
             "the state {} would not keep its size through the hidden convolution {}: strides and padding must keep "
             "the spatial size of the state",
             to_string(state), describe(hk));
}

CellOutput conv_lstm_step(const Tensor& xp, const Carry& carry, const Tensor& hk, const Tensor& m,
                          const ConvLstmOptions& o, const char* op) {
  const Tensor &c = carry[0], &h = carry[1];
  Tensor hp = conv_gates(h, hk, Tensor(), o);
  AXON_CHECK(hp.shape() == xp.shape(), op,
             "the hidden convolution gives {} but the input convolution {}: strides and padding must keep the "
             "spatial size of the state",
             to_string(hp.shape()), to_string(xp.shape()));
  auto g = detail::chunk(add(xp, hp), 4, 1);  // Axon's order: i, g, f, o
  Tensor f = sigmoid(add(g[2], 1.0));
  Tensor c2 = add(mul(f, c), mul(sigmoid(g[0]), tanh(g[1])));
  Tensor h2 = mul(sigmoid(g[3]), tanh(c2));
  c2 = keep_where(m, c, c2);
  h2 = keep_where(m, h, h2);
  return {h2, {c2, h2}};
}

}  // namespace

// ---- cells

CellOutput lstm_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                     const GateParams& hidden_kernel, const GateParams& bias, const CellOptions& options) {
  const char* op = "lstm_cell";
  check_sequence(op, x, 2, "[batch, features]");
  AXON_CHECK(x.dim() == 2, op, "the input must be [batch, features], got {}", describe(x));
  Packed p = pack(op, kLstm, input_kernel, hidden_kernel, bias, x.size(1));
  Carry c = check_carry(op, carry, 2, {x.size(0), p.units}, x);
  return lstm_step(project(x, p), c, p.wh, step_mask(op, mask, x.size(0), 2), options);
}

CellOutput gru_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                    const GateParams& hidden_kernel, const GateParams& bias, const CellOptions& options) {
  const char* op = "gru_cell";
  check_sequence(op, x, 2, "[batch, features]");
  AXON_CHECK(x.dim() == 2, op, "the input must be [batch, features], got {}", describe(x));
  Packed p = pack(op, kGru, input_kernel, hidden_kernel, bias, x.size(1));
  Carry c = check_carry(op, carry, 1, {x.size(0), p.units}, x);
  return gru_step(project(x, p), c, p.wh, p.bhn, step_mask(op, mask, x.size(0), 2), options);
}

CellOutput conv_lstm_cell(const Tensor& x, const Carry& carry, const Tensor& mask, const Tensor& input_kernel,
                          const Tensor& hidden_kernel, const Tensor& bias, const ConvLstmOptions& options) {
  const char* op = "conv_lstm_cell";
  check_sequence(op, x, 3, "[batch, channels, spatial...]");
  check_conv_lstm_params(op, x, input_kernel, hidden_kernel, bias);
  Tensor xp = conv_gates(x, input_kernel, bias, options);
  Shape state = xp.shape();
  state[1] /= 4;
  check_state_conv(op, state, hidden_kernel, options);
  Carry c = check_carry(op, carry, 2, state, x);
  return conv_lstm_step(xp, c, hidden_kernel, step_mask(op, mask, x.size(0), x.dim()), options, op);
}

// ---- unrolls

UnrollOutput static_unroll(const CellFn& cell, const Tensor& sequence, const Carry& carry, const Tensor& mask) {
  const char* op = "static_unroll";
  AXON_CHECK(static_cast<bool>(cell), op, "the cell function is empty");
  check_sequence(op, sequence, 3, "[batch, time, features...]");
  auto xs = detail::unbind(sequence, 1);
  auto masks = step_masks(op, mask, sequence.size(0), sequence.size(1), 2);
  return scan(sequence.size(1), carry, masks, false,
              [&](int64_t t, const Carry& c, const Tensor& m) { return cell(xs[t], c, m); });
}

UnrollOutput dynamic_unroll(const CellFn& cell, const Tensor& sequence, const Carry& carry, const Tensor& mask) {
  return static_unroll(cell, sequence, carry, mask);
}

// ---- whole sequences

UnrollOutput lstm(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                  const GateParams& hidden_kernel, const GateParams& bias, const RecurrentOptions& options) {
  const char* op = "lstm";
  check_sequence(op, x, 3, "[batch, time, features]");
  AXON_CHECK(x.dim() == 3, op, "the input must be [batch, time, features], got {}", describe(x));
  Packed p = pack(op, kLstm, input_kernel, hidden_kernel, bias, x.size(2));
  Carry c = check_carry(op, carry, 2, {x.size(0), p.units}, x);
  auto masks = step_masks(op, mask, x.size(0), x.size(1), 2);
  AXON_CHECK(x.size(1) > 0, op, "the input {} has no time steps", describe(x));
  if (fused_lstm_applies(mask, options)) {
    LstmSequence r = lstm_sequence(x, p.wx, p.wh, p.bx, c[0], c[1], options.reverse);
    return {r.output, {r.c, r.h}};
  }
  auto xs = project_sequence(x, p);
  CellOptions co{options.gate, options.activation};
  return scan(x.size(1), c, masks, options.reverse,
              [&](int64_t t, const Carry& cc, const Tensor& m) { return lstm_step(xs[t], cc, p.wh, m, co); });
}

UnrollOutput gru(const Tensor& x, const Carry& carry, const Tensor& mask, const GateParams& input_kernel,
                 const GateParams& hidden_kernel, const GateParams& bias, const RecurrentOptions& options) {
  const char* op = "gru";
  check_sequence(op, x, 3, "[batch, time, features]");
  AXON_CHECK(x.dim() == 3, op, "the input must be [batch, time, features], got {}", describe(x));
  Packed p = pack(op, kGru, input_kernel, hidden_kernel, bias, x.size(2));
  Carry c = check_carry(op, carry, 1, {x.size(0), p.units}, x);
  auto masks = step_masks(op, mask, x.size(0), x.size(1), 2);
  AXON_CHECK(x.size(1) > 0, op, "the input {} has no time steps", describe(x));
  auto xs = project_sequence(x, p);
  CellOptions co{options.gate, options.activation};
  return scan(x.size(1), c, masks, options.reverse, [&](int64_t t, const Carry& cc, const Tensor& m) {
    return gru_step(xs[t], cc, p.wh, p.bhn, m, co);
  });
}

UnrollOutput conv_lstm(const Tensor& x, const Carry& carry, const Tensor& mask, const Tensor& input_kernel,
                       const Tensor& hidden_kernel, const Tensor& bias, const ConvLstmSequenceOptions& options) {
  const char* op = "conv_lstm";
  check_sequence(op, x, 4, "[batch, time, channels, spatial...]");
  const int64_t b = x.size(0), t = x.size(1);
  AXON_CHECK(t > 0, op, "the input {} has no time steps", describe(x));
  // Every step's input convolution at once, over batch * time images.
  Shape images = x.shape();
  images.erase(images.begin());
  images[0] = b * t;
  Tensor flat = axon::reshape(x, images);
  check_conv_lstm_params(op, flat, input_kernel, hidden_kernel, bias);
  const ConvLstmOptions co{options.strides, options.padding};
  Tensor xp = conv_gates(flat, input_kernel, bias, co);
  Shape seq = xp.shape();
  seq[0] = t;
  seq.insert(seq.begin(), b);
  auto xs = detail::unbind(axon::reshape(xp, seq), 1);
  Shape state = xs[0].shape();
  state[1] /= 4;
  check_state_conv(op, state, hidden_kernel, co);
  Carry c = check_carry(op, carry, 2, state, x);
  auto masks = step_masks(op, mask, b, t, static_cast<int64_t>(state.size()));
  return scan(t, c, masks, options.reverse, [&](int64_t s, const Carry& cc, const Tensor& m) {
    return conv_lstm_step(xs[s], cc, hidden_kernel, m, co, op);
  });
}

}  // namespace axon::layers
