// conv, conv_transpose, depthwise_conv, separable_conv2d / 3d: shapes per Axon.Shape, math from
// <axon/layers/conv.hpp>.
#include "spec.hpp"

#include <algorithm>

#include <axon/layers/conv.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

// The input's geometry and the options expanded to one value per spatial dim.
struct Geometry {
  int64_t nd = 0, cax = 0, cin = 0;
  std::vector<int64_t> k, s, idil, kdil;
};

Geometry geometry(const NodeBuild& b, const ConvLayerOptions& o) {
  Geometry g;
  const Shape& x = b.in[0];
  g.cax = detail::channel_axis(b, x, o.channels);
  g.nd = static_cast<int64_t>(x.size()) - 2;
  g.cin = detail::known_dim(b, x, g.cax, "channel dim");
  g.k = detail::per_dim(b, o.kernel_size, g.nd, "kernel_size");
  g.s = detail::per_dim(b, o.strides, g.nd, "strides");
  g.idil = detail::per_dim(b, o.input_dilation, g.nd, "input_dilation");
  g.kdil = detail::per_dim(b, o.kernel_dilation, g.nd, "kernel_dilation");
  if (o.padding.mode == PaddingMode::explicit_pads)
    AXON_CHECK(static_cast<int64_t>(o.padding.pads.size()) == g.nd, b.who,
               "padding has {} (lo, hi) pairs but input shape {} has {} spatial dims", o.padding.pads.size(),
               to_string(x), g.nd);
  return g;
}

// [batch, spatial..., cout] (or channels first) with each spatial dim through the window rule.
Shape window_shape(const NodeBuild& b, const Shape& x, const Geometry& g, const std::vector<int64_t>& k,
                   const std::vector<int64_t>& idil, const Padding& pad, Channels ch, int64_t cout) {
  Shape out{x[0]};
  if (ch == Channels::first) out.push_back(cout);
  const int64_t first = ch == Channels::last ? 1 : 2;
  for (int64_t d = 0; d < g.nd; ++d)
    out.push_back(detail::window_out(b, x[first + d], k[d], g.s[d], g.kdil[d], idil[d], pad, d));
  if (ch == Channels::last) out.push_back(cout);
  return out;
}

// Kernel shape from its spatial part and (in, out): HWIO for channels last, OIHW for first.
Shape kernel_shape(const std::vector<int64_t>& k, int64_t in, int64_t out, Channels ch) {
  Shape s;
  if (ch == Channels::first) s = {out, in};
  s.insert(s.end(), k.begin(), k.end());
  if (ch == Channels::last) s.insert(s.end(), {in, out});
  return s;
}

ConvOptions conv_options(const Geometry& g, const ConvLayerOptions& o, int64_t groups) {
  return ConvOptions{g.s, o.padding, g.idil, g.kdil, groups, o.channels};
}

void add_kernel_and_bias(NodeBuild& b, const ConvLayerOptions& o, const Shape& kernel, int64_t cout,
                         const std::string& suffix = "") {
  b.node.params.push_back({.name = "kernel" + suffix, .shape = kernel, .initializer = o.kernel_initializer,
                           .channels_first = o.channels == Channels::first});
  if (o.use_bias)
    b.node.params.push_back({.name = "bias" + suffix, .shape = {cout}, .initializer = o.bias_initializer});
}

void display(NodeBuild& b, const Geometry& g, const ConvLayerOptions& o, bool groups, bool input_dilation) {
  auto& d = b.node.options;
  d.push_back({"strides", detail::show_list(g.s)});
  d.push_back({"padding", detail::show_padding(o.padding)});
  if (input_dilation) d.push_back({"input_dilation", detail::show_list(g.idil)});
  d.push_back({"kernel_dilation", detail::show_list(g.kdil)});
  if (groups) d.push_back({"feature_group_size", std::to_string(o.feature_group_size)});
  d.push_back({"channels", detail::show_channels(o.channels)});
}

Tensor param_or_none(const ParamMap& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? Tensor() : it->second;
}

void check_no_groups(const NodeBuild& b, const ConvLayerOptions& o) {
  AXON_CHECK(o.feature_group_size == 1, b.who, "feature_group_size is not an option of this layer (got {})",
             o.feature_group_size);
}

}  // namespace

namespace detail {
Tensor ConvForward::operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) const {
  return layers::conv(in[0], p.at("kernel"), param_or_none(p, "bias"), options);
}
Tensor ConvForward::fused(const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation) const {
  return layers::conv(in[0], p.at("kernel"), param_or_none(p, "bias"), options, activation);
}
}  // namespace detail

Model conv(const Model& x, int64_t units, ConvLayerOptions o) {
  Model m = detail::make_node("conv", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    Geometry g = geometry(b, o);
    const int64_t groups = o.feature_group_size;
    AXON_CHECK(groups >= 1 && g.cin % groups == 0 && units % groups == 0, b.who,
               "feature_group_size {} must divide the input channels {} (input shape {}) and the units {}", groups,
               g.cin, to_string(b.in[0]), units);
    b.node.shape = window_shape(b, b.in[0], g, g.k, g.idil, o.padding, o.channels, units);
    add_kernel_and_bias(b, o, kernel_shape(g.k, g.cin / groups, units, o.channels), units);
    display(b, g, o, true, true);
    b.node.forward = detail::ConvForward{conv_options(g, o, groups)};
  });
  return detail::with_activation(m, o.activation);
}

Model conv_transpose(const Model& x, int64_t units, ConvLayerOptions o) {
  Model m = detail::make_node("conv_transpose", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    check_no_groups(b, o);
    Geometry g = geometry(b, o);
    AXON_CHECK(std::all_of(g.idil.begin(), g.idil.end(), [](int64_t v) { return v == 1; }), b.who,
               "input_dilation is not an option of conv_transpose (it dilates by the strides)");
    // A conv with input dilation = strides, unit strides and the padding of layers::conv_transpose.
    std::vector<std::pair<int64_t, int64_t>> pads;
    for (int64_t d = 0; d < g.nd; ++d) {
      const int64_t k = (g.k[d] - 1) * g.kdil[d] + 1, s = g.s[d];
      if (o.padding.mode == PaddingMode::explicit_pads) {
        pads.push_back(o.padding.pads[d]);
      } else if (o.padding.mode == PaddingMode::valid) {
        pads.emplace_back(k - 1, k + s - 2 + std::max<int64_t>(k - s, 0) - (k - 1));
      } else {
        const int64_t total = k + s - 2, lo = s > k - 1 ? k - 1 : (total + 1) / 2;
        pads.emplace_back(lo, total - lo);
      }
    }
    Geometry unit = g;
    unit.s.assign(g.nd, 1);
    b.node.shape = window_shape(b, b.in[0], unit, g.k, g.s, Padding(pads), o.channels, units);
    add_kernel_and_bias(b, o, kernel_shape(g.k, g.cin, units, o.channels), units);
    display(b, g, o, false, false);
    layers::ConvTransposeOptions c{g.s, o.padding, g.kdil, o.channels};
    b.node.forward = [c](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::conv_transpose(in[0], p.at("kernel"), param_or_none(p, "bias"), c);
    };
  });
  return detail::with_activation(m, o.activation);
}

Model depthwise_conv(const Model& x, int64_t multiplier, ConvLayerOptions o) {
  Model m = detail::make_node("depthwise_conv", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("channel_multiplier", multiplier).options(o).str();
    AXON_CHECK(multiplier > 0, b.who, "channel_multiplier must be positive, got {}", multiplier);
    check_no_groups(b, o);
    Geometry g = geometry(b, o);
    const int64_t cout = g.cin * multiplier;
    b.node.shape = window_shape(b, b.in[0], g, g.k, g.idil, o.padding, o.channels, cout);
    add_kernel_and_bias(b, o, kernel_shape(g.k, 1, cout, o.channels), cout);
    display(b, g, o, false, true);
    b.node.forward = [c = conv_options(g, o, 1)](const std::vector<Tensor>& in, const ParamMap& p,
                                                 ForwardContext&) {
      return layers::depthwise_conv(in[0], p.at("kernel"), param_or_none(p, "bias"), c);
    };
  });
  return detail::with_activation(m, o.activation);
}

namespace {

// Axon's separable convs: `nd` depthwise passes, pass i's kernel spanning spatial dim i only.
Model separable(const Model& x, int64_t multiplier, const ConvLayerOptions& o, int64_t nd) {
  const std::string op = nd == 2 ? "separable_conv2d" : "separable_conv3d";
  Model m = detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("channel_multiplier", multiplier).options(o).str();
    AXON_CHECK(b.in[0].size() == static_cast<size_t>(nd + 2), b.who, "input shape {} must have rank {}",
               to_string(b.in[0]), nd + 2);
    AXON_CHECK(multiplier > 0, b.who, "channel_multiplier must be positive, got {}", multiplier);
    check_no_groups(b, o);
    Geometry g = geometry(b, o);
    const int64_t cout = g.cin * multiplier;
    Shape shape = b.in[0];
    for (int64_t pass = 0; pass < nd; ++pass) {
      std::vector<int64_t> k(nd, 1);
      k[pass] = g.k[pass];
      const std::string suffix = fmt::format("_{}", pass + 1);
      add_kernel_and_bias(b, o, kernel_shape(k, 1, cout, o.channels), cout, suffix);
      shape = window_shape(b, shape, g, k, g.idil, o.padding, o.channels, cout);
    }
    b.node.shape = shape;
    display(b, g, o, false, true);
    b.node.forward = [c = conv_options(g, o, 1), nd](const std::vector<Tensor>& in, const ParamMap& p,
                                                     ForwardContext&) {
      auto k = [&](int i) { return p.at("kernel_" + std::to_string(i)); };
      auto bi = [&](int i) { return param_or_none(p, "bias_" + std::to_string(i)); };
      if (nd == 2) return layers::separable_conv2d(in[0], k(1), bi(1), k(2), bi(2), c);
      return layers::separable_conv3d(in[0], k(1), bi(1), k(2), bi(2), k(3), bi(3), c);
    };
  });
  return detail::with_activation(m, o.activation);
}

}  // namespace

Model separable_conv2d(const Model& x, int64_t multiplier, ConvLayerOptions o) {
  return separable(x, multiplier, o, 2);
}
Model separable_conv3d(const Model& x, int64_t multiplier, ConvLayerOptions o) {
  return separable(x, multiplier, o, 3);
}

#define AXON_LAYER_FORM(fn)                                                      \
  Layer fn(int64_t n, ConvLayerOptions o) {                                      \
    return detail::as_layer([=](const Model& x) { return fn(x, n, o); });        \
  }
AXON_LAYER_FORM(conv)
AXON_LAYER_FORM(conv_transpose)
AXON_LAYER_FORM(depthwise_conv)
AXON_LAYER_FORM(separable_conv2d)
AXON_LAYER_FORM(separable_conv3d)
#undef AXON_LAYER_FORM

}  // namespace axon
