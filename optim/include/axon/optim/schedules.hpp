#pragma once
// Learning-rate schedules (Polaris.Schedules): functions of the step (counted from 0).
// A Schedule evaluates on the host (fn) and, for the built-in ones, also on a 0-d step-counter
// tensor on the device (on_device), so that a scheduled update needs no host synchronisation.
// A Schedule made from a plain lambda reads the counter back to the host (one sync per update).
#include <cstdint>
#include <functional>
#include <type_traits>
#include <variant>

#include <axon/tensor.hpp>

namespace axon::optim {

struct Schedule {
  std::function<double(int64_t step)> fn;
  // Optional: the same function of a 0-d integer counter tensor, returning a 0-d `dtype` tensor.
  std::function<Tensor(const Tensor& step, DType dtype)> on_device;

  Schedule() = default;
  Schedule(std::function<double(int64_t)> f) : fn(std::move(f)) {}
  Schedule(std::function<double(int64_t)> f, std::function<Tensor(const Tensor&, DType)> d)
      : fn(std::move(f)), on_device(std::move(d)) {}
  double operator()(int64_t step) const { return fn(step); }
  // The value at `step` as a 0-d tensor on step's device (host sync only without on_device).
  Tensor operator()(const Tensor& step, DType dtype) const;
};

// A learning rate: a number or a schedule.
struct LearningRate {
  std::variant<double, Schedule> value;
  LearningRate(double v) : value(v) {}
  LearningRate(float v) : value(double(v)) {}
  LearningRate(int v) : value(double(v)) {}
  LearningRate(Schedule s) : value(std::move(s)) {}
  // A plain function of the step: sgd([](int64_t step) { return 0.1 / (1 + step); }).
  template <class F>
    requires std::is_invocable_r_v<double, F, int64_t> && (!std::is_arithmetic_v<F>)
  LearningRate(F f) : value(Schedule(std::function<double(int64_t)>(std::move(f)))) {}
  bool is_schedule() const { return value.index() == 1; }
};

namespace schedules {

// Each schedule takes its initial value and an options struct with Polaris' defaults:
//   schedules::exponential_decay(0.1, {.decay_rate = 0.5, .transition_steps = 4, .staircase = true})
// The positional forms (exponential_decay(0.1, 0.5, 4, 2, true)) still compile and forward to these.
Schedule constant(double init_value);

struct LinearDecayOptions {
  int64_t warmup = 0;
  int64_t steps = 1000;
};
// step < warmup: init·step/max(1, warmup); else init·max(0, (steps − step)/max(1, steps − warmup)).
Schedule linear_decay(double init_value, LinearDecayOptions options = {});

struct ExponentialDecayOptions {
  double decay_rate = 0.95;
  int64_t transition_steps = 10;
  int64_t transition_begin = 0;
  bool staircase = false;
};
// t = step − transition_begin; t ≤ 0: init; else init·rate^(t/k) (⌊t/k⌋ when staircase).
Schedule exponential_decay(double init_value, ExponentialDecayOptions options = {});

struct CosineDecayOptions {
  int64_t decay_steps = 10;
  double alpha = 0.0;
};
// θ = π·min(step, k)/k; init·((cos θ + 1)/2·(1 − α) + α).
Schedule cosine_decay(double init_value, CosineDecayOptions options = {});

struct PolynomialDecayOptions {
  double end_value = 1e-3;
  double power = 2;
  int64_t transition_steps = 10;
  int64_t transition_begin = 0;
};
// (init − end)·(1 − clip(step − begin, 0, k)/k)^power + end.
Schedule polynomial_decay(double init_value, PolynomialDecayOptions options = {});

// The positional forms, kept so that older code compiles.
inline Schedule linear_decay(double init_value, int64_t warmup, int64_t steps = 1000) {
  return linear_decay(init_value, LinearDecayOptions{warmup, steps});
}
inline Schedule exponential_decay(double init_value, double decay_rate, int64_t transition_steps = 10,
                                  int64_t transition_begin = 0, bool staircase = false) {
  return exponential_decay(init_value, ExponentialDecayOptions{decay_rate, transition_steps, transition_begin, staircase});
}
inline Schedule cosine_decay(double init_value, int64_t decay_steps, double alpha = 0.0) {
  return cosine_decay(init_value, CosineDecayOptions{decay_steps, alpha});
}
inline Schedule polynomial_decay(double init_value, double end_value, double power = 2, int64_t transition_steps = 10,
                                 int64_t transition_begin = 0) {
  return polynomial_decay(init_value, PolynomialDecayOptions{end_value, power, transition_steps, transition_begin});
}

}  // namespace schedules
}  // namespace axon::optim
