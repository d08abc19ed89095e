// Convolution, pooling and normalization operators of onnx::import_model, channels first as ONNX
// has them (axon's conv, pool and norm functions take the channel axis as an option).
#include <algorithm>

#include <axon/conv.hpp>
#include <axon/error.hpp>
#include <axon/layers/normalization.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Outs = std::vector<Tensor>;
using Pads = std::vector<std::pair<int64_t, int64_t>>;

// The window attributes Conv, MaxPool and AveragePool share; per-dim lists resolved against the
// input's spatial rank at run time.
struct Window {
  std::string auto_pad;
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool ceil_mode = false;

  explicit Window(const Attrs& a)
      : auto_pad(a.s("auto_pad", "NOTSET")),
        kernel(a.ints("kernel_shape")),
        strides(a.ints("strides")),
        dilations(a.ints("dilations")),
        pads(a.ints("pads")),
        ceil_mode(a.i("ceil_mode", 0) != 0) {
    AXON_CHECK(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER",
               kImport, "{}: auto_pad \"{}\" is unknown", a.who(), auto_pad);
  }

  static std::vector<int64_t> per_dim(const std::vector<int64_t>& v, size_t n, int64_t fallback, const char* what,
                                      const std::string& who) {
    if (v.empty()) return std::vector<int64_t>(n, fallback);
    AXON_CHECK(v.size() == n, kImport, "{}: {} has {} values for {} spatial dims", who, what, v.size(), n);
    for (int64_t x : v) AXON_CHECK(x >= 1, kImport, "{}: {} must be positive, got {}", who, what, to_string(v));
    return v;
  }

  // Resolved per spatial dim for input x [N, C, spatial...] and kernel sizes k.
  struct Resolved {
    std::vector<int64_t> kernel, strides, dilations;
    Pads pads;                   // (lo, hi) per spatial dim, ceil_mode's extra cells included in hi
    std::vector<int64_t> extra;  // ceil_mode's extra cells at the high end
  };
  Resolved resolve(const Tensor& x, std::vector<int64_t> k, const std::string& who) const {
    AXON_CHECK(x.dim() >= 3, kImport, "{}: the input must be [N, C, spatial...], got {}", who, describe(x));
    const size_t n = static_cast<size_t>(x.dim() - 2);
    Resolved r;
    r.kernel = per_dim(k, n, 1, "kernel_shape", who);
    r.strides = per_dim(strides, n, 1, "strides", who);
    r.dilations = per_dim(dilations, n, 1, "dilations", who);
    if (!pads.empty()) AXON_CHECK(pads.size() == 2 * n, kImport, "{}: pads has {} values for {} spatial dims", who, pads.size(), n);
    for (size_t d = 0; d < n; ++d) {
      const int64_t in = x.shape()[d + 2], eff = (r.kernel[d] - 1) * r.dilations[d] + 1;
      int64_t lo = 0, hi = 0;
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const int64_t out = (in + r.strides[d] - 1) / r.strides[d];
        const int64_t total = std::max<int64_t>((out - 1) * r.strides[d] + eff - in, 0);
        lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        hi = total - lo;
      } else if (auto_pad == "NOTSET" && !pads.empty()) {
        lo = pads[d];
        hi = pads[d + n];
        AXON_CHECK(lo >= 0 && hi >= 0, kImport, "{}: negative pads {} are not supported", who, to_string(pads));
      }
      if (ceil_mode) {  // PyTorch's rule: the last window must start inside the input or the low padding
        const int64_t span = in + lo + hi - eff;
        int64_t out = (span + r.strides[d] - 1) / r.strides[d] + 1;
        if ((out - 1) * r.strides[d] >= in + lo) --out;
        r.extra.push_back(std::max<int64_t>(0, (out - 1) * r.strides[d] + eff - (in + lo + hi)));
      } else {
        r.extra.push_back(0);
      }
      r.pads.emplace_back(lo, hi + r.extra.back());
    }
    Shape padded(x.shape().begin(), x.shape().begin() + 2);
    for (size_t d = 0; d < n; ++d) {
      AXON_CHECK(r.pads[d].first <= kMaxElements && r.pads[d].second <= kMaxElements, kImport, "{}: pads are too large", who);
      padded.push_back(x.shape()[d + 2] + r.pads[d].first + r.pads[d].second);
    }
    checked_shape(padded, who);
    return r;
  }
};

// Conv's and ConvTranspose's optional bias B [M], added along axis 1.
Tensor with_channel_bias(const Tensor& y, const Tensor& b) {
  if (!b.defined()) return y;
  Shape bs(y.dim(), 1);
  bs[1] = b.numel();
  return add(y, reshape(b, bs));
}

// The spatial axes 2.. of x [N, C, spatial...] (the global pools').
Axes spatial_axes(const Tensor& x, const std::string& who) {
  AXON_CHECK(x.dim() >= 3, kImport, "{}: the input must be [N, C, spatial...], got {}", who, describe(x));
  Axes axes;
  for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
  return axes;
}

OpImpl make_conv(const Attrs& a) {
  const Window w(a);
  const int64_t group = a.i("group", 1);
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const Tensor& k = input(in, 1, who, "W");
    AXON_CHECK(k.dim() == x.dim(), kImport, "{}: W {} does not fit X {}", who, describe(k), describe(x));
    const Window::Resolved r = w.resolve(x, w.kernel.empty() ? Shape(k.shape().begin() + 2, k.shape().end()) : w.kernel, who);
    const Tensor y = conv(x, k,
                    {.strides = r.strides, .padding = Padding(r.pads), .input_dilation = {}, .kernel_dilation = r.dilations,
                     .feature_group_size = group, .channels = Channels::first},
                    "Conv");
    return {with_channel_bias(y, optional_input(in, 2))};
  }};
}

OpImpl make_max_pool(const Attrs& a) {
  const Window w(a);
  AXON_CHECK(!w.kernel.empty(), kImport, "{}: kernel_shape is required", a.who());
  a.unsupported_unless("storage_order", 0);
  AXON_CHECK(a.num_outputs() == 1, kImport, "{}: the Indices output is not supported", a.who());
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const Window::Resolved r = w.resolve(x, w.kernel, who);
    return {layers::max_pool(x, {.kernel_size = r.kernel, .strides = r.strides, .padding = Padding(r.pads),
                                 .window_dilations = r.dilations, .channels = Channels::first})};
  }};
}

// Window sums over x padded with zeros divided by the number of cells that count (the input's, and
// the explicit padding's with count_include_pad): exact for every padding and ceil_mode.
OpImpl make_avg_pool(const Attrs& a) {
  const Window w(a);
  AXON_CHECK(!w.kernel.empty(), kImport, "{}: kernel_shape is required", a.who());
  const bool include_pad = a.i("count_include_pad", 0) != 0;
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const Window::Resolved r = w.resolve(x, w.kernel, who);
    Pads all{{0, 0}, {0, 0}}, explicit_pads{{0, 0}, {0, 0}}, extra{{0, 0}, {0, 0}};
    for (size_t d = 0; d < r.pads.size(); ++d) {
      all.push_back(r.pads[d]);
      explicit_pads.emplace_back(r.pads[d].first, r.pads[d].second - r.extra[d]);
      extra.emplace_back(0, r.extra[d]);
    }
    const layers::PoolOptions o{
        .kernel_size = r.kernel, .strides = r.strides, .padding = {}, .window_dilations = {}, .channels = Channels::first};
    const Tensor sums = layers::avg_pool(pad(x, all), o);
    Shape one(x.dim(), 1);
    for (int64_t d = 2; d < x.dim(); ++d) one[d] = x.shape()[d];
    Tensor mask = ones(one, x.dtype(), x.device());
    mask = include_pad ? pad(pad(mask, explicit_pads, 1), extra) : pad(mask, all);
    const Tensor counts = layers::avg_pool(mask, o);
    return {div(sums, counts)};
  }};
}

OpFactory global_pool(bool average) {
  return [average](const Attrs& a) -> OpImpl {
    return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
      const Tensor& x = input(in, 0, who, "X");
      return {average ? mean(x, spatial_axes(x, who), true) : max(x, spatial_axes(x, who), true)};
    }};
  };
}

OpImpl make_batch_norm(const Attrs& a) {
  const double eps = a.f("epsilon", 1e-5f), momentum = a.f("momentum", 0.9f);
  AXON_CHECK(a.num_outputs() == 1, kImport,
             "{}: the running-statistics outputs (training_mode) are not supported: axon updates them itself in train mode",
             a.who());
  OpImpl impl{[=, who = a.who()](const Outs& in, OpRun& run) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    AXON_CHECK(x.dim() >= 2, kImport, "{}: the input must be [N, C, ...], got {}", who, describe(x));
    // ONNX's momentum weighs the running value (0.9), PyTorch's the batch's (0.1).
    const layers::BatchNormOptions o{.epsilon = eps, .channel_index = 1, .momentum = 1 - momentum,
                                     .training = run.training};
    layers::BatchNormResult r = layers::batch_norm(x, input(in, 1, who, "scale"), input(in, 2, who, "B"),
                                                   input(in, 3, who, "input_mean"), input(in, 4, who, "input_var"), o);
    if (run.training) {
      run.new_state[3] = r.running_mean;
      run.new_state[4] = r.running_var;
    }
    return {r.output};
  }};
  impl.state_slots = {3, 4};
  return impl;
}

// Statistics over the axes from `axis` on: those axes are flattened into one for axon's layer_norm.
OpImpl make_layer_norm(const Attrs& a) {
  const int64_t axis = a.i("axis", -1);
  const double eps = a.f("epsilon", 1e-5f);
  AXON_CHECK(a.num_outputs() == 1, kImport, "{}: the Mean and InvStdDev outputs are not supported", a.who());
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const int64_t ax = norm_axis(axis, x.dim(), who);
    const Shape& s = x.shape();
    Shape flat(s.begin(), s.begin() + ax);
    int64_t inner = 1;
    for (int64_t d = ax; d < x.dim(); ++d) inner *= s[d];
    flat.push_back(inner);
    auto flat1 = [&](const Tensor& t) { return t.defined() ? reshape(t, {inner}) : t; };
    const Tensor y = layers::layer_norm(reshape(x, flat), flat1(input(in, 1, who, "Scale")), flat1(optional_input(in, 2)),
                                        {.epsilon = eps, .channel_index = -1});
    return {reshape(y, s)};
  }};
}

OpImpl make_instance_norm(const Attrs& a) {
  const double eps = a.f("epsilon", 1e-5f);
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    return {layers::instance_norm(input(in, 0, who, "X"), input(in, 1, who, "scale"), input(in, 2, who, "B"), {}, {},
                                  {.epsilon = eps, .channel_index = 1})
                .output};
  }};
}

// Pad (opset 11+), constant mode: pads [x1_begin, x2_begin, ..., x1_end, ...] and a value input.
OpImpl make_pad(const Attrs& a) {
  const std::string mode = a.s("mode", "constant");
  AXON_CHECK(mode == "constant", kImport, "{}: mode \"{}\" is not supported (constant only)", a.who(), mode);
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "data");
    const std::vector<int64_t> p = int_values(input(in, 1, who, "pads"), who, "pads");
    AXON_CHECK(optional_input(in, 3).defined() == false, kImport, "{}: the axes input is not supported", who);
    AXON_CHECK(static_cast<int64_t>(p.size()) == 2 * x.dim(), kImport, "{}: pads has {} values for {}", who, p.size(),
               describe(x));
    Pads pads;
    Shape padded;
    for (int64_t d = 0; d < x.dim(); ++d) {
      AXON_CHECK(p[d] >= 0 && p[d + x.dim()] >= 0 && p[d] <= kMaxElements && p[d + x.dim()] <= kMaxElements, kImport,
                 "{}: pads {} are negative or too large", who, to_string(p));
      pads.emplace_back(p[d], p[d + x.dim()]);
      padded.push_back(x.shape()[d] + p[d] + p[d + x.dim()]);
    }
    checked_shape(padded, who);
    const Tensor v = optional_input(in, 2);
    const double value = v.defined() ? cast(v, DType::f64).to(Device::cpu()).reshape({}).item<double>() : 0.0;
    return {pad(x, pads, value)};
  }};
}

// ConvTranspose is the gradient of Conv with respect to its input, W [C, M / group, k...] being that
// Conv's OIHW kernel: conv_backward_data for the output size (in - 1) s - pads + (k - 1) d + 1 + output_padding.
OpImpl make_conv_transpose(const Attrs& a) {
  const Window w(a);
  AXON_CHECK(w.auto_pad == "NOTSET" || w.auto_pad == "VALID", kImport, "{}: auto_pad {} is not supported", a.who(),
             w.auto_pad);
  AXON_CHECK(!a.has("output_shape"), kImport, "{}: output_shape is not supported (give pads and output_padding)", a.who());
  const int64_t group = a.i("group", 1);
  const std::vector<int64_t> out_pad = a.ints("output_padding");
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const Tensor& k = input(in, 1, who, "W");
    AXON_CHECK(k.dim() == x.dim() && k.shape()[0] == x.shape()[1], kImport, "{}: W {} does not fit X {}", who,
               describe(k), describe(x));
    const Window::Resolved r = w.resolve(x, w.kernel.empty() ? Shape(k.shape().begin() + 2, k.shape().end()) : w.kernel, who);
    const size_t n = r.kernel.size();
    AXON_CHECK(out_pad.empty() || out_pad.size() == n, kImport, "{}: output_padding has {} values for {} spatial dims",
               who, out_pad.size(), n);
    Shape out{x.shape()[0], k.shape()[1] * group};
    for (size_t d = 0; d < n; ++d) {
      const int64_t op = out_pad.empty() ? 0 : out_pad[d];
      AXON_CHECK(op >= 0 && op < std::max(r.strides[d], r.dilations[d]), kImport, "{}: output_padding {} is out of range", who,
                 to_string(out_pad));
      out.push_back((x.shape()[d + 2] - 1) * r.strides[d] - r.pads[d].first - r.pads[d].second +
                    (r.kernel[d] - 1) * r.dilations[d] + 1 + op);
      AXON_CHECK(out.back() > 0, kImport, "{}: the output would be empty", who);
    }
    checked_shape(out, who);
    const Tensor y = conv_backward_data(x, k, out,
                                  {.strides = r.strides, .padding = Padding(r.pads), .input_dilation = {},
                                   .kernel_dilation = r.dilations, .feature_group_size = group,
                                   .channels = Channels::first});
    return {with_channel_bias(y, optional_input(in, 2))};
  }};
}

// LpPool: (sum over the window of |x|^p)^(1/p), padding cells 0; GlobalLpPool over all spatial axes.
OpImpl make_lp_pool(const Attrs& a) {
  const Window w(a);
  AXON_CHECK(!w.kernel.empty(), kImport, "{}: kernel_shape is required", a.who());
  const double p = static_cast<double>(a.i("p", 2));
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    const Window::Resolved r = w.resolve(x, w.kernel, who);
    Pads all{{0, 0}, {0, 0}};
    all.insert(all.end(), r.pads.begin(), r.pads.end());
    double cells = 1;
    for (int64_t k : r.kernel) cells *= static_cast<double>(k);
    const Tensor means = layers::avg_pool(
        pad(pow(abs(x), p), all),
        {.kernel_size = r.kernel, .strides = r.strides, .padding = {}, .window_dilations = {}, .channels = Channels::first});
    return {pow(mul(means, cells), 1.0 / p)};
  }};
}
OpImpl make_global_lp_pool(const Attrs& a) {
  const double p = static_cast<double>(a.i("p", 2));
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "X");
    return {pow(sum(pow(abs(x), p), spatial_axes(x, who), true), 1.0 / p)};
  }};
}

}  // namespace

void add_nn_ops(std::map<std::string, OpFactory>& ops) {
  ops["Conv"] = make_conv;
  ops["ConvTranspose"] = make_conv_transpose;
  ops["MaxPool"] = make_max_pool;
  ops["LpPool"] = make_lp_pool;
  ops["GlobalLpPool"] = make_global_lp_pool;
  ops["AveragePool"] = make_avg_pool;
  ops["GlobalAveragePool"] = global_pool(true);
  ops["GlobalMaxPool"] = global_pool(false);
  ops["BatchNormalization"] = make_batch_norm;
  ops["LayerNormalization"] = make_layer_norm;
  ops["InstanceNormalization"] = make_instance_norm;
  ops["Pad"] = make_pad;
}

}  // namespace axon::onnx::detail
