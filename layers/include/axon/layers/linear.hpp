#pragma once
// Linear layers (Axon.Layers): functional, differentiable in every tensor argument.
#include <axon/nn_ops.hpp>
#include <axon/tensor.hpp>

namespace axon::layers {

// y = act(x . kernel + bias): x [..., in] (rank >= 2), kernel [in, out], bias [out] or undefined; the
// bias and activation run fused after the GEMM (fused_dense).
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias = {},
             FusedActivation activation = FusedActivation::none);

// y[..., o] = sum_ij x1[..., i] kernel[o, i, j] x2[..., j] + bias[o]: x1 [..., f1] and x2 [..., f2]
// with the same leading axes, kernel [out, f1, f2], bias [out] or undefined (PyTorch's Bilinear).
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& kernel, const Tensor& bias = {});

// kernel [vocab, dim] gathered by integer ids of any shape: out = ids.shape + [dim] (Nx.take).
// Ids outside [0, vocab) are an error.
Tensor embedding(const Tensor& ids, const Tensor& kernel);

}  // namespace axon::layers
