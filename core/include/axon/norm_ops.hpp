#pragma once
// Fused row normalization over the last axis: one kernel forward (statistics and output in one
// read of x) and one backward, one tape entry. While a tape records the backward itself (grad of
// grad) the backward is the equivalent composite formula, so it stays differentiable.
// Integer inputs compute in f32; gamma and beta are cast to x's dtype for the kernel.
#include <axon/tensor.hpp>

namespace axon {

// y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance), as
// PyTorch's F.layer_norm with normalized_shape = [x.shape[-1]]. gamma, beta: shape [n] or undefined.
Tensor layer_norm_last(const Tensor& x, const Tensor& gamma = {}, const Tensor& beta = {}, double eps = 1e-5);

// y = x / sqrt(mean(x^2) + eps) * (shift + gamma) over the last axis (Axon's rms_norm; PyTorch's
// RMSNorm with shift 0). gamma: shape [n] or undefined (no scale at all, whatever the shift).
Tensor rms_norm_last(const Tensor& x, const Tensor& gamma = {}, double eps = 1e-6, double shift = 0);

}  // namespace axon
