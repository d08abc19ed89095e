#pragma once
// Convolution layers (Axon.Layers), functional: each takes its parameters as tensors.
// Layouts, padding and dilation semantics are those of axon::conv (<axon/conv.hpp>): channels last
// by default (input [N, D..., C], kernel [K..., C/G, Cout]); channels first takes [N, C, D...] and
// kernels [Cout, C/G, K...]. A bias of shape [Cout] is added along the channel axis; an undefined
// Tensor means no bias (Axon's default 0). Every conv is one tape entry (plus one for the bias add).
#include <axon/conv.hpp>
#include <axon/tensor.hpp>
#include <vector>

namespace axon::layers {

// conv(input, kernel, bias; strides 1, padding valid, input_dilation 1, kernel_dilation 1,
// feature_group_size 1, channels last). (Axon's batch_group_size is not offered.)
// With an activation, act(conv + bias) runs as one fused_conv (<axon/conv.hpp>): one tape entry.
Tensor conv(const Tensor& input, const Tensor& kernel, const Tensor& bias = Tensor(),
            const ConvOptions& options = {}, FusedActivation activation = FusedActivation::none);

struct ConvTransposeOptions {
  std::vector<int64_t> strides;
  Padding padding;
  std::vector<int64_t> kernel_dilation;
  Channels channels = Channels::last;
};
// Axon's conv_transpose: a conv with input_dilation = strides and unit strides, padded per dim
// (effective kernel k = (K - 1) * kernel_dilation + 1, stride s):
//   valid: (k - 1, k + s - 2 + max(k - s, 0) - (k - 1))   -> output in * s + max(k - s, 0)
//   same:  total k + s - 2, lo = s > k - 1 ? k - 1 : ceil(total / 2), hi = total - lo -> output in * s
//   explicit pairs are passed to the conv as they are.
// The kernel has conv's layout ([K..., Cin, Cout] for channels last) and is used as it is, not
// flipped nor with in/out swapped as in PyTorch's ConvTranspose (whose weight w_pt[Cin, Cout, K...]
// corresponds to this kernel flipped spatially).
Tensor conv_transpose(const Tensor& input, const Tensor& kernel, const Tensor& bias = Tensor(),
                      const ConvTransposeOptions& options = {});

// Depthwise: conv with feature_group_size = input channels (options.feature_group_size is ignored).
// Kernel [K..., 1, C * multiplier] (channels last) or [C * multiplier, 1, K...] (channels first).
Tensor depthwise_conv(const Tensor& input, const Tensor& kernel, const Tensor& bias = Tensor(),
                      const ConvOptions& options = {});

// Axon's separable convolutions: depthwise(k1, b1) then depthwise(k2, b2) (then depthwise(k3, b3)),
// each with the same options; the kernels factor the window per spatial dim (e.g. [k, 1, 1, C*m] and
// [1, k, 1, C*m*m] channels last). There is no pointwise conv, as in Axon.
Tensor separable_conv2d(const Tensor& input, const Tensor& k1, const Tensor& b1, const Tensor& k2,
                        const Tensor& b2, const ConvOptions& options = {});
Tensor separable_conv3d(const Tensor& input, const Tensor& k1, const Tensor& b1, const Tensor& k2,
                        const Tensor& b2, const Tensor& k3, const Tensor& b3,
                        const ConvOptions& options = {});

}  // namespace axon::layers
