// ONNX mappings of dense, bilinear, bias, embedding, mask, the activations and the dropouts.
#include <axon/error.hpp>
#include <cmath>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

// The input as it is, whatever its layout: elementwise layers keep it.
std::string any_layout(Exporter& ex, const LayerInfo& l, Layout& layout) {
  layout = ex.value(l.inputs[0]).layout;
  return ex.input(l, 0, layout);
}

void dense(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  std::string y = ex.op("MatMul", {x, ex.initializer(l.name + ".kernel", ex.param(l, "kernel"))},
                        ex.has_param(l, "bias") ? l.name + "/matmul" : l.name);
  if (ex.has_param(l, "bias")) y = ex.op("Add", {y, ex.initializer(l.name + ".bias", ex.param(l, "bias"))}, l.name);
  ex.set_output(l, y, Layout::same);
}

// y[..., o] = x1 A_o x2 + b_o.
void bilinear(Exporter& ex, const LayerInfo& l) {
  const std::string x1 = ex.input(l, 0, Layout::same), x2 = ex.input(l, 1, Layout::same);
  const std::string k = ex.initializer(l.name + ".kernel", ex.param(l, "kernel"));
  const bool b = ex.has_param(l, "bias");
  std::string y = ex.op("Einsum", {x1, k, x2}, b ? l.name + "/einsum" : l.name,
                        [](auto& n) { attr(n, "equation", std::string("...i,oij,...j->...o")); });
  if (b) y = ex.op("Add", {y, ex.initializer(l.name + ".bias", ex.param(l, "bias"))}, l.name);
  ex.set_output(l, y, Layout::same);
}

// Axon's mask(x, eos): x == eos as integers, bool (true = padding).
void mask(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  const std::string i = ex.op("Cast", {x}, l.name + "/i64",
                              [](auto& n) { attr(n, "to", static_cast<int64_t>(::onnx::TensorProto::INT64)); });
  const auto eos = static_cast<int64_t>(ex.option_number(l, "eos_token", 0));
  ex.set_output(l, ex.op("Equal", {i, ex.const_i64({eos}, l.name + "/eos")}, l.name), Layout::same);
}

void bias(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  ex.set_output(l, ex.op("Add", {x, ex.initializer(l.name + ".bias", ex.param(l, "bias"))}, l.name), Layout::same);
}

void embedding(Exporter& ex, const LayerInfo& l) {
  const std::string ids = ex.input(l, 0, Layout::same);
  const std::string k = ex.initializer(l.name + ".kernel", ex.param(l, "kernel"));
  ex.set_output(l, ex.op("Gather", {k, ids}, l.name, [](auto& n) { attr(n, "axis", int64_t{0}); }), Layout::same);
}

// An activation that is one ONNX op (with optional attributes), elementwise.
Mapping native(std::string op, std::function<void(::onnx::NodeProto&)> attrs = {}) {
  return [op, attrs](Exporter& ex, const LayerInfo& l) {
    Layout layout;
    const std::string x = any_layout(ex, l, layout);
    ex.set_output(l, ex.op(op, {x}, l.name, attrs), layout);
  };
}

// An activation written as several elementwise ops: body(x) returns the result's name.
Mapping decomposed(std::function<std::string(Exporter&, const LayerInfo&, const std::string&)> body) {
  return [body](Exporter& ex, const LayerInfo& l) {
    Layout layout;
    const std::string x = any_layout(ex, l, layout);
    ex.set_output(l, body(ex, l, x), layout);
  };
}

// Softmax family over axon's last axis: axis 1 of a channels-first value.
Mapping last_axis(std::string op, bool reduce) {
  return [op, reduce](Exporter& ex, const LayerInfo& l) {
    Layout layout;
    const std::string x = any_layout(ex, l, layout);
    const int64_t axis = layout == Layout::channels_first ? 1 : -1;
    ex.set_output(l,
                  ex.op(op, {x}, l.name,
                        [&](auto& n) {
                          if (reduce) {
                            attr(n, "axes", std::vector<int64_t>{axis});
                            attr(n, "keepdims", int64_t{1});
                          } else {
                            attr(n, "axis", axis);
                          }
                        }),
                  layout);
  };
}

Mapping clip(float lo, float hi) {
  return decomposed([lo, hi](Exporter& ex, const LayerInfo& l, const std::string& x) {
    return ex.op("Clip", {x, ex.const_f32(lo, l.name + "/min"), ex.const_f32(hi, l.name + "/max")}, l.name);
  });
}

}  // namespace

void add_linear_mappings(Mappings& m) {
  m.insert({{"dense", dense}, {"bias", bias}, {"bilinear", bilinear}, {"mask", mask}, {"embedding", embedding}});
  // Dropout is the identity in the inference graph an export describes.
  for (const char* d : {"dropout", "spatial_dropout", "alpha_dropout", "feature_alpha_dropout"})
    m[d] = native("Identity");
  m["linear"] = native("Identity");
  m["celu"] = native("Celu", [](auto& n) { attr(n, "alpha", 1.0f); });
  m["elu"] = native("Elu", [](auto& n) { attr(n, "alpha", 1.0f); });
  m["exp"] = native("Exp");
  m["hard_sigmoid"] = native("HardSigmoid", [](auto& n) {
    attr(n, "alpha", 0.2f);
    attr(n, "beta", 0.5f);
  });
  m["hard_silu"] = native("HardSwish");  // x * clip(x / 6 + 1/2, 0, 1): hard_silu's defaults
  m["leaky_relu"] = native("LeakyRelu", [](auto& n) { attr(n, "alpha", 0.01f); });
  m["relu"] = native("Relu");
  m["selu"] = native("Selu");  // ONNX's default alpha and gamma are selu's constants
  m["sigmoid"] = native("Sigmoid");
  m["softplus"] = native("Softplus");
  m["softsign"] = native("Softsign");
  m["tanh"] = native("Tanh");
  m["hard_tanh"] = clip(-1.0f, 1.0f);
  m["relu6"] = clip(0.0f, 6.0f);
  m["softmax"] = last_axis("Softmax", false);
  m["log_softmax"] = last_axis("LogSoftmax", false);
  m["log_sumexp"] = last_axis("ReduceLogSumExp", true);
  // x/2 (1 + erf(x / sqrt 2)): exact gelu (opset 17 has no Gelu).
  m["gelu"] = decomposed([](Exporter& ex, const LayerInfo& l, const std::string& x) {
    const std::string s =
        ex.op("Div", {x, ex.const_f32(static_cast<float>(std::sqrt(2.0)), l.name + "/sqrt2")}, l.name + "/scaled");
    const std::string e = ex.op("Erf", {s}, l.name + "/erf");
    const std::string p = ex.op("Add", {e, ex.const_f32(1.0f, l.name + "/one")}, l.name + "/erf1");
    const std::string h = ex.op("Mul", {x, ex.const_f32(0.5f, l.name + "/half")}, l.name + "/half_x");
    return ex.op("Mul", {h, p}, l.name);
  });
  m["silu"] = decomposed([](Exporter& ex, const LayerInfo& l, const std::string& x) {
    return ex.op("Mul", {x, ex.op("Sigmoid", {x}, l.name + "/sigmoid")}, l.name);
  });
  // x tanh(softplus(x)): Mish is opset 18.
  m["mish"] = decomposed([](Exporter& ex, const LayerInfo& l, const std::string& x) {
    const std::string t = ex.op("Tanh", {ex.op("Softplus", {x}, l.name + "/softplus")}, l.name + "/tanh");
    return ex.op("Mul", {x, t}, l.name);
  });
  // -softplus(-x)
  m["log_sigmoid"] = decomposed([](Exporter& ex, const LayerInfo& l, const std::string& x) {
    const std::string sp = ex.op("Softplus", {ex.op("Neg", {x}, l.name + "/neg")}, l.name + "/softplus");
    return ex.op("Neg", {sp}, l.name);
  });
}

}  // namespace axon::onnx::detail
