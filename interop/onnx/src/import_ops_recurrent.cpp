// ONNX LSTM and GRU on axon's recurrent layers: ONNX keeps the gates of a direction stacked in one
// tensor (LSTM i, o, f, c; GRU z, r, h) with input and recurrence biases apart; axon takes per-gate
// kernels [in, units] and one bias per gate (GRU's n gate keeps both, PyTorch's linear_before_reset).
#include <algorithm>
#include <cctype>

#include <axon/error.hpp>
#include <axon/layers/recurrent.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Outs = std::vector<Tensor>;

struct Cell {
  const char* op;
  int64_t gates;
  // axon's gate names in ONNX's stacking order.
  std::vector<std::string> wi, wh, b;
  size_t carry;  // LSTM {c, h}, GRU {h}
};
const Cell kLstm{"LSTM", 4, {"wii", "wio", "wif", "wig"}, {"whi", "who", "whf", "whg"}, {"bi", "bo", "bf", "bg"}, 2};
const Cell kGru{"GRU", 3, {"wiz", "wir", "win"}, {"whz", "whr", "whn"}, {"bz", "br", "bin"}, 1};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One direction's kernels and biases from W [dirs, G H, in], R [dirs, G H, H], B [dirs, 2 G H].
struct DirParams {
  layers::GateParams wi, wh, b;
};
DirParams gate_params(const Cell& cell, const Tensor& w, const Tensor& r, const Tensor& b, int64_t dir, int64_t h) {
  DirParams p;
  for (int64_t g = 0; g < cell.gates; ++g) {
    p.wi[cell.wi[g]] = w.select(0, dir).slice(0, g * h, (g + 1) * h).t();
    p.wh[cell.wh[g]] = r.select(0, dir).slice(0, g * h, (g + 1) * h).t();
    if (!b.defined()) continue;
    const Tensor wb = b.select(0, dir).slice(0, g * h, (g + 1) * h);
    const Tensor rb = b.select(0, dir).slice(0, (cell.gates + g) * h, (cell.gates + g + 1) * h);
    if (cell.b.size() > static_cast<size_t>(g) && cell.b[g] == "bin") {
      p.b["bin"] = wb;
      p.b["bhn"] = rb;
    } else {
      p.b[cell.b[g]] = add(wb, rb);
    }
  }
  return p;
}

OpFactory recurrent(const Cell& cell) {
  return [&cell](const Attrs& a) -> OpImpl {
    const int64_t h = a.i("hidden_size", 0);
    AXON_CHECK(h > 0, kImport, "{}: hidden_size is required", a.who());
    const std::string direction = a.s("direction", "forward");
    AXON_CHECK(direction == "forward" || direction == "reverse" || direction == "bidirectional", kImport,
               "{}: direction \"{}\" is unknown", a.who(), direction);
    const int64_t dirs = direction == "bidirectional" ? 2 : 1;
    AXON_CHECK(!a.has("clip"), kImport, "{}: clip is not supported", a.who());
    a.unsupported_unless("input_forget", 0);
    const int64_t layout = a.i("layout", 0);
    AXON_CHECK(layout == 0 || layout == 1, kImport, "{}: layout {} is unknown", a.who(), layout);
    if (&cell == &kGru)
      AXON_CHECK(a.i("linear_before_reset", 0) == 1, kImport,
                 "{}: linear_before_reset = 0 is not supported (axon's GRU is PyTorch's, linear_before_reset = 1)",
                 a.who());
    const std::vector<std::string> acts = a.strings("activations");
    for (size_t k = 0; k < acts.size(); ++k) {
      const std::string want = k % (cell.gates == 4 ? 3 : 2) == 0 ? "sigmoid" : "tanh";
      AXON_CHECK(lower(acts[k]) == want, kImport, "{}: activations other than the defaults are not supported, got {}",
                 a.who(), acts[k]);
    }
    return {[=, &cell, who = a.who()](const Outs& in, OpRun&) -> Outs {
      Tensor x = input(in, 0, who, "X");
      const Tensor &w = input(in, 1, who, "W"), &r = input(in, 2, who, "R");
      const Tensor b = optional_input(in, 3), lens = optional_input(in, 4);
      AXON_CHECK(x.dim() == 3, kImport, "{}: X must be 3-d, got {}", who, describe(x));
      if (layout == 0) x = permute(x, {1, 0, 2});  // axon's layers are batch first
      const int64_t batch = x.shape()[0], steps = x.shape()[1], features = x.shape()[2];
      AXON_CHECK(w.shape() == Shape({dirs, cell.gates * h, features}), kImport, "{}: W is {}, [{}, {}, {}] expected",
                 who, describe(w), dirs, cell.gates * h, features);
      AXON_CHECK(r.shape() == Shape({dirs, cell.gates * h, h}), kImport, "{}: R is {}, [{}, {}, {}] expected", who,
                 describe(r), dirs, cell.gates * h, h);
      AXON_CHECK(!b.defined() || b.shape() == Shape({dirs, 2 * cell.gates * h}), kImport, "{}: B is {}, [{}, {}] expected",
                 who, describe(b), dirs, 2 * cell.gates * h);
      if (lens.defined()) {
        for (int64_t n : int_values(lens, who, "sequence_lens"))
          AXON_CHECK(n == steps, kImport, "{}: sequence_lens shorter than the sequence ({}) are not supported", who, steps);
      }
      const Tensor h0 = optional_input(in, 5), c0 = cell.carry == 2 ? optional_input(in, 6) : Tensor();
      AXON_CHECK(cell.carry == 1 || !optional_input(in, 7).defined(), kImport, "{}: peepholes (P) are not supported", who);
      const Shape state_shape{dirs, batch, h};
      AXON_CHECK(!h0.defined() || h0.shape() == state_shape, kImport, "{}: initial_h is {}, {} expected", who,
                 describe(h0), to_string(state_shape));
      AXON_CHECK(!c0.defined() || c0.shape() == state_shape, kImport, "{}: initial_c is {}, {} expected", who,
                 describe(c0), to_string(state_shape));
      std::vector<Tensor> ys, hs, cs;
      for (int64_t d = 0; d < dirs; ++d) {
        const DirParams p = gate_params(cell, w, r, b, d, h);
        layers::Carry carry;
        const Tensor hd = h0.defined() ? h0.select(0, d) : zeros({batch, h}, x.dtype(), x.device());
        if (cell.carry == 2)
          carry = {c0.defined() ? c0.select(0, d) : zeros({batch, h}, x.dtype(), x.device()), hd};
        else
          carry = {hd};
        const layers::RecurrentOptions o{.reverse = direction == "reverse" || d == 1};
        const layers::UnrollOutput u = cell.carry == 2 ? layers::lstm(x, carry, {}, p.wi, p.wh, p.b, o)
                                                       : layers::gru(x, carry, {}, p.wi, p.wh, p.b, o);
        ys.push_back(u.output);  // [batch, steps, h]
        hs.push_back(u.carry.back());
        if (cell.carry == 2) cs.push_back(u.carry.front());
      }
      // Y [steps, dirs, batch, h] (layout 1: [batch, steps, dirs, h]); Y_h, Y_c [dirs, batch, h]
      // (layout 1: [batch, dirs, h]).
      Tensor y = stack(ys, 2);  // [batch, steps, dirs, h]
      Tensor yh = stack(hs, 0), yc = cs.empty() ? Tensor() : stack(cs, 0);
      if (layout == 0) {
        y = permute(y, {1, 2, 0, 3});
      } else {
        yh = permute(yh, {1, 0, 2});
        if (yc.defined()) yc = permute(yc, {1, 0, 2});
      }
      return {y, yh, yc};
    }};
  };
}

}  // namespace

void add_recurrent_ops(std::map<std::string, OpFactory>& ops) {
  ops["LSTM"] = recurrent(kLstm);
  ops["GRU"] = recurrent(kGru);
}

}  // namespace axon::onnx::detail
