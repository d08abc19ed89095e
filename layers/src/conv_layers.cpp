// The Axon convolution layers on top of axon::conv: bias, conv_transpose's padding rules, depthwise
// and separable compositions.
#include <algorithm>
#include <axon/layers/conv.hpp>
#include <axon/ops.hpp>

namespace axon::layers {

namespace {

Tensor add_bias(const Tensor& y, const Tensor& bias, Channels ch, const char* op) {
  if (!bias.defined()) return y;
  const int64_t cout = ch == Channels::last ? y.shape().back() : y.shape()[1];
  AXON_CHECK(bias.dim() == 1 && bias.shape()[0] == cout, op, "bias {} must have shape [{}] for output {}",
             describe(bias), cout, describe(y));
  if (ch == Channels::last) return add(y, bias);
  Shape s(static_cast<size_t>(y.dim() - 1), 1);
  s[0] = cout;
  return add(y, bias.reshape(s));
}

int64_t channel_count(const Tensor& input, Channels ch, const char* op) {
  AXON_CHECK(input.defined(), op, "input is undefined");
  AXON_CHECK(input.dim() >= 3, op, "input {} must have rank 3, 4 or 5 (batch, spatial dims, channels)",
             describe(input));
  return ch == Channels::last ? input.shape().back() : input.shape()[1];
}

std::vector<int64_t> per_dim(const std::vector<int64_t>& v, int64_t nd) {
  if (v.empty()) return std::vector<int64_t>(static_cast<size_t>(nd), 1);
  if (v.size() == 1) return std::vector<int64_t>(static_cast<size_t>(nd), v[0]);
  return v;
}

}  // namespace

Tensor conv(const Tensor& input, const Tensor& kernel, const Tensor& bias, const ConvOptions& options,
            FusedActivation activation) {
  if (activation != FusedActivation::none) return fused_conv(input, kernel, bias, options, activation, "conv");
  return add_bias(axon::conv(input, kernel, options, "conv"), bias, options.channels, "conv");
}

Tensor conv_transpose(const Tensor& input, const Tensor& kernel, const Tensor& bias,
                      const ConvTransposeOptions& o) {
  const char* op = "conv_transpose";
  channel_count(input, o.channels, op);
  AXON_CHECK(kernel.defined(), op, "kernel is undefined");
  AXON_CHECK(kernel.dim() == input.dim(), op, "kernel {} must have the input's rank {} (input {})",
             describe(kernel), input.dim(), describe(input));
  const int64_t nd = input.dim() - 2;
  const auto strides = per_dim(o.strides, nd);
  const auto kdil = per_dim(o.kernel_dilation, nd);
  AXON_CHECK(static_cast<int64_t>(strides.size()) == nd && static_cast<int64_t>(kdil.size()) == nd, op,
             "strides and kernel_dilation need 1 or {} values for input {}", nd, describe(input));
  ConvOptions c;
  c.strides = {1};
  c.input_dilation = strides;
  c.kernel_dilation = kdil;
  c.channels = o.channels;
  if (o.padding.mode == PaddingMode::explicit_pads) {
    c.padding = o.padding;
  } else {
    std::vector<std::pair<int64_t, int64_t>> pads;
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t kd = o.channels == Channels::last ? kernel.shape()[d] : kernel.shape()[2 + d];
      AXON_CHECK(strides[d] >= 1 && kdil[d] >= 1 && kd >= 1, op,
                 "strides and kernel_dilation must be positive and kernel {} non-empty", describe(kernel));
      const int64_t k = (kd - 1) * kdil[d] + 1, s = strides[d];
      if (o.padding.mode == PaddingMode::valid) {
        pads.emplace_back(k - 1, k + s - 2 + std::max<int64_t>(k - s, 0) - (k - 1));
      } else {
        const int64_t total = k + s - 2;
        const int64_t lo = s > k - 1 ? k - 1 : (total + 1) / 2;
        pads.emplace_back(lo, total - lo);
      }
    }
    c.padding = Padding(pads);
  }
  return add_bias(axon::conv(input, kernel, c, op), bias, o.channels, op);
}

Tensor depthwise_conv(const Tensor& input, const Tensor& kernel, const Tensor& bias,
                      const ConvOptions& options) {
  const char* op = "depthwise_conv";
  ConvOptions c = options;
  c.feature_group_size = std::max<int64_t>(channel_count(input, options.channels, op), 1);
  return add_bias(axon::conv(input, kernel, c, op), bias, options.channels, op);
}

Tensor separable_conv2d(const Tensor& input, const Tensor& k1, const Tensor& b1, const Tensor& k2,
                        const Tensor& b2, const ConvOptions& options) {
  AXON_CHECK(input.defined() && input.dim() == 4, "separable_conv2d", "input {} must have rank 4",
             input.defined() ? describe(input) : std::string("(undefined)"));
  return depthwise_conv(depthwise_conv(input, k1, b1, options), k2, b2, options);
}

Tensor separable_conv3d(const Tensor& input, const Tensor& k1, const Tensor& b1, const Tensor& k2,
                        const Tensor& b2, const Tensor& k3, const Tensor& b3, const ConvOptions& options) {
  AXON_CHECK(input.defined() && input.dim() == 5, "separable_conv3d", "input {} must have rank 5",
             input.defined() ? describe(input) : std::string("(undefined)"));
  return depthwise_conv(depthwise_conv(depthwise_conv(input, k1, b1, options), k2, b2, options), k3, b3,
                        options);
}

}  // namespace axon::layers
