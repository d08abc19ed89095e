#pragma once
// Fused multi-tensor optimizer updates: every parameter of a model in one kernel launch (a few on
// CUDA, 32 tensors per launch) instead of one launch per tensor per arithmetic op. Functional like
// every op: the new moments and the updates are new tensors; nothing is updated in place. The step
// counter and the scale (−learning rate) are 0-d tensors read on the device, so there is no host
// synchronisation. Not differentiable (optimizer updates are not recorded on the tape).
// optim/ reaches the kernels through these ops (it never touches a device pointer).
#include <vector>

#include <axon/tensor.hpp>

namespace axon {

struct FusedAdamResult {
  std::vector<Tensor> updates, mu, nu;
};
// For each tensor i (all of the gradients' dtype: f32, or f64 on the CPU; on one device; g, p, mu, nu
// of equal shapes), with t = count + 1:
//   mu' = (1−b1)·g + b1·mu;  nu' = (1−b2)·g² + b2·nu
//   u   = scale · ( (mu'/(1−b1^t)) / (√(nu'/(1−b2^t) + eps_root) + eps) + weight_decay·p )
// count: 0-d i64 (the steps taken so far); scale: 0-d, the gradients' dtype (−lr for a descent step).
// On the CPU the arithmetic is optim's composite chain's (scale_by_adam, add_decayed_weights, the
// learning rate) bit for bit; the CUDA kernel agrees with it to rounding.
FusedAdamResult fused_adam_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& params,
                                  const std::vector<Tensor>& mu, const std::vector<Tensor>& nu, const Tensor& count,
                                  const Tensor& scale, double b1, double b2, double eps, double eps_root,
                                  double weight_decay);

struct FusedMomentumResult {
  std::vector<Tensor> updates, trace;
};
// trace' = momentum·trace + g;  u = scale · (nesterov ? g + momentum·trace' : trace'). Dtypes as above.
FusedMomentumResult fused_sgd_momentum_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& trace,
                                              const Tensor& scale, double momentum, bool nesterov);

}  // namespace axon
