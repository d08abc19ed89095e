#pragma once
// Shape layers and combinators (Axon.Layers).
#include <axon/conv.hpp>
#include <axon/tensor.hpp>
#include <cstdint>
#include <utility>
#include <vector>

namespace axon::layers {

// Channels (last: NHWC, Axon's default; first: NCHW) and Padding (valid / same / explicit (lo, hi)
// per spatial axis, Nx/XLA semantics) are axon::Channels and axon::Padding from <axon/conv.hpp>,
// shared with the convolution layers.
using axon::Channels;
using axon::Padding;
using axon::PaddingMode;

// [batch, rest...] -> [batch, prod(rest)].
Tensor flatten(const Tensor& x);
// Reshapes every axis but the batch: out = [x.shape[0]] + shape (shape may hold one -1).
Tensor reshape(const Tensor& x, const Shape& shape);
// Permutes the axes (all of them; empty = reverse them all, as Nx.transpose).
Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes = {});
// Pads the spatial axes with a constant: pads {lo, hi} per spatial axis (negative crops).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, double value = 0,
           Channels channels = Channels::last);
// Elementwise over several inputs with broadcasting (at least one input).
Tensor add(const std::vector<Tensor>& xs);
Tensor subtract(const std::vector<Tensor>& xs);  // xs[0] - xs[1] - ...
Tensor multiply(const std::vector<Tensor>& xs);
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis = -1);
// `splits` equal parts along axis (which must divide its size).
std::vector<Tensor> split(const Tensor& x, int64_t splits, int64_t axis = -1);

enum class ResizeMethod { nearest, bilinear, bicubic, lanczos3, lanczos5 };
struct ResizeOptions {
  std::vector<int64_t> size;  // required: the output's spatial size (2 values)
  ResizeMethod method = ResizeMethod::nearest;
  bool antialias = true;  // widen the kernel by in/out when downsampling (not for nearest)
  Channels channels = Channels::last;
};
// Rank-4 images, jax.image.resize semantics: nearest picks floor((i + 0.5) * in / out); the other
// methods are separable weight matrices (half-pixel centres, bicubic a = -0.5, Lanczos with radius 3
// or 5, weights normalized per output pixel). Floating inputs; the output keeps the input's dtype.
Tensor resize(const Tensor& x, ResizeOptions o);

}  // namespace axon::layers
