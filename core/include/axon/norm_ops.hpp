#pragma once
// Fused row normalization over the last axis: one kernel forward (statistics and output in one
// read of x) and one backward, one tape entry. While a tape records the backward itself (grad of
// grad) the backward is the equivalent composite formula, so it stays differentiable.
// Integer inputs compute in f32; gamma and beta are cast to x's dtype for the kernel.
#include <axon/tensor.hpp>
#include <functional>

namespace axon {

// y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance), as
// PyTorch's F.layer_norm with normalized_shape = [x.shape[-1]]. gamma, beta: shape [n] or undefined.
Tensor layer_norm_last(const Tensor& x, const Tensor& gamma = {}, const Tensor& beta = {}, double eps = 1e-5);

// y = x / sqrt(mean(x^2) + eps) * (shift + gamma) over the last axis (Axon's rms_norm; PyTorch's
// RMSNorm with shift 0). gamma: shape [n] or undefined (no scale at all, whatever the shift).
Tensor rms_norm_last(const Tensor& x, const Tensor& gamma = {}, double eps = 1e-6, double shift = 0);

}  // namespace axon

namespace axon {

// Spatial batch norm of a channels-last CUDA input [N, S..., C] on cuDNN, when cuDNN is compiled in,
// takes the problem and is the faster path for its shape: measured on first use against `reference`,
// the caller's own implementation run on the same input (kernels/cudnn_pool_norm.hpp).
//   training:  batch statistics (biased variance); the running statistics come back updated as
//              r = (1 - momentum) r + momentum batch with the unbiased variance (PyTorch's convention).
//   inference: the running statistics, returned unchanged.
// relu: y = relu(batch norm), fused into cuDNN's kernel where it can (training, 16-bit, C % 4 == 0).
// gamma, beta: [C] or undefined (1 and 0). Differentiable in x, gamma and beta to any order (a
// recorded backward is the composite formula). Otherwise (CPU, no cuDNN, slower, a single value
// per channel in training) `output` is undefined: the caller runs its own implementation.
struct CudnnBatchNorm {
  Tensor output, running_mean, running_var;
};
CudnnBatchNorm batch_norm_cudnn(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                                const Tensor& running_var, bool training, double momentum, double eps, bool relu,
                                const std::function<void()>& reference);

}  // namespace axon
