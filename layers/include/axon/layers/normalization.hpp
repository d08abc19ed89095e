#pragma once
// Normalization layers (Axon.Layers). Shared math: y = gamma * (x - mean) /
// sqrt(var + eps) + beta with the biased (population) variance. gamma / beta have shape [C] (the
// channel axis's size) or are undefined (1 and 0). channel_index counts from the end when negative.
#include <axon/tensor.hpp>
#include <cstdint>

namespace axon::layers {

// How batch_norm / instance_norm update running statistics with `momentum`:
//  pytorch (default): ra = (1 - momentum) * ra + momentum * batch, with the unbiased batch variance
//                     (PyTorch's BatchNorm; momentum 0.1 keeps 90% of the history).
//  axon:              ra = momentum * ra + (1 - momentum) * batch with the biased variance, as Axon
//                     does (⚠ with the default 0.1 it keeps only 10% of the history).
enum class MomentumConvention { pytorch, axon };

struct BatchNormOptions {
  double epsilon = 1e-5;
  int64_t channel_index = -1;
  double momentum = 0.1;
  bool training = false;  // Axon's default mode is inference
  MomentumConvention convention = MomentumConvention::pytorch;
};

struct BatchNormResult {
  Tensor output, running_mean, running_var;  // running stats: the new state (no gradient)
};

// Training: normalizes with the batch statistics (over every axis but the channel) and returns the
// updated running statistics. Inference: normalizes with running_mean / running_var, returned unchanged.
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& running_mean, const Tensor& running_var, BatchNormOptions o = {});

// Statistics per sample and channel over the spatial axes (every axis but 0 and the channel axis;
// rank >= 3). Training updates the running statistics (when given) with the batch mean of the
// per-instance statistics (PyTorch's track_running_stats). Inference uses the running statistics when
// given, else the instance statistics (PyTorch's InstanceNorm default).
BatchNormResult instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean = {}, const Tensor& running_var = {},
                              BatchNormOptions o = {});

struct LayerNormOptions {
  double epsilon = 1e-5;
  int64_t channel_index = -1;
};
// Statistics over the single channel_index axis (Axon's; ⚠ PyTorch's normalized_shape may span
// several trailing axes: flatten them first). Fused kernel forward and backward.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, LayerNormOptions o = {});

struct GroupNormOptions {
  int64_t num_groups = 0;  // required; must divide the channels
  double epsilon = 1e-5;
  int64_t channel_index = -1;
};
// Channels split into num_groups groups; statistics per sample and group over the group's channels
// and all spatial axes (rank >= 2: axis 0 is the batch).
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, GroupNormOptions o);

// Where a 16-bit rms_norm rounds (Axon's upcast option; f32 and f64 inputs are the same either way):
//  normalization (Axon's default): x / rms in f32, rounded to x's dtype, then scaled in that dtype;
//  all: one fused kernel computes everything in f32 and rounds once at the end.
enum class RmsUpcast { normalization, all };

struct RmsNormOptions {
  double epsilon = 1e-6;
  int64_t channel_index = -1;
  double shift = 0.0;
  RmsUpcast upcast = RmsUpcast::normalization;
};
// y = x / sqrt(mean(x^2) + eps) * (shift + gamma) over the channel axis (fused kernel forward and
// backward; PyTorch's RMSNorm is shift 0).
Tensor rms_norm(const Tensor& x, const Tensor& gamma, RmsNormOptions o = {});

}  // namespace axon::layers
