#pragma once
// The optimizers (Polaris.Optimizers) as recipes of update combinators. A learning rate is a
// number (state "scale" = −lr, changeable by callbacks such as reduce-on-plateau) or a Schedule
// (state "count"). Each returns a GradientTransformation: init(params), update(grads, state, params).
#include <cstdint>
#include <optional>

#include <axon/optim/schedules.hpp>
#include <axon/optim/transform.hpp>
#include <axon/optim/updates.hpp>

namespace axon::optim {

// Whether adam/adamw/sgd-with-momentum use the fused multi-tensor op (axon::fused_adam_update):
// automatic and always = wherever the fused op accepts the inputs (every gradient, parameter and
// moment of one dtype on one device: f32, or f64 on the CPU), else the composite path; never = the
// composite path. On the CPU the fused op computes the composite path's results bit for bit (one
// pass over memory instead of ~15); on CUDA they agree to rounding.
enum class Fused { automatic, always, never };

struct AdamWOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
  double decay = 0.0;  // adamw's decoupled weight decay
  Fused fused = Fused::automatic;
};

// −lr·u as the last member of a chain.
GradientTransformation scale_by_learning_rate(const LearningRate& lr);

GradientTransformation adabelief(LearningRate lr = 1e-3, BeliefOptions o = {});
GradientTransformation adagrad(LearningRate lr = 1e-3, double eps = 1e-7, double initial_accumulator_value = 0.1);
GradientTransformation adam(LearningRate lr = 1e-3, AdamWOptions o = {});  // o.decay ignored
GradientTransformation adamw(LearningRate lr = 1e-3, AdamWOptions o = {});
// Fromage (Bernstein et al. 2020): p' = (p − lr·g·‖p‖/‖g‖)/√(1 + lr²). Constant lr only.
GradientTransformation fromage(double lr = 1e-2, double min_norm = 0.0);
struct LambOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
  double decay = 0.0, min_norm = 0.0;
};
GradientTransformation lamb(LearningRate lr = 1e-2, LambOptions o = {});
// −lr·g + N(0, eta/(t+1)^gamma): eta 0.01 as the paper's smallest setting (Polaris docs say 0.1: ⚠).
GradientTransformation noisy_sgd(LearningRate lr = 1e-2, double eta = 0.01, double gamma = 0.55, uint64_t seed = 0);
GradientTransformation radam(LearningRate lr = 1e-3, RadamOptions o = {});
struct RmspropOptions {
  double decay = 0.9, eps = 1e-8, initial_scale = 0.0;
  bool centered = false;
  std::optional<double> momentum;  // trace applied after the learning rate, as Polaris
  bool nesterov = false;
};
GradientTransformation rmsprop(LearningRate lr = 1e-2, RmspropOptions o = {});
struct SgdOptions {
  std::optional<double> momentum;
  bool nesterov = false;
  Fused fused = Fused::automatic;
};
GradientTransformation sgd(LearningRate lr = 1e-2, SgdOptions o = {});
GradientTransformation yogi(LearningRate lr = 1e-2, YogiOptions o = {});

}  // namespace axon::optim
