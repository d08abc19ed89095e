#pragma once
// Pooling layers (Axon.Layers). Inputs are [batch, spatial..., channels] (channels
// last, Axon's default) or [batch, channels, spatial...] (first), with at least one spatial axis.
#include <axon/layers/shape.hpp>
#include <axon/tensor.hpp>
#include <cstdint>
#include <vector>

namespace axon::layers {

struct PoolOptions {
  std::vector<int64_t> kernel_size;       // required: one per spatial axis (or one for all)
  std::vector<int64_t> strides;           // default: the kernel size
  Padding padding;                        // valid by default
  std::vector<int64_t> window_dilations;  // default 1
  Channels channels = Channels::last;
  double norm = 2;  // lp_pool only
};

// Maximum over each window; padding cells are -inf (never chosen). Gradient to the maximum (ties share it).
Tensor max_pool(const Tensor& x, PoolOptions o);
// Mean over each window dividing by the full window size, padding cells included (Nx.window_mean,
// PyTorch's count_include_pad = True).
Tensor avg_pool(const Tensor& x, PoolOptions o);
// (sum over the window of x^p)^(1/p), p = o.norm, without abs (Axon and PyTorch's LPPool); padding
// cells count 0. Negative x with a non-integer p gives NaN.
Tensor lp_pool(const Tensor& x, PoolOptions o);

struct AdaptivePoolOptions {
  std::vector<int64_t> output_size;  // required: one per spatial axis (or one for all)
  Channels channels = Channels::last;
  double norm = 2;  // adaptive_lp_pool only
};
// Axon's adaptive pooling: stride = floor(in / out), window = in - (out - 1) * stride, valid padding.
// ⚠ PyTorch's adaptive pools use variable windows [floor(i in / out), ceil((i + 1) in / out)); the two
// agree when out divides in.
Tensor adaptive_avg_pool(const Tensor& x, AdaptivePoolOptions o);
Tensor adaptive_max_pool(const Tensor& x, AdaptivePoolOptions o);
Tensor adaptive_lp_pool(const Tensor& x, AdaptivePoolOptions o);

struct GlobalPoolOptions {
  bool keep_axes = false;  // keep the spatial axes with size 1
  Channels channels = Channels::last;
  double norm = 2;  // global_lp_pool only
};
Tensor global_avg_pool(const Tensor& x, GlobalPoolOptions o = {});
Tensor global_max_pool(const Tensor& x, GlobalPoolOptions o = {});
Tensor global_lp_pool(const Tensor& x, GlobalPoolOptions o = {});

// Rank-4 only: depthwise 3x3 low-pass filter [1, 2, 1]^T [1, 2, 1] / 16, stride 1, zero padding 1
// (MosaicML's blurpool, which Axon follows): the output has the input's shape.
Tensor blur_pool(const Tensor& x, Channels channels = Channels::last);

}  // namespace axon::layers
