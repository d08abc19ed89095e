// ONNX mappings of the shape layers (flatten, reshape, transpose, pad, resize, split) and the
// combinators (concatenate, add, subtract, multiply).
#include <algorithm>
#include <axon/error.hpp>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

// ONNX axis of axon's `axis` in a value of this layout and rank.
int64_t onnx_axis(int64_t axis, size_t rank, Layout layout) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < 0) axis += r;
  if (layout == Layout::same || rank < 3) return axis;
  const auto p = to_channels_first(rank);
  return std::find(p.begin(), p.end(), axis) - p.begin();
}

// The layout every input of a multi-input layer can share without a Transpose: channels first when
// all of them are, of equal rank; else axon's.
Layout common_layout(const Exporter& ex, const LayerInfo& l) {
  const Value& v0 = ex.value(l.inputs[0]);
  for (const auto& in : l.inputs) {
    const Value& v = ex.value(in);
    if (v.layout != Layout::channels_first || v.shape.size() != v0.shape.size()) return Layout::same;
  }
  return Layout::channels_first;
}

void flatten(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  ex.set_output(l, ex.op("Flatten", {x}, l.name, [](auto& n) { attr(n, "axis", int64_t{1}); }), Layout::same);
}

// [batch] + the layer's shape; 0 copies the batch, one unknown dim stays -1.
void reshape(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  std::vector<int64_t> shape(l.output_shape.begin(), l.output_shape.end());
  shape[0] = 0;
  ex.set_output(l, ex.op("Reshape", {x, ex.const_i64(shape, l.name + "/shape")}, l.name), Layout::same);
}

void transpose(Exporter& ex, const LayerInfo& l) {
  const std::string x = ex.input(l, 0, Layout::same);
  ex.set_output(l, ex.transpose(x, ex.option_list(l, "permutation"), l.name), Layout::same);
}

// Pads the spatial dims (after the batch, before the channels unless channels first).
void pad(Exporter& ex, const LayerInfo& l) {
  const bool first = ex.word(l, "channels") == "first";
  const Layout layout = first ? Layout::same : ex.value(l.inputs[0]).layout;
  const size_t r = ex.value(l.inputs[0]).shape.size();
  const auto cfg = ex.option_list(l, "padding_config");
  const bool nchw = first || layout == Layout::channels_first;
  std::vector<int64_t> pads(2 * r, 0);
  for (size_t d = 0; 2 * d + 1 < cfg.size(); ++d) {
    const size_t axis = (nchw ? 2 : 1) + d;
    AXON_CHECK(axis < r, who(l), "padding_config {} has more dims than the input", ex.option(l, "padding_config"));
    pads[axis] = cfg[2 * d];
    pads[r + axis] = cfg[2 * d + 1];
  }
  const bool negative = std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; });
  AXON_CHECK(!negative, who(l), "negative padding {} is not mapped", ex.option(l, "padding_config"));
  const std::string x = ex.input(l, 0, layout);
  const float value = static_cast<float>(ex.option_number(l, "value", 0));
  ex.set_output(l,
                ex.op("Pad", {x, ex.const_i64(pads, l.name + "/pads"), ex.const_f32(value, l.name + "/value")}, l.name,
                      [](auto& n) { attr(n, "mode", std::string("constant")); }),
                layout);
}

// jax.image semantics (layers::resize): nearest takes floor((i + 1/2) in / out); bilinear / bicubic
// are half-pixel triangle / Keys (a = -1/2) kernels with weights renormalized at the borders
// (exclude_outside), which ONNX matches unless an antialiased kernel is widened for downscaling.
void resize(Exporter& ex, const LayerInfo& l) {
  const bool first = ex.word(l, "channels") == "first";
  const Layout layout = first ? Layout::same : Layout::channels_first;
  const Shape& in = ex.value(l.inputs[0]).shape;
  const auto size = ex.option_list(l, "size");
  const std::string method = ex.word(l, "method");
  const size_t h = first ? 2 : 1;
  const bool down = in[h] < 0 || in[h + 1] < 0 || size[0] < in[h] || size[1] < in[h + 1];
  AXON_CHECK(method == "nearest" || method == "bilinear" || method == "bicubic", who(l),
             "method {} has no ONNX Resize equivalent", method);
  AXON_CHECK(method == "nearest" || ex.word(l, "antialias") != "true" || !down, who(l),
             "antialiased {} downscaling of {} needs ONNX Resize's antialias (opset 18)", method, to_string(in));
  const std::string x = ex.input(l, 0, layout);
  const std::string nc = ex.op(
      "Slice",
      {ex.op("Shape", {x}, l.name + "/shape"), ex.const_i64({0}, l.name + "/zero"), ex.const_i64({2}, l.name + "/two")},
      l.name + "/nc");
  const std::string sizes = ex.op("Concat", {nc, ex.const_i64({size[0], size[1]}, l.name + "/hw")}, l.name + "/sizes",
                                  [](auto& n) { attr(n, "axis", int64_t{0}); });
  ex.set_output(l,
                ex.op("Resize", {x, "", "", sizes}, l.name,
                      [&](::onnx::NodeProto& n) {
                        if (method == "nearest") {
                          attr(n, "mode", std::string("nearest"));
                          // round_prefer_ceil(x) = floor(x + 1/2), and half-pixel's x is (i + 1/2) in / out - 1/2.
                          attr(n, "nearest_mode", std::string("round_prefer_ceil"));
                          attr(n, "coordinate_transformation_mode", std::string("half_pixel"));
                        } else {
                          attr(n, "mode", std::string(method == "bilinear" ? "linear" : "cubic"));
                          attr(n, "coordinate_transformation_mode", std::string("half_pixel"));
                          if (method == "bicubic") {
                            attr(n, "cubic_coeff_a", -0.5f);
                            attr(n, "exclude_outside", int64_t{1});
                          }
                        }
                      }),
                layout);
}

void concatenate(Exporter& ex, const LayerInfo& l) {
  const Layout layout = common_layout(ex, l);
  std::vector<std::string> xs;
  for (size_t i = 0; i < l.inputs.size(); ++i) xs.push_back(ex.input(l, i, layout));
  const int64_t axis = onnx_axis(static_cast<int64_t>(ex.option_number(l, "axis", -1)), l.output_shape.size(), layout);
  ex.set_output(l, ex.op("Concat", xs, l.name, [&](auto& n) { attr(n, "axis", axis); }), layout);
}

// Broadcasting binary ops, reduced left to right. Inputs of unequal rank broadcast in axon's layout.
Mapping combine(std::string op) {
  return [op](Exporter& ex, const LayerInfo& l) {
    const Layout layout = common_layout(ex, l);
    std::string y = ex.input(l, 0, layout);
    for (size_t i = 1; i < l.inputs.size(); ++i)
      y = ex.op(op, {y, ex.input(l, i, layout)}, i + 1 == l.inputs.size() ? l.name : l.name + "/partial");
    ex.set_output(l, y, layout);
  };
}

// One part of split(): a Slice of the input along the axis.
void split(Exporter& ex, const LayerInfo& l) {
  const Layout layout = ex.value(l.inputs[0]).layout;
  const Shape& in = ex.value(l.inputs[0]).shape;
  int64_t axis = static_cast<int64_t>(ex.option_number(l, "axis", -1));
  if (axis < 0) axis += static_cast<int64_t>(in.size());
  const int64_t index = static_cast<int64_t>(ex.option_number(l, "index", 0));
  const int64_t part = l.output_shape[static_cast<size_t>(axis)];
  const int64_t onnx = onnx_axis(axis, in.size(), layout);
  const std::string x = ex.input(l, 0, layout);
  ex.set_output(l,
                ex.op("Slice",
                      {x, ex.const_i64({index * part}, l.name + "/start"),
                       ex.const_i64({(index + 1) * part}, l.name + "/end"), ex.const_i64({onnx}, l.name + "/axis")},
                      l.name),
                layout);
}

}  // namespace

void add_shape_mappings(Mappings& m) {
  m.insert({{"flatten", flatten}, {"reshape", reshape}, {"transpose", transpose}, {"pad", pad}, {"resize", resize},
            {"concatenate", concatenate}, {"split", split}, {"add", combine("Add")}, {"subtract", combine("Sub")},
            {"multiply", combine("Mul")}});
}

}  // namespace axon::onnx::detail
