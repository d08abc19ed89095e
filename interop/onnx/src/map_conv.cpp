// ONNX mappings of the conv family (Conv, ConvTranspose; depthwise and separable as grouped Conv)
// and the pools. axon's channels-last kernels are HWIO [k..., in, out]; ONNX's are OIHW.
#include <algorithm>
#include <axon/error.hpp>
#include <axon/ops.hpp>
#include <cmath>

#include "exporter.hpp"

namespace axon::onnx::detail {

namespace {

// The input's geometry as a conv / pool layer sees it.
struct Window {
  bool first = false;                  // the layer is channels first (its tensors are already NCHW)
  size_t nd = 0;                       // spatial dims
  Shape spatial;                       // input spatial sizes (-1 unknown)
  int64_t channels = -1;               // input channels
  std::string padding;                 // "valid", "same", or explicit (lo, hi) pairs
  std::vector<int64_t> explicit_pads;  // lo0, hi0, lo1, hi1, ...
};

Window window(const Exporter& ex, const LayerInfo& l) {
  Window w;
  w.first = ex.word(l, "channels") == "first";
  const Shape& x = ex.value(l.inputs[0]).shape;
  AXON_CHECK(x.size() >= 3, who(l), "input shape {} must have rank >= 3", to_string(x));
  w.nd = x.size() - 2;
  w.spatial.assign(x.begin() + (w.first ? 2 : 1), x.begin() + (w.first ? 2 : 1) + static_cast<std::ptrdiff_t>(w.nd));
  w.channels = w.first ? x[1] : x.back();
  w.padding = ex.word(l, "padding");
  if (w.padding != "same" && w.padding != "valid") w.explicit_pads = ex.option_list(l, "padding");
  return w;
}

Layout layout_of(const Window& w) { return w.first ? Layout::same : Layout::channels_first; }

// A per-dim option expanded to nd values (missing: `fallback`).
std::vector<int64_t> per_dim(const Exporter& ex, const LayerInfo& l, const std::string& key, size_t nd,
                             int64_t fallback) {
  auto v = ex.option_list(l, key);
  if (v.empty()) v.assign(nd, fallback);
  if (v.size() == 1) v.assign(nd, v[0]);
  AXON_CHECK(v.size() == nd, who(l), "option {} has {} values for {} spatial dims", key, v.size(), nd);
  return v;
}

// ONNX "pads" (all lows, then all highs) of a window op, as axon pads it (conv_geometry: same puts the
// odd element at the end); empty when a same-padded dim is unknown (then auto_pad SAME_UPPER).
std::vector<int64_t> pads(const LayerInfo& l, const Window& w, const std::vector<int64_t>& k,
                          const std::vector<int64_t>& s, const std::vector<int64_t>& dil) {
  std::vector<int64_t> lo(w.nd, 0), hi(w.nd, 0);
  for (size_t d = 0; d < w.nd; ++d) {
    if (w.padding == "same") {
      if (w.spatial[d] < 0) return {};
      const int64_t keff = (k[d] - 1) * dil[d] + 1, out = (w.spatial[d] + s[d] - 1) / s[d];
      const int64_t total = std::max<int64_t>((out - 1) * s[d] + keff - w.spatial[d], 0);
      lo[d] = total / 2;
      hi[d] = total - lo[d];
    } else if (!w.explicit_pads.empty()) {
      AXON_CHECK(w.explicit_pads.size() == 2 * w.nd, who(l), "padding {} does not give (lo, hi) for {} dims", w.padding,
                 w.nd);
      lo[d] = w.explicit_pads[2 * d];
      hi[d] = w.explicit_pads[2 * d + 1];
      AXON_CHECK(lo[d] >= 0 && hi[d] >= 0, who(l), "negative padding {} has no ONNX equivalent", w.padding);
    }
  }
  lo.insert(lo.end(), hi.begin(), hi.end());
  return lo;
}

void set_pads(::onnx::NodeProto& n, const std::vector<int64_t>& p) {
  if (p.empty())
    attr(n, "auto_pad", std::string("SAME_UPPER"));
  else
    attr(n, "pads", p);
}

// HWIO [k..., in, out] -> OIHW [out, in, k...].
Tensor oihw(const Tensor& k) {
  const int64_t r = k.dim();
  std::vector<int64_t> perm{r - 1, r - 2};
  for (int64_t i = 0; i + 2 < r; ++i) perm.push_back(i);
  return k.permute(perm).contiguous();
}

// One Conv node: kernel as the layer stores it (HWIO, or OIHW for a channels-first layer).
std::string conv_node(Exporter& ex, const LayerInfo& l, const Window& w, const std::string& x, const Tensor& kernel,
                      const std::string& bias, int64_t group, const std::string& hint) {
  const Tensor k = w.first ? kernel : oihw(kernel);
  std::vector<int64_t> ks(k.shape().begin() + 2, k.shape().end());
  const auto s = per_dim(ex, l, "strides", w.nd, 1);
  const auto dil = per_dim(ex, l, "kernel_dilation", w.nd, 1);
  const auto idil = per_dim(ex, l, "input_dilation", w.nd, 1);
  AXON_CHECK(std::all_of(idil.begin(), idil.end(), [](int64_t v) { return v == 1; }), who(l),
             "input_dilation {} has no ONNX Conv equivalent", ex.option(l, "input_dilation"));
  std::vector<std::string> in{x, ex.initializer(hint + ".kernel", k)};
  if (!bias.empty()) in.push_back(bias);
  const auto p = pads(l, w, ks, s, dil);
  return ex.op("Conv", in, hint, [&](::onnx::NodeProto& n) {
    attr(n, "kernel_shape", ks);
    attr(n, "strides", s);
    attr(n, "dilations", dil);
    attr(n, "group", group);
    set_pads(n, p);
  });
}

std::string bias_of(Exporter& ex, const LayerInfo& l, const std::string& name) {
  return ex.has_param(l, name) ? ex.initializer(l.name + "." + name, ex.param(l, name)) : std::string();
}

void conv(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  const int64_t group =
      l.op == "depthwise_conv" ? w.channels : static_cast<int64_t>(ex.option_number(l, "feature_group_size", 1));
  const std::string x = ex.input(l, 0, layout_of(w));
  ex.set_output(l, conv_node(ex, l, w, x, ex.param(l, "kernel"), bias_of(ex, l, "bias"), group, l.name), layout_of(w));
}

// Axon's separable convs: one depthwise pass per spatial dim, the first grouped by the input
// channels, the next ones by their own (channel multiplier 1).
void separable(Exporter& ex, const LayerInfo& l) {
  Window w = window(ex, l);
  std::string y = ex.input(l, 0, layout_of(w));
  for (size_t pass = 1; pass <= w.nd; ++pass) {
    const std::string sfx = fmt::format("_{}", pass);
    const Tensor k = ex.param(l, "kernel" + sfx);
    const int64_t group = w.channels;
    y = conv_node(ex, l, w, y, k, bias_of(ex, l, "bias" + sfx), group, pass == w.nd ? l.name : l.name + "/pass" + sfx);
    // The next pass sees this one's output.
    w.channels = w.first ? k.shape()[0] : k.shape().back();
    const auto s = per_dim(ex, l, "strides", w.nd, 1);
    const auto dil = per_dim(ex, l, "kernel_dilation", w.nd, 1);
    const auto p = pads(l, w,
                        std::vector<int64_t>(w.first ? k.shape().begin() + 2 : k.shape().begin(),
                                             w.first ? k.shape().end() : k.shape().end() - 2),
                        s, dil);
    for (size_t d = 0; d < w.nd; ++d) {
      if (w.spatial[d] < 0) continue;
      const int64_t kd = w.first ? k.shape()[2 + d] : k.shape()[d], keff = (kd - 1) * dil[d] + 1;
      w.spatial[d] =
          p.empty() ? (w.spatial[d] + s[d] - 1) / s[d] : (w.spatial[d] + p[d] + p[w.nd + d] - keff) / s[d] + 1;
    }
  }
  ex.set_output(l, y, layout_of(w));
}

// axon's conv_transpose is a conv over the input dilated by the strides, kernel as stored (not
// flipped), with pads (lo, hi) per dim; ONNX's ConvTranspose is that with the kernel flipped and
// pads keff - 1 - lo, keff - 1 - hi (a negative high pad becomes output_padding).
void conv_transpose(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  const Tensor k = ex.param(l, "kernel");
  const size_t nd = w.nd;
  // [in, out, k...] with the window reversed, from HWIO [k..., in, out] or OIHW-stored [out, in, k...].
  const int64_t r = k.dim();
  std::vector<int64_t> perm = w.first ? std::vector<int64_t>{1, 0} : std::vector<int64_t>{r - 2, r - 1};
  for (int64_t a = 0; a < r - 2; ++a) perm.push_back(w.first ? a + 2 : a);
  Tensor weight = k.permute(perm);
  for (int64_t a = 2; a < r; ++a) weight = index_select(weight, a, arange(weight.shape()[a] - 1, -1, -1, DType::i64));
  weight = weight.contiguous();
  const std::vector<int64_t> win(weight.shape().begin() + 2, weight.shape().end());

  const auto s = per_dim(ex, l, "strides", nd, 1);
  const auto dil = per_dim(ex, l, "kernel_dilation", nd, 1);
  std::vector<int64_t> p(2 * nd, 0), out_pad(nd, 0);
  for (size_t d = 0; d < nd; ++d) {
    const int64_t keff = (win[d] - 1) * dil[d] + 1;
    int64_t lo, hi;  // the conv's pads over the dilated input (layers::conv_transpose)
    if (!w.explicit_pads.empty()) {
      lo = w.explicit_pads[2 * d];
      hi = w.explicit_pads[2 * d + 1];
    } else if (w.padding == "valid") {
      lo = keff - 1;
      hi = keff + s[d] - 2 + std::max<int64_t>(keff - s[d], 0) - (keff - 1);
    } else {
      const int64_t total = keff + s[d] - 2;
      lo = s[d] > keff - 1 ? keff - 1 : (total + 1) / 2;
      hi = total - lo;
    }
    AXON_CHECK(lo <= keff - 1, who(l), "padding {} is wider than the kernel window {}: no ONNX ConvTranspose pads",
               w.padding, keff);
    p[d] = keff - 1 - lo;
    p[nd + d] = std::max<int64_t>(keff - 1 - hi, 0);
    out_pad[d] = std::max<int64_t>(hi - (keff - 1), 0);
    AXON_CHECK(out_pad[d] < std::max(s[d], dil[d]), who(l),
               "padding {} needs output_padding {} >= the stride {}: no ONNX ConvTranspose equivalent", w.padding,
               out_pad[d], s[d]);
  }
  std::vector<std::string> in{ex.input(l, 0, layout_of(w)), ex.initializer(l.name + ".kernel", weight)};
  const std::string b = bias_of(ex, l, "bias");
  if (!b.empty()) in.push_back(b);
  ex.set_output(l,
                ex.op("ConvTranspose", in, l.name,
                      [&](::onnx::NodeProto& n) {
                        attr(n, "kernel_shape", win);
                        attr(n, "strides", s);
                        attr(n, "dilations", dil);
                        attr(n, "pads", p);
                        attr(n, "output_padding", out_pad);
                      }),
                layout_of(w));
}

// lp pools: ONNX's LpPool takes |x|^p with an integer p; axon's x^p agrees for even p.
int64_t lp_norm(const Exporter& ex, const LayerInfo& l) {
  const double p = ex.option_number(l, "norm", 2);
  AXON_CHECK(p > 0 && p == std::floor(p) && static_cast<int64_t>(p) % 2 == 0, who(l),
             "norm {} has no ONNX LpPool equivalent (an even integer has)", p);
  return static_cast<int64_t>(p);
}

const char* pool_op(const std::string& op) {
  if (op.find("max") != std::string::npos) return "MaxPool";
  if (op.find("avg") != std::string::npos) return "AveragePool";
  return "LpPool";
}

void pool_node(Exporter& ex, const LayerInfo& l, const Window& w, const std::vector<int64_t>& k,
               const std::vector<int64_t>& s, const std::vector<int64_t>& dil) {
  const std::string op = pool_op(l.op);
  const auto p = pads(l, w, k, s, dil);
  const bool unit_dil = std::all_of(dil.begin(), dil.end(), [](int64_t v) { return v == 1; });
  AXON_CHECK(op == "MaxPool" || unit_dil, who(l), "window_dilations {} have no ONNX {} equivalent",
             ex.option(l, "window_dilations"), op);
  const std::string x = ex.input(l, 0, layout_of(w));
  ex.set_output(l,
                ex.op(op, {x}, l.name,
                      [&](::onnx::NodeProto& n) {
                        attr(n, "kernel_shape", k);
                        attr(n, "strides", s);
                        set_pads(n, p);
                        if (op == "MaxPool") attr(n, "dilations", dil);
                        if (op == "AveragePool")
                          attr(n, "count_include_pad", int64_t{1});  // axon divides by the window size
                        if (op == "LpPool") attr(n, "p", lp_norm(ex, l));
                      }),
                layout_of(w));
}

void window_pool(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  pool_node(ex, l, w, per_dim(ex, l, "kernel_size", w.nd, 1), per_dim(ex, l, "strides", w.nd, 1),
            per_dim(ex, l, "window_dilations", w.nd, 1));
}

// Adaptive pools are window pools with stride in / out and kernel in - (out - 1) stride.
void adaptive_pool(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  const auto os = per_dim(ex, l, "output_size", w.nd, 1);
  std::vector<int64_t> k(w.nd), s(w.nd);
  for (size_t d = 0; d < w.nd; ++d) {
    AXON_CHECK(w.spatial[d] > 0, who(l), "needs the spatial dims known to export");
    s[d] = w.spatial[d] / os[d];
    k[d] = w.spatial[d] - (os[d] - 1) * s[d];
  }
  pool_node(ex, l, w, k, s, std::vector<int64_t>(w.nd, 1));
}

void global_pool(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  const std::string op = std::string("Global") + pool_op(l.op);
  const std::string x = ex.input(l, 0, layout_of(w));
  const bool keep = ex.word(l, "keep_axes") == "true";
  std::string y = ex.op(op, {x}, keep ? l.name : l.name + "/keep", [&](::onnx::NodeProto& n) {
    if (op == "GlobalLpPool") attr(n, "p", lp_norm(ex, l));
  });
  if (!keep) {
    std::vector<int64_t> axes;
    for (size_t d = 0; d < w.nd; ++d) axes.push_back(static_cast<int64_t>(2 + d));
    y = ex.op("Squeeze", {y, ex.const_i64(axes, l.name + "/axes")}, l.name);
  }
  // [N, C, 1...] is axon's [N, 1..., C] channels first; squeezed it is [N, C] either way.
  ex.set_output(l, y, layout_of(w));
}

// layers::blur_pool: [1, 2, 1] x [1, 2, 1] / 16 per channel, zero padding 1, stride 1: a depthwise Conv.
void blur_pool(Exporter& ex, const LayerInfo& l) {
  const Window w = window(ex, l);
  AXON_CHECK(w.channels > 0, who(l), "needs the channel dim known to export");
  const std::vector<float> taps{1, 2, 1, 2, 4, 2, 1, 2, 1};
  std::vector<float> k;
  for (int64_t c = 0; c < w.channels; ++c)
    for (float t : taps) k.push_back(t / 16.0f);
  const std::string x = ex.input(l, 0, layout_of(w));
  const std::string weight = ex.initializer(l.name + ".kernel", from_vector(k, {w.channels, 1, 3, 3}));
  ex.set_output(l,
                ex.op("Conv", {x, weight}, l.name,
                      [&](::onnx::NodeProto& n) {
                        attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
                        attr(n, "group", w.channels);
                        attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
                      }),
                layout_of(w));
}

}  // namespace

void add_conv_mappings(Mappings& m) {
  m.insert({{"conv", conv}, {"depthwise_conv", conv}, {"separable_conv2d", separable}, {"separable_conv3d", separable},
            {"conv_transpose", conv_transpose}, {"blur_pool", blur_pool}});
  for (const char* p : {"max_pool", "avg_pool", "lp_pool"}) m[p] = window_pool;
  for (const char* p : {"adaptive_avg_pool", "adaptive_max_pool", "adaptive_lp_pool"}) m[p] = adaptive_pool;
  for (const char* p : {"global_avg_pool", "global_max_pool", "global_lp_pool"}) m[p] = global_pool;
}

}  // namespace axon::onnx::detail
