// ONNX mappings of lstm and gru. ONNX's LSTM / GRU take [seq, batch, in] and weights per direction
// stacked by gate, rows = units: LSTM gates i, o, f, c (axon's i, o, f, g), GRU z, r, h (axon's z, r,
// n) with linear_before_reset = 1 (axon's n = act(x Win + bin + r (h Whn + bhn)), as PyTorch).
#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

struct Cell {
  const char* onnx_op;
  std::vector<std::string> wi, wh;  // axon gate names in ONNX's gate order
  // ONNX bias [W biases by gate, R biases by gate]: axon bias names, "" for zeros.
  std::vector<std::string> b;
};
const Cell kLstm{"LSTM", {"wii", "wio", "wif", "wig"}, {"whi", "who", "whf", "whg"},
                 {"bi", "bo", "bf", "bg", "", "", "", ""}};
const Cell kGru{"GRU", {"wiz", "wir", "win"}, {"whz", "whr", "whn"}, {"bz", "br", "bin", "", "", "bhn"}};

// ONNX's activation names for axon's.
std::string onnx_activation(const LayerInfo& l, const std::string& axon_name) {
  static const std::map<std::string, std::string> names{
      {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"},         {"relu", "Relu"},         {"softsign", "Softsign"},
      {"softplus", "Softplus"}, {"hard_sigmoid", "HardSigmoid"}, {"leaky_relu", "LeakyRelu"}, {"elu", "Elu"}};
  auto it = names.find(axon_name);
  AXON_CHECK(it != names.end(), who(l), "activation {} has no ONNX recurrent equivalent", axon_name);
  return it->second;
}

// [dirs, gates * units, k] from the per-gate [k, units] kernels (transposed), or [dirs, 2 gates * units].
Tensor stacked(const Exporter& ex, const LayerInfo& l, const std::vector<std::string>& prefixes,
               const std::string& group, const std::vector<std::string>& gates, int64_t units) {
  std::vector<Tensor> dirs;
  for (const auto& p : prefixes) {
    std::vector<Tensor> parts;
    for (const auto& g : gates) {
      if (group == "bias")
        parts.push_back(g.empty() || !ex.has_param(l, p + "bias." + g) ? zeros({units}) : ex.param(l, p + "bias." + g));
      else
        parts.push_back(ex.param(l, p + group + "." + g).t().contiguous());
    }
    dirs.push_back(concat(parts, 0).unsqueeze(0));
  }
  return concat(dirs, 0).contiguous();
}

void recurrent(const Cell& cell, Exporter& ex, const LayerInfo& l) {
  AXON_CHECK(l.inputs.size() == 1, who(l),
             "a mask or hidden_state input is not exported (the layer has {} inputs)", l.inputs.size());
  const bool bidirectional = ex.word(l, "bidirectional") == "true";
  const bool sequences = ex.word(l, "return_sequences") != "false";
  const std::vector<std::string> prefixes = bidirectional ? std::vector<std::string>{"", "backward."}
                                                          : std::vector<std::string>{""};
  const int64_t units = ex.param(l, "hidden_kernel." + cell.wh[0]).shape()[0];
  const std::string gate = onnx_activation(l, ex.word(l, "gate"));
  const std::string act = onnx_activation(l, ex.word(l, "activation"));
  std::vector<std::string> acts = cell.onnx_op == std::string("LSTM") ? std::vector<std::string>{gate, act, act}
                                                                      : std::vector<std::string>{gate, act};
  if (bidirectional) {  // the same functions for the reverse direction
    const std::vector<std::string> forward = acts;
    acts.insert(acts.end(), forward.begin(), forward.end());
  }

  const std::string x = ex.transpose(ex.input(l, 0, Layout::same), {1, 0, 2}, l.name + "/time_major");
  const std::string w = ex.initializer(l.name + ".W", stacked(ex, l, prefixes, "input_kernel", cell.wi, units));
  const std::string r = ex.initializer(l.name + ".R", stacked(ex, l, prefixes, "hidden_kernel", cell.wh, units));
  const std::string b = ex.initializer(l.name + ".B", stacked(ex, l, prefixes, "bias", cell.b, units));
  const std::string y = ex.fresh(l.name + "/Y"), yh = ex.fresh(l.name + "/Y_h");
  std::vector<std::string> outs{y, yh};
  if (cell.onnx_op == std::string("LSTM")) outs.push_back(ex.fresh(l.name + "/Y_c"));
  auto& n = ex.node(cell.onnx_op, {x, w, r, b}, outs);
  attr(n, "hidden_size", units);
  attr(n, "direction", std::string(bidirectional ? "bidirectional" : "forward"));
  attr(n, "activations", acts);
  if (cell.onnx_op == std::string("GRU")) attr(n, "linear_before_reset", int64_t{1});

  std::string out;
  if (sequences) {  // Y [seq, dirs, batch, units] -> [batch, seq, dirs * units]
    const std::string t = ex.transpose(y, {2, 0, 1, 3}, l.name + "/batch_major");
    out = ex.op("Reshape", {t, ex.const_i64({0, 0, -1}, l.name + "/shape")}, l.name);
  } else {  // Y_h [dirs, batch, units] -> [batch, dirs * units]
    const std::string t = ex.transpose(yh, {1, 0, 2}, l.name + "/batch_major");
    out = ex.op("Reshape", {t, ex.const_i64({0, -1}, l.name + "/shape")}, l.name);
  }
  ex.set_output(l, out, Layout::same);
}

}  // namespace

void add_recurrent_mappings(Mappings& m) {
  m["lstm"] = [](Exporter& ex, const LayerInfo& l) { recurrent(kLstm, ex, l); };
  m["gru"] = [](Exporter& ex, const LayerInfo& l) { recurrent(kGru, ex, l); };
}

}  // namespace axon::onnx::detail
