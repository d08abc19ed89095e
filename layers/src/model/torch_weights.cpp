// from_torch_state_dict: PyTorch state_dict tensors -> Params, per the table in <axon/torch_weights.hpp>.
#include <axon/torch_weights.hpp>

#include <set>

#include <axon/error.hpp>
#include <axon/ops.hpp>

namespace axon {

namespace {

constexpr const char* kOp = "from_torch_state_dict";

// The state_dict of one module: key lookups record what was used.
class Module {
 public:
  Module(const TensorMap& all, std::string prefix, const LayerInfo& layer, std::set<std::string>& used)
      : all_(all), prefix_(std::move(prefix)), layer_(layer), used_(used) {}

  Tensor get(const std::string& key) const {
    const std::string k = prefix_ + "." + key;
    auto it = all_.find(k);
    AXON_CHECK(it != all_.end(), kOp, "layer {} ({}) is mapped to \"{}\" but the state_dict has no \"{}\"", layer_.name,
               layer_.op, prefix_, k);
    used_.insert(k);
    return it->second.to(Device::cpu()).to(DType::f32).contiguous();
  }
  const LayerInfo& layer() const { return layer_; }

 private:
  const TensorMap& all_;
  std::string prefix_;
  const LayerInfo& layer_;
  std::set<std::string>& used_;
};

// Rows [i * n, (i + 1) * n) of a gate-stacked tensor.
Tensor gate(const Tensor& t, int64_t i, int64_t n) { return t.slice(0, i * n, (i + 1) * n).contiguous(); }

Tensor transposed(const Tensor& t) { return t.t().contiguous(); }

// OIHW [out, in, k...] -> HWIO [k..., in, out].
Tensor hwio(const Tensor& w) {
  const int64_t r = w.dim();
  std::vector<int64_t> perm;
  for (int64_t i = 2; i < r; ++i) perm.push_back(i);
  perm.push_back(1);
  perm.push_back(0);
  return w.permute(perm).contiguous();
}

// PyTorch's ConvTranspose weight [in, out, k...] -> axon's [k..., in, out] (or [out, in, k...] for a
// channels-first layer) with the window reversed.
Tensor conv_transpose_kernel(const Tensor& w, bool channels_first) {
  Tensor t = w;
  for (int64_t a = 2; a < w.dim(); ++a) t = index_select(t, a, arange(w.shape()[a] - 1, -1, -1, DType::i64));
  std::vector<int64_t> perm;
  if (channels_first) perm = {1, 0};
  for (int64_t a = 2; a < w.dim(); ++a) perm.push_back(a);
  if (!channels_first) perm.insert(perm.end(), {0, 1});
  return t.permute(perm).contiguous();
}

bool channels_first(const LayerInfo& l) {
  for (const auto& [k, v] : l.options)
    if (k == "channels") return v.size() >= 5 && v.compare(v.size() - 5, 5, "first") == 0;  // ":first", "first"
  return false;
}

using Out = ParamMap;

bool has_spec(const LayerInfo& l, const std::string& name) {
  for (const auto& p : l.params)
    if (p.name == name) return true;
  return false;
}

void weight_bias(const Module& m, Out& out, const char* w, const char* b) {
  out[w] = m.get("weight");
  if (has_spec(m.layer(), b)) out[b] = m.get("bias");
}

// One direction of a recurrent layer; sfx "" or "_reverse", prefix "" or "backward.".
void recurrent(const Module& m, Out& out, bool lstm, const std::string& sfx, const std::string& prefix, bool bias) {
  const Tensor wi = m.get("weight_ih_l0" + sfx), wh = m.get("weight_hh_l0" + sfx);
  const int64_t h = wh.shape()[1];
  // PyTorch's gate order, and axon's names for each.
  const std::vector<std::string> gates = lstm ? std::vector<std::string>{"i", "f", "g", "o"}
                                              : std::vector<std::string>{"r", "z", "n"};
  Tensor bi, bh;
  if (bias) {
    bi = m.get("bias_ih_l0" + sfx);
    bh = m.get("bias_hh_l0" + sfx);
  }
  for (size_t g = 0; g < gates.size(); ++g) {
    const int64_t k = static_cast<int64_t>(g);
    out[prefix + "input_kernel.wi" + gates[g]] = transposed(gate(wi, k, h));
    out[prefix + "hidden_kernel.wh" + gates[g]] = transposed(gate(wh, k, h));
    if (!bias) continue;
    if (!lstm && gates[g] == "n") {  // the reset gate scales the hidden part of n, bias included
      out[prefix + "bias.bin"] = gate(bi, k, h);
      out[prefix + "bias.bhn"] = gate(bh, k, h);
    } else {
      out[prefix + "bias.b" + gates[g]] = add(gate(bi, k, h), gate(bh, k, h));
    }
  }
}

Out convert(const Module& m) {
  const LayerInfo& l = m.layer();
  Out out;
  const std::string& op = l.op;
  if (op == "dense") {
    out["kernel"] = transposed(m.get("weight"));
    if (has_spec(l, "bias")) out["bias"] = m.get("bias");
  } else if (op == "conv" || op == "depthwise_conv") {
    out["kernel"] = channels_first(l) ? m.get("weight") : hwio(m.get("weight"));
    if (has_spec(l, "bias")) out["bias"] = m.get("bias");
  } else if (op == "conv_transpose") {
    out["kernel"] = conv_transpose_kernel(m.get("weight"), channels_first(l));
    if (has_spec(l, "bias")) out["bias"] = m.get("bias");
  } else if (op == "batch_norm" || op == "instance_norm") {
    weight_bias(m, out, "gamma", "beta");
    out["mean"] = m.get("running_mean");
    out["var"] = m.get("running_var");
  } else if (op == "layer_norm" || op == "group_norm") {
    weight_bias(m, out, "gamma", "beta");
  } else if (op == "rms_norm") {
    out["gamma"] = m.get("weight");
  } else if (op == "embedding") {
    out["kernel"] = m.get("weight");
  } else if (op == "bias") {
    out["bias"] = m.get("bias");
  } else if (op == "lstm" || op == "gru") {
    bool bidirectional = false, bias = false;
    for (const auto& p : l.params) {
      bidirectional |= p.name.rfind("backward.", 0) == 0;
      bias |= p.name.rfind("bias.", 0) == 0;
    }
    recurrent(m, out, op == "lstm", "", "", bias);
    if (bidirectional) recurrent(m, out, op == "lstm", "_reverse", "backward.", bias);
  } else if (op == "multi_head_attention") {
    const Tensor w = m.get("in_proj_weight");
    const int64_t e = w.shape()[1];
    const char* names[] = {"q", "k", "v"};
    for (int64_t i = 0; i < 3; ++i) out[std::string("w") + names[i]] = transposed(gate(w, i, e));
    out["wo"] = transposed(m.get("out_proj.weight"));
    if (has_spec(l, "bq")) {
      const Tensor b = m.get("in_proj_bias");
      for (int64_t i = 0; i < 3; ++i) out[std::string("b") + names[i]] = gate(b, i, e);
      out["bo"] = m.get("out_proj.bias");
    }
  } else {
    AXON_FAIL(kOp, "layer {} ({}) has no PyTorch mapping", l.name, op);
  }
  return out;
}

}  // namespace

Params from_torch_state_dict(const Model& model, const TensorMap& tensors,
                             const std::map<std::string, std::string>& name_map) {
  AXON_CHECK(model.defined(), kOp, "the model is empty (a default-constructed Model)");
  const std::vector<LayerInfo> layers = model.layers();
  std::set<std::string> known;
  for (const auto& l : layers) known.insert(l.name);
  for (const auto& [layer, module] : name_map)
    AXON_CHECK(known.count(layer), kOp, "name_map names layer \"{}\" (-> \"{}\"), which the model does not have", layer,
               module);

  Params params;
  std::set<std::string> used;
  std::vector<std::string> unmapped;
  for (const auto& l : layers) {
    if (l.params.empty()) continue;
    auto it = name_map.find(l.name);
    if (it == name_map.end()) {
      unmapped.push_back(l.name + " (" + l.op + ")");
      continue;
    }
    ParamMap p = convert(Module(tensors, it->second, l, used));
    for (const auto& spec : l.params) {
      auto t = p.find(spec.name);
      AXON_CHECK(t != p.end(), kOp, "layer {} ({}) needs \"{}\", which module \"{}\" does not provide", l.name, l.op,
                 spec.name, it->second);
      AXON_CHECK(t->second.shape() == spec.shape, kOp,
                 "layer {} ({}): \"{}\" from module \"{}\" has shape {} but the model's is {}", l.name, l.op, spec.name,
                 it->second, to_string(t->second.shape()), to_string(spec.shape));
    }
    params[l.name] = std::move(p);
  }
  AXON_CHECK(unmapped.empty(), kOp, "layers with parameters missing from name_map: {}", fmt::join(unmapped, ", "));
  // Tensors of mapped modules that went unused mean the two architectures differ.
  std::vector<std::string> left;
  for (const auto& [layer, module] : name_map)
    for (auto it = tensors.lower_bound(module + "."); it != tensors.end() && it->first.rfind(module + ".", 0) == 0; ++it)
      if (!used.count(it->first) && it->first.find("num_batches_tracked") == std::string::npos &&
          it->first.find('.', module.size() + 1) == std::string::npos)
        left.push_back(it->first);
  AXON_CHECK(left.empty(), kOp, "state_dict tensors of mapped modules that no parameter uses: {}", fmt::join(left, ", "));
  return params;
}

}  // namespace axon
