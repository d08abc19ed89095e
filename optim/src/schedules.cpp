#include <cmath>
#include <numbers>

#include <axon/ops.hpp>
#include <axon/optim/schedules.hpp>

#include "check_options.hpp"

namespace axon::optim {

Tensor Schedule::operator()(const Tensor& step, DType dtype) const {
  if (on_device) return on_device(step, dtype);
  // A user's host function: read the counter back (one host sync).
  return scalar_tensor(fn(step.to(Device::cpu()).to(DType::i64).item<int64_t>()), dtype, step.device());
}

namespace schedules {

using namespace detail;

namespace {
Tensor as_float(const Tensor& step, DType dt) { return cast(step, dt); }
}  // namespace

Schedule constant(double init_value) {
  check_non_negative("constant", "init_value", init_value);
  return {[=](int64_t) { return init_value; },
          [=](const Tensor& s, DType dt) { return scalar_tensor(init_value, dt, s.device()); }};
}

Schedule linear_decay(double init_value, LinearDecayOptions o) {
  // Copies, not a structured binding: lambdas capture them (clang 14 cannot capture bindings).
  const auto warmup = o.warmup;
  const auto steps = o.steps;
  check_non_negative("linear_decay", "init_value", init_value);
  check_steps("linear_decay", "warmup", warmup, 0);
  AXON_CHECK(steps >= 1 && steps >= warmup, "linear_decay", "steps must be at least 1 and at least warmup ({}), got {}",
             warmup, steps);
  double w = double(std::max<int64_t>(1, warmup));
  double k = double(std::max<int64_t>(1, steps - warmup));
  auto host = [=](int64_t step) {
    if (step < warmup) return init_value * double(step) / w;
    return init_value * std::max(0.0, double(steps - step) / k);
  };
  auto dev = [=](const Tensor& s, DType dt) {
    Tensor t = as_float(s, dt);
    Tensor up = mul(t, init_value / w);
    Tensor down = mul(clamp(rsub(double(steps), t), 0.0, std::nullopt), init_value / k);
    return where(lt(s, Scalar(warmup)), up, down);
  };
  return {host, dev};
}

Schedule exponential_decay(double init_value, ExponentialDecayOptions o) {
  const auto decay_rate = o.decay_rate;
  const auto transition_steps = o.transition_steps;
  const auto transition_begin = o.transition_begin;
  const auto staircase = o.staircase;
  check_non_negative("exponential_decay", "init_value", init_value);
  check_positive("exponential_decay", "decay_rate", decay_rate);
  check_steps("exponential_decay", "transition_steps", transition_steps, 1);
  check_steps("exponential_decay", "transition_begin", transition_begin, 0);
  double k = double(transition_steps);
  auto host = [=](int64_t step) {
    double t = double(step - transition_begin);
    if (t <= 0) return init_value;
    double e = t / k;
    if (staircase) e = std::floor(e);
    return init_value * std::pow(decay_rate, e);
  };
  auto dev = [=](const Tensor& s, DType dt) {
    Tensor t = sub(as_float(s, dt), double(transition_begin));
    Tensor e = div(t, k);
    if (staircase) e = floor(e);
    Tensor v = mul(exp(mul(e, std::log(decay_rate))), init_value);
    return where(le(t, 0.0), scalar_tensor(init_value, dt, s.device()), v);
  };
  return {host, dev};
}

Schedule cosine_decay(double init_value, CosineDecayOptions o) {
  const auto decay_steps = o.decay_steps;
  const auto alpha = o.alpha;
  check_non_negative("cosine_decay", "init_value", init_value);
  check_steps("cosine_decay", "decay_steps", decay_steps, 1);
  check_fraction("cosine_decay", "alpha", alpha);
  double k = double(decay_steps);
  auto host = [=](int64_t step) {
    double th = std::numbers::pi * std::min(double(step), k) / k;
    return init_value * ((std::cos(th) + 1) / 2 * (1 - alpha) + alpha);
  };
  auto dev = [=](const Tensor& s, DType dt) {
    Tensor th = mul(clamp(as_float(s, dt), std::nullopt, k), std::numbers::pi / k);
    return mul(add(mul(add(cos(th), 1.0), 0.5 * (1 - alpha)), alpha), init_value);
  };
  return {host, dev};
}

Schedule polynomial_decay(double init_value, PolynomialDecayOptions o) {
  const auto end_value = o.end_value;
  const auto power = o.power;
  const auto transition_steps = o.transition_steps;
  const auto transition_begin = o.transition_begin;
  check_non_negative("polynomial_decay", "init_value", init_value);
  check_non_negative("polynomial_decay", "end_value", end_value);
  check_non_negative("polynomial_decay", "power", power);
  check_steps("polynomial_decay", "transition_steps", transition_steps, 1);
  check_steps("polynomial_decay", "transition_begin", transition_begin, 0);
  double k = double(transition_steps);
  auto host = [=](int64_t step) {
    double c = std::clamp(double(step - transition_begin), 0.0, k);
    return (init_value - end_value) * std::pow(1 - c / k, power) + end_value;
  };
  auto dev = [=](const Tensor& s, DType dt) {
    Tensor c = clamp(sub(as_float(s, dt), double(transition_begin)), 0.0, k);
    return add(mul(pow(rsub(1.0, div(c, k)), power), init_value - end_value), end_value);
  };
  return {host, dev};
}

}  // namespace schedules
}  // namespace axon::optim
