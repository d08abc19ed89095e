#pragma once
// Update combinators (Polaris.Updates / optax). Compose them with chain(); the optimizers in
// optimizers.hpp are recipes built from these. Defaults are Polaris'.
#include <cstdint>

#include <axon/optim/schedules.hpp>
#include <axon/optim/transform.hpp>

namespace axon::optim {

// u·step
GradientTransformation scale(double step);
// u·scale with the scale kept in the state ("scale", a 0-d tensor a callback may change).
GradientTransformation scale_by_state(double step);
// u·schedule(count), count from 0 ("count").
GradientTransformation scale_by_schedule(Schedule schedule);

struct AdamOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
};
// m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; u = m̂/(√(v̂ + eps_root) + eps) with bias correction.
GradientTransformation scale_by_adam(AdamOptions o = {});
struct BeliefOptions {
  double b1 = 0.9, b2 = 0.999, eps = 0.0, eps_root = 1e-16;
};
// AdaBelief as in the paper (Zhuang et al. 2020, Alg. 2): s = b2·s + (1−b2)·(g − m)² + eps_root with
// the new m; u = m̂/(√ŝ + eps). (Polaris takes an EMA of g², which makes it Adam: ⚠, docs/conventions.md.)
GradientTransformation scale_by_belief(BeliefOptions o = {});
struct RadamOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 0.0, threshold = 5.0;
};
// RAdam (Liu et al. 2019) with ρ∞ = 2/(1 − b2) − 1 as in the paper (Polaris uses b1 there: ⚠).
GradientTransformation scale_by_radam(RadamOptions o = {});
struct YogiOptions {
  double initial_accumulator_value = 1e-6, b1 = 0.9, b2 = 0.999, eps = 1e-3, eps_root = 0.0;
};
// Yogi (Zaheer et al. 2018): v = v − (1−b2)·sign(v − g²)·g²; defaults eps 1e-3 and v0 = 1e-6 as the
// paper recommends (Polaris' docs say 1e-8 / 0: ⚠).
GradientTransformation scale_by_yogi(YogiOptions o = {});
// s += g²; u = g/√(s + eps) (0 where s == 0).
GradientTransformation scale_by_rss(double initial_accumulator_value = 0.1, double eps = 1e-7);
// v = decay·v + (1−decay)·g²; u = g/√(v + eps).
GradientTransformation scale_by_rms(double initial_scale = 0.0, double decay = 0.9, double eps = 1e-8);
// centred: u = g/√(v − m² + eps).
GradientTransformation scale_by_stddev(double initial_scale = 0.0, double decay = 0.9, double eps = 1e-8);
// t = decay·t + g; u = t, or g + decay·t with nesterov.
GradientTransformation trace(double decay = 0.9, bool nesterov = false);
// Elementwise clamp to [−delta, delta].
GradientTransformation clip(double delta = 2.0);
// u·max_norm/‖u‖ when the global norm over all tensors ‖u‖ ≥ max_norm.
GradientTransformation clip_by_global_norm(double max_norm = 1.0);
// Rank > 1: subtract the mean over every axis but the first.
GradientTransformation centralize();
// u + decay·p
GradientTransformation add_decayed_weights(double decay = 0.0);
// u·coef·‖p‖/(‖u‖ + eps), per tensor; 1 where either norm is 0; norms clamped below at min_norm.
GradientTransformation scale_by_trust_ratio(double min_norm = 0.0, double trust_coefficient = 1.0,
                                            double eps = 0.0);
// u + N(0, σ²) with σ² = eta/(t+1)^gamma: Neelakantan et al. 2015 give the *variance*, so the noise
// is scaled by its square root (Polaris scales by the variance itself: ⚠). The Philox seed is kept
// in the state ("seed", with "count"); reading them costs one host sync per update.
GradientTransformation add_noise(uint64_t seed = 0, double eta = 0.01, double gamma = 0.55);
// Gradient accumulation (optax.MultiSteps): for steps−1 calls the gradients are summed and zero
// updates returned; every steps-th call runs `inner` on the mean of the accumulated gradients.
// (Polaris divides only the current gradient: ⚠.) The choice is made with where() on the device,
// so no host sync; `inner` is evaluated on every call and its state kept only on emitting calls.
GradientTransformation accumulate_gradients(GradientTransformation inner, int64_t steps);

}  // namespace axon::optim
