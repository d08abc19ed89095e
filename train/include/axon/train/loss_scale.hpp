#pragma once
// Loss scaling for mixed precision training (Axon.LossScale; PyTorch's GradScaler):
// the loss is multiplied by a scale before differentiation so that small gradients survive f16 / bf16,
// and the gradients are divided by it before the optimizer sees them.
//
//   auto step = train_step(apply_policy(model, create_policy({.compute = DType::f16})), "categorical_cross_entropy",
//                          optim::adam(1e-3), {.loss_scale = dynamic_loss_scale()});
//
// - identity: nothing scaled, nothing checked.
// - static(init_scale 2^15): loss·s, grads/s.
// - dynamic(init_scale 2^15, period 2000, factor 2, min_loss_scale 1), Axon's rule: after `period`
//   consecutive steps with finite gradients the scale is multiplied by `factor` (unless that would
//   overflow f32); a step with a non-finite gradient sets it to max(min_loss_scale, scale/factor)
//   and restarts the count.
//
// On a step whose gradients are not all finite, train_step skips the update by default, as
// GradScaler does: the parameters and the optimizer state (its step count included) stay bitwise
// as they were. ⚠ Axon counts only ±inf as overflow (a NaN gradient passes) and applies the update
// anyway; `nan_is_overflow = false, skip_overflow = false` gives that behaviour.
//
// The state lives on the gradients' device as tensors, and every decision (the finiteness check,
// the scale update, the skipped update) is made with device ops (where(), not an `if` on the host),
// so a step never waits for the GPU. train_step keeps it in the step state under "loss_scale/":
// "loss_scale/loss_scale" (0-d f32) and, for dynamic, "loss_scale/counter" (0-d i64), so
// checkpoints save it and a resumed run continues with the same scale.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <axon/autograd.hpp>
#include <axon/tensor.hpp>

namespace axon::training {

using LossScaleState = std::map<std::string, Tensor>;

struct Unscaled {
  Params grads;          // the gradients divided by the scale, each in its own dtype
  LossScaleState state;  // the state for the next step
  Tensor finite;         // 0-d bool on the device: every gradient finite; undefined when not checked
};

// Axon's {init, scale, unscale} triple. A default-constructed LossScale is the identity.
struct LossScale {
  std::string name = "identity";
  std::function<LossScaleState(Device device)> init = {};
  std::function<Tensor(const Tensor& loss, const LossScaleState& state)> scale = {};
  std::function<Unscaled(const Params& grads, const LossScaleState& state)> unscale = {};
  bool skip_overflow = false;  // train_step keeps params and optimizer state where !finite
};

LossScale identity_loss_scale();

struct StaticLossScaleOptions {
  double init_scale = 32768;    // 2^15
  bool nan_is_overflow = true;  // ⚠ Axon's static checks nothing
  bool skip_overflow = true;    // ⚠ Axon: false (no check, so no skip)
};
LossScale static_loss_scale(StaticLossScaleOptions options = {});

struct DynamicLossScaleOptions {
  double init_scale = 32768;  // 2^15
  int64_t period = 2000;      // finite steps between two increases
  double factor = 2;
  double min_loss_scale = 1;
  bool nan_is_overflow = true;  // ⚠ Axon: false (only ±inf)
  bool skip_overflow = true;    // ⚠ Axon: false
};
LossScale dynamic_loss_scale(DynamicLossScaleOptions options = {});

// Whether every element of every gradient is finite (|g| < inf; with nan_is_overflow false, only
// ±inf count): a 0-d bool on the gradients' device (cpu when there are none).
Tensor all_finite(const Params& grads, bool nan_is_overflow = true);

// where(finite, next, previous) for each entry (entries only in `next` are taken as they are): the
// skipped update, decided on the device.
Params select_finite(const Tensor& finite, const Params& next, const Params& previous);
std::map<std::string, Tensor> select_finite(const Tensor& finite, const std::map<std::string, Tensor>& next,
                                            const std::map<std::string, Tensor>& previous);

}  // namespace axon::training
