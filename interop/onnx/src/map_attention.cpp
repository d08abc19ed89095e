// ONNX mapping of multi_head_attention as layers::multi_head_attention computes it: projections,
// heads split [batch, heads, time, head_dim], softmax((q / sqrt(head_dim)) k^T) v (causal: keys after
// the query step get -inf; a key padding mask: padded keys get -inf), heads merged, output projection.
#include <cmath>
#include <limits>

#include <axon/error.hpp>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

std::string project(Exporter& ex, const LayerInfo& l, const std::string& x, const std::string& w,
                    const std::string& b) {
  std::string y = ex.op("MatMul", {x, ex.initializer(l.name + "." + w, ex.param(l, w))}, l.name + "/" + w);
  if (ex.has_param(l, b)) y = ex.op("Add", {y, ex.initializer(l.name + "." + b, ex.param(l, b))}, l.name + "/" + b);
  return y;
}

// [batch, time, embed] -> [batch, time, heads, head_dim] -> permuted.
std::string heads(Exporter& ex, const LayerInfo& l, const std::string& x, int64_t h, int64_t d,
                  const std::vector<int64_t>& perm, const std::string& hint) {
  const std::string r = ex.op("Reshape", {x, ex.const_i64({0, 0, h, d}, hint + "/shape")}, hint + "/split");
  return ex.transpose(r, perm, hint);
}

// Lower-triangular ones over the scores' last two dims (key j <= query i), as bool.
std::string causal_allowed(Exporter& ex, const LayerInfo& l, const std::string& s) {
  const std::string shape = ex.op("Shape", {s}, l.name + "/scores_shape");
  const std::string tt =
      ex.op("Slice", {shape, ex.const_i64({2}, l.name + "/two"), ex.const_i64({4}, l.name + "/four")}, l.name + "/tq_tk");
  const std::string ones = ex.op("ConstantOfShape", {tt}, l.name + "/ones", [](::onnx::NodeProto& n) {
    auto& a = *n.add_attribute();
    a.set_name("value");
    a.set_type(::onnx::AttributeProto::TENSOR);
    auto& t = *a.mutable_t();
    t.set_data_type(::onnx::TensorProto::FLOAT);
    t.add_dims(1);
    t.add_float_data(1.0f);
  });
  const std::string tril = ex.op("Trilu", {ones}, l.name + "/tril", [](auto& n) { attr(n, "upper", int64_t{0}); });
  return ex.op("Cast", {tril}, l.name + "/causal", [](auto& n) {
    attr(n, "to", static_cast<int64_t>(::onnx::TensorProto::BOOL));
  });
}

// The key padding mask [batch, Tk] (nonzero = padding) as bool "attend" [batch, 1, 1, Tk].
std::string keys_kept(Exporter& ex, const LayerInfo& l, const std::string& mask) {
  const std::string f = ex.op("Cast", {mask}, l.name + "/mask_f", [](auto& n) {
    attr(n, "to", static_cast<int64_t>(::onnx::TensorProto::FLOAT));
  });
  const std::string keep = ex.op("Equal", {f, ex.const_f32(0.0f, l.name + "/zero")}, l.name + "/keep");
  return ex.op("Reshape", {keep, ex.const_i64({0, 1, 1, -1}, l.name + "/keep_shape")}, l.name + "/keep_keys");
}

void attention(Exporter& ex, const LayerInfo& l) {
  const bool cross = l.inputs.size() >= 2 && ex.value(l.inputs[1]).shape.size() == 3;
  const bool masked = l.inputs.size() == (cross ? 3u : 2u);
  const int64_t h = static_cast<int64_t>(ex.option_number(l, "num_heads", 1));
  const int64_t e = l.output_shape.back(), d = e / h;
  const std::string q_in = ex.input(l, 0, Layout::same);
  const std::string kv_in = cross ? ex.input(l, 1, Layout::same) : q_in;
  const std::string q = heads(ex, l, project(ex, l, q_in, "wq", "bq"), h, d, {0, 2, 1, 3}, l.name + "/q");
  const std::string kt = heads(ex, l, project(ex, l, kv_in, "wk", "bk"), h, d, {0, 2, 3, 1}, l.name + "/kt");
  const std::string v = heads(ex, l, project(ex, l, kv_in, "wv", "bv"), h, d, {0, 2, 1, 3}, l.name + "/v");
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const std::string qs = ex.op("Mul", {q, ex.const_f32(scale, l.name + "/scale")}, l.name + "/q_scaled");
  std::string s = ex.op("MatMul", {qs, kt}, l.name + "/scores");
  std::string allowed;
  if (masked) allowed = keys_kept(ex, l, ex.input(l, l.inputs.size() - 1, Layout::same));
  if (ex.word(l, "causal") == "true") {
    const std::string c = causal_allowed(ex, l, s);
    allowed = allowed.empty() ? c : ex.op("And", {allowed, c}, l.name + "/allowed");
  }
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (!allowed.empty()) s = ex.op("Where", {allowed, s, ex.const_f32(neg_inf, l.name + "/neg_inf")}, l.name + "/masked");
  // A query whose keys are all padding attends nothing: its row is zero, not NaN (layers::attention).
  std::string row_ok;
  if (masked) {
    const std::string best = ex.op("ReduceMax", {s}, l.name + "/row_max", [](auto& n) {
      attr(n, "axes", std::vector<int64_t>{-1});
      attr(n, "keepdims", int64_t{1});
    });
    row_ok = ex.op("Greater", {best, ex.const_f32(neg_inf, l.name + "/neg_inf_row")}, l.name + "/row_ok");
    s = ex.op("Where", {row_ok, s, ex.const_f32(0.0f, l.name + "/zero_score")}, l.name + "/finite");
  }
  std::string p = ex.op("Softmax", {s}, l.name + "/weights", [](auto& n) { attr(n, "axis", int64_t{-1}); });
  if (masked) p = ex.op("Where", {row_ok, p, ex.const_f32(0.0f, l.name + "/zero_weight")}, l.name + "/kept_weights");
  const std::string o = ex.transpose(ex.op("MatMul", {p, v}, l.name + "/attended"), {0, 2, 1, 3}, l.name + "/merged_t");
  const std::string m = ex.op("Reshape", {o, ex.const_i64({0, 0, e}, l.name + "/merge")}, l.name + "/merged");
  std::string y = ex.op("MatMul", {m, ex.initializer(l.name + ".wo", ex.param(l, "wo"))},
                        ex.has_param(l, "bo") ? l.name + "/wo" : l.name);
  if (ex.has_param(l, "bo")) y = ex.op("Add", {y, ex.initializer(l.name + ".bo", ex.param(l, "bo"))}, l.name);
  ex.set_output(l, y, Layout::same);
}

}  // namespace

void add_attention_mappings(Mappings& m) { m["multi_head_attention"] = attention; }

}  // namespace axon::onnx::detail
