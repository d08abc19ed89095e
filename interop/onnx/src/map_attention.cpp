// ONNX mapping of multi_head_attention as layers::multi_head_attention computes it: projections,
// heads split [batch, heads, time, head_dim], softmax((q / sqrt(head_dim)) k^T) v (causal: keys after
// the query step get -inf), heads merged, output projection.
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

void attention(Exporter& ex, const LayerInfo& l) {
  const bool cross = l.inputs.size() == 2 && ex.value(l.inputs[1]).shape.size() == 3;
  AXON_CHECK(l.inputs.size() == (cross ? 2u : 1u), who(l), "a mask input is not exported");
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
  if (ex.option(l, "causal") == "true") {
    // Lower-triangular ones over the scores' last two dims: key j <= query i.
    const std::string shape = ex.op("Shape", {s}, l.name + "/scores_shape");
    const std::string tt = ex.op("Slice", {shape, ex.const_i64({2}, l.name + "/two"), ex.const_i64({4}, l.name + "/four")},
                                 l.name + "/tq_tk");
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
    const std::string allowed = ex.op("Cast", {tril}, l.name + "/allowed", [](auto& n) {
      attr(n, "to", static_cast<int64_t>(::onnx::TensorProto::BOOL));
    });
    const float neg_inf = -std::numeric_limits<float>::infinity();
    s = ex.op("Where", {allowed, s, ex.const_f32(neg_inf, l.name + "/neg_inf")}, l.name + "/masked");
  }
  const std::string p = ex.op("Softmax", {s}, l.name + "/weights", [](auto& n) { attr(n, "axis", int64_t{-1}); });
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
