#pragma once
// Checks of the numbers given to optimizers, update combinators and schedules, made when they are
// built: a NaN learning rate or a beta of 1 would otherwise surface epochs later as NaN parameters.
// Each error reads "<function>: <option> must be ..., got <value>".
#include <cmath>
#include <cstdint>

#include <axon/error.hpp>
#include <axon/optim/schedules.hpp>

namespace axon::optim::detail {

inline void check_finite(const char* op, const char* option, double v) {
  AXON_CHECK(std::isfinite(v), op, "{} must be finite, got {}", option, v);
}
// A finite v >= 0 (epsilons, weight decay, accumulator initial values, norms).
inline void check_non_negative(const char* op, const char* option, double v) {
  AXON_CHECK(std::isfinite(v) && v >= 0, op, "{} must be finite and >= 0, got {}", option, v);
}
// A finite v > 0.
inline void check_positive(const char* op, const char* option, double v) {
  AXON_CHECK(std::isfinite(v) && v > 0, op, "{} must be finite and > 0, got {}", option, v);
}
// 0 <= v < 1: the decay rate of a moving average (b1, b2, rmsprop's decay). At 1 the average never
// moves and the bias correction divides by zero.
inline void check_decay_rate(const char* op, const char* option, double v) {
  AXON_CHECK(v >= 0 && v < 1, op, "{} must be in [0, 1), got {}", option, v);
}
// 0 <= v <= 1 (momentum, a fraction).
inline void check_fraction(const char* op, const char* option, double v) {
  AXON_CHECK(v >= 0 && v <= 1, op, "{} must be in [0, 1], got {}", option, v);
}
inline void check_steps(const char* op, const char* option, int64_t v, int64_t least) {
  AXON_CHECK(v >= least, op, "{} must be at least {}, got {}", option, least, v);
}
// A constant learning rate is finite and >= 0; a schedule must have a function (its values are
// checked by the built-in schedules' own arguments).
inline void check_learning_rate(const char* op, const LearningRate& lr) {
  if (lr.is_schedule()) {
    AXON_CHECK(static_cast<bool>(std::get<Schedule>(lr.value).fn), op, "the learning-rate schedule has no function");
    return;
  }
  check_non_negative(op, "learning rate", std::get<double>(lr.value));
}
// b1, b2, eps, eps_root of the Adam family.
inline void check_moments(const char* op, double b1, double b2, double eps, double eps_root) {
  check_decay_rate(op, "b1", b1);
  check_decay_rate(op, "b2", b2);
  check_non_negative(op, "eps", eps);
  check_non_negative(op, "eps_root", eps_root);
}

}  // namespace axon::optim::detail
