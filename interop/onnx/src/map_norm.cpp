// ONNX mappings of the normalization layers. batch_norm and instance_norm run on their running
// statistics at inference (layers::norm_with_stats), which is BatchNormalization for both.
#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

// The layout that puts the layer's channel axis (channel_index) at ONNX axis 1.
Layout channel_axis_1(const Exporter& ex, const LayerInfo& l) {
  const int64_t r = static_cast<int64_t>(ex.value(l.inputs[0]).shape.size());
  int64_t c = static_cast<int64_t>(ex.option_number(l, "channel_index", -1));
  if (c < 0) c += r;
  if (c == 1) return Layout::same;
  AXON_CHECK(c == r - 1, who(l), "channel_index {} of a rank-{} input is neither axis 1 nor the last axis", c, r);
  return Layout::channels_first;
}

float epsilon(const Exporter& ex, const LayerInfo& l, double fallback) {
  return static_cast<float>(ex.option_number(l, "epsilon", fallback));
}

std::string param(Exporter& ex, const LayerInfo& l, const std::string& name) {
  return ex.initializer(l.name + "." + name, ex.param(l, name));
}

void stat_norm(Exporter& ex, const LayerInfo& l) {
  const Layout layout = channel_axis_1(ex, l);
  const std::string x = ex.input(l, 0, layout);
  const std::string y = ex.op(
      "BatchNormalization", {x, param(ex, l, "gamma"), param(ex, l, "beta"), param(ex, l, "mean"), param(ex, l, "var")},
      l.name, [&](::onnx::NodeProto& n) { attr(n, "epsilon", epsilon(ex, l, 1e-5)); });
  ex.set_output(l, y, layout);
}

// The channel index must be the last axis: LayerNormalization normalizes from `axis` to the end.
void check_last(const Exporter& ex, const LayerInfo& l) {
  const int64_t r = static_cast<int64_t>(ex.value(l.inputs[0]).shape.size());
  int64_t c = static_cast<int64_t>(ex.option_number(l, "channel_index", -1));
  if (c < 0) c += r;
  AXON_CHECK(c == r - 1, who(l), "channel_index {} is not the last axis of a rank-{} input: not mapped", c, r);
}

void layer_norm(Exporter& ex, const LayerInfo& l) {
  check_last(ex, l);
  const std::string x = ex.input(l, 0, Layout::same);
  const std::string y =
      ex.op("LayerNormalization", {x, param(ex, l, "gamma"), param(ex, l, "beta")}, l.name, [&](::onnx::NodeProto& n) {
        attr(n, "axis", int64_t{-1});
        attr(n, "epsilon", epsilon(ex, l, 1e-5));
      });
  ex.set_output(l, y, Layout::same);
}

// gamma (or beta) shaped [C, 1, ...] to broadcast over a channels-at-axis-1 value of rank r.
std::string per_channel(Exporter& ex, const LayerInfo& l, const Tensor& p, size_t rank, const std::string& hint) {
  Shape s{p.shape()[0]};
  s.resize(rank - 1, 1);
  return ex.initializer(hint, p.reshape(s));
}

// GroupNormalization is opset 18: [N, C, S...] -> [N, G, C/G * S] normalized over its last axis by
// InstanceNormalization (unit scale, zero bias), back to [N, C, S...], then gamma and beta per channel.
void group_norm(Exporter& ex, const LayerInfo& l) {
  const Layout layout = channel_axis_1(ex, l);
  const size_t r = ex.value(l.inputs[0]).shape.size();
  const int64_t g = static_cast<int64_t>(ex.option_number(l, "num_groups", 1));
  const std::string x = ex.input(l, 0, layout);
  const std::string grouped = ex.op("Reshape", {x, ex.const_i64({0, g, -1}, l.name + "/groups")}, l.name + "/grouped");
  const std::string norm =
      ex.op("InstanceNormalization",
            {grouped, ex.initializer(l.name + "/unit", ones({g})), ex.initializer(l.name + "/zero", zeros({g}))},
            l.name + "/normalized", [&](::onnx::NodeProto& n) { attr(n, "epsilon", epsilon(ex, l, 1e-5)); });
  const std::string back = ex.op("Reshape", {norm, ex.op("Shape", {x}, l.name + "/shape")}, l.name + "/ungrouped");
  const std::string scaled =
      ex.op("Mul", {back, per_channel(ex, l, ex.param(l, "gamma"), r, l.name + ".gamma")}, l.name + "/scaled");
  ex.set_output(l, ex.op("Add", {scaled, per_channel(ex, l, ex.param(l, "beta"), r, l.name + ".beta")}, l.name),
                layout);
}

// x / sqrt(mean(x^2 over the channels) + eps) * (gamma + shift), as layers::rms_norm.
void rms_norm(Exporter& ex, const LayerInfo& l) {
  const Layout layout = channel_axis_1(ex, l);
  const size_t r = ex.value(l.inputs[0]).shape.size();
  const std::string x = ex.input(l, 0, layout);
  const std::string sq = ex.op("Mul", {x, x}, l.name + "/square");
  const std::string ms = ex.op("ReduceMean", {sq}, l.name + "/mean_square", [&](::onnx::NodeProto& n) {
    attr(n, "axes", std::vector<int64_t>{1});
    attr(n, "keepdims", int64_t{1});
  });
  const std::string rms =
      ex.op("Sqrt", {ex.op("Add", {ms, ex.const_f32(epsilon(ex, l, 1e-6), l.name + "/eps")}, l.name + "/shifted")},
            l.name + "/rms");
  const std::string unit = ex.op("Div", {x, rms}, l.name + "/normalized");
  const Tensor w = add(ex.param(l, "gamma"), ex.option_number(l, "shift", 0));
  ex.set_output(l, ex.op("Mul", {unit, per_channel(ex, l, w, r, l.name + ".gamma")}, l.name), layout);
}

}  // namespace

void add_norm_mappings(Mappings& m) {
  m.insert({{"batch_norm", stat_norm}, {"instance_norm", stat_norm}, {"layer_norm", layer_norm},
            {"group_norm", group_norm}, {"rms_norm", rms_norm}});
}

}  // namespace axon::onnx::detail
