// Optimizers, update combinators and schedules reject nonsense numbers when they are built, naming
// the function, the option and the value (issue 15, "NaN and nonsense caught").
#include <axon/optim.hpp>
#include <limits>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {
constexpr double nan_ = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_ = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("optimizers reject NaN, infinite and negative learning rates, naming the optimizer", "[optim][errors]") {
  for (double lr : {nan_, inf_, -inf_, -1e-3}) {
    INFO("lr " << lr);
    AXON_REQUIRE_THROWS_WITH(sgd(lr), "sgd: learning rate must be finite and >= 0, got ");
    AXON_REQUIRE_THROWS_WITH(adam(lr), "adam: learning rate must be finite and >= 0");
    AXON_REQUIRE_THROWS_WITH(adamw(lr), "adamw: learning rate");
    AXON_REQUIRE_THROWS_WITH(adabelief(lr), "adabelief: learning rate");
    AXON_REQUIRE_THROWS_WITH(adagrad(lr), "adagrad: learning rate");
    AXON_REQUIRE_THROWS_WITH(fromage(lr), "fromage: learning rate");
    AXON_REQUIRE_THROWS_WITH(lamb(lr), "lamb: learning rate");
    AXON_REQUIRE_THROWS_WITH(noisy_sgd(lr), "noisy_sgd: learning rate");
    AXON_REQUIRE_THROWS_WITH(radam(lr), "radam: learning rate");
    AXON_REQUIRE_THROWS_WITH(rmsprop(lr), "rmsprop: learning rate");
    AXON_REQUIRE_THROWS_WITH(yogi(lr), "yogi: learning rate");
  }
  AXON_REQUIRE_THROWS_WITH(sgd(nan_), "got nan");
  AXON_REQUIRE_THROWS_WITH(adam(-0.5), "got -0.5");
  AXON_REQUIRE_THROWS_WITH(sgd(Schedule()), "sgd: the learning-rate schedule has no function");
  // Zero (a frozen run) and ordinary rates are accepted.
  CHECK_NOTHROW(sgd(0.0));
  CHECK_NOTHROW(adam(1e-3));
  CHECK_NOTHROW(sgd([](int64_t s) { return 0.1 / double(1 + s); }));
}

TEST_CASE("optimizers reject betas outside [0, 1), bad eps, decay and momentum", "[optim][errors]") {
  for (double b : {1.0, 1.5, -0.1, nan_}) {
    INFO("beta " << b);
    AXON_REQUIRE_THROWS_WITH(adam(1e-3, {.b1 = b}), "adam: b1 must be in [0, 1), got ");
    AXON_REQUIRE_THROWS_WITH(adam(1e-3, {.b2 = b}), "adam: b2 must be in [0, 1)");
    AXON_REQUIRE_THROWS_WITH(adamw(1e-3, {.b2 = b}), "adamw: b2 must be in [0, 1)");
    AXON_REQUIRE_THROWS_WITH(adabelief(1e-3, {.b1 = b}), "adabelief: b1");
    AXON_REQUIRE_THROWS_WITH(lamb(1e-3, {.b2 = b}), "lamb: b2");
    AXON_REQUIRE_THROWS_WITH(radam(1e-3, {.b1 = b}), "radam: b1");
    AXON_REQUIRE_THROWS_WITH(yogi(1e-3, {.b2 = b}), "yogi: b2");
    AXON_REQUIRE_THROWS_WITH(rmsprop(1e-3, {.decay = b}), "rmsprop: decay must be in [0, 1)");
    AXON_REQUIRE_THROWS_WITH(scale_by_adam({.b1 = b}), "scale_by_adam: b1");
  }
  AXON_REQUIRE_THROWS_WITH(adam(1e-3, {.b1 = 1.5}), "got 1.5");
  for (double e : {-1e-8, nan_, inf_}) {
    INFO("eps " << e);
    AXON_REQUIRE_THROWS_WITH(adam(1e-3, {.eps = e}), "adam: eps must be finite and >= 0, got ");
    AXON_REQUIRE_THROWS_WITH(adam(1e-3, {.eps_root = e}), "adam: eps_root must be finite and >= 0");
    AXON_REQUIRE_THROWS_WITH(adagrad(1e-3, e), "adagrad: eps");
    AXON_REQUIRE_THROWS_WITH(rmsprop(1e-3, {.eps = e}), "rmsprop: eps");
    AXON_REQUIRE_THROWS_WITH(yogi(1e-3, {.eps = e}), "yogi: eps");
    AXON_REQUIRE_THROWS_WITH(adamw(1e-3, {.decay = e}), "adamw: decay must be finite and >= 0");
    AXON_REQUIRE_THROWS_WITH(lamb(1e-3, {.decay = e}), "lamb: decay");
    AXON_REQUIRE_THROWS_WITH(lamb(1e-3, {.min_norm = e}), "lamb: min_norm");
    AXON_REQUIRE_THROWS_WITH(adagrad(1e-3, 1e-7, e), "adagrad: initial_accumulator_value");
    AXON_REQUIRE_THROWS_WITH(noisy_sgd(1e-3, e), "noisy_sgd: eta");
    AXON_REQUIRE_THROWS_WITH(noisy_sgd(1e-3, 0.01, e), "noisy_sgd: gamma");
    AXON_REQUIRE_THROWS_WITH(fromage(1e-2, e), "fromage: min_norm");
  }
  AXON_REQUIRE_THROWS_WITH(radam(1e-3, {.threshold = nan_}), "radam: threshold must be finite");
  for (double m : {-0.1, 1.01, nan_}) {
    INFO("momentum " << m);
    AXON_REQUIRE_THROWS_WITH(sgd(0.1, {.momentum = m}), "sgd: momentum must be in [0, 1], got ");
    AXON_REQUIRE_THROWS_WITH(rmsprop(0.1, {.momentum = m}), "rmsprop: momentum must be in [0, 1]");
    AXON_REQUIRE_THROWS_WITH(trace(m), "trace: decay must be in [0, 1]");
  }
  // The edges that make sense are accepted.
  CHECK_NOTHROW(sgd(0.1, {.momentum = 0.0}));
  CHECK_NOTHROW(sgd(0.1, {.momentum = 1.0}));
  CHECK_NOTHROW(adam(1e-3, {.b1 = 0.0, .b2 = 0.0, .eps = 0.0, .eps_root = 0.0}));
  CHECK_NOTHROW(fromage(1e-2));  // adds a negative decayed weight internally
}

TEST_CASE("update combinators check their numbers too", "[optim][errors]") {
  AXON_REQUIRE_THROWS_WITH(scale(nan_), "scale: step must be finite, got nan");
  AXON_REQUIRE_THROWS_WITH(scale_by_state(inf_), "scale_by_state: step must be finite");
  AXON_REQUIRE_THROWS_WITH(scale_by_rms(0.0, 1.0), "scale_by_rms: decay must be in [0, 1), got 1");
  AXON_REQUIRE_THROWS_WITH(scale_by_stddev(-1.0), "scale_by_stddev: initial_scale must be finite and >= 0, got -1");
  AXON_REQUIRE_THROWS_WITH(scale_by_rss(0.1, -1.0), "scale_by_rss: eps");
  AXON_REQUIRE_THROWS_WITH(clip(-1.0), "clip: delta must be finite and >= 0, got -1");
  AXON_REQUIRE_THROWS_WITH(clip_by_global_norm(0.0), "clip_by_global_norm: max_norm must be finite and > 0, got 0");
  AXON_REQUIRE_THROWS_WITH(add_decayed_weights(nan_), "add_decayed_weights: decay must be finite");
  AXON_REQUIRE_THROWS_WITH(scale_by_trust_ratio(0.0, 1.0, -1.0), "scale_by_trust_ratio: eps");
  AXON_REQUIRE_THROWS_WITH(add_noise(0, -1.0), "add_noise: eta");
  AXON_REQUIRE_THROWS_WITH(scale_by_yogi({.initial_accumulator_value = -1.0}), "scale_by_yogi: initial_accumulator_value");
}

TEST_CASE("schedules reject NaN rates, negative and zero step counts", "[optim][errors]") {
  using namespace schedules;
  AXON_REQUIRE_THROWS_WITH(constant(nan_), "constant: init_value must be finite and >= 0, got nan");
  AXON_REQUIRE_THROWS_WITH(constant(-0.1), "constant: init_value");
  AXON_REQUIRE_THROWS_WITH(linear_decay(nan_), "linear_decay: init_value");
  AXON_REQUIRE_THROWS_WITH(linear_decay(0.1, -1, 10), "linear_decay: warmup must be at least 0, got -1");
  AXON_REQUIRE_THROWS_WITH(linear_decay(0.1, 0, 0), "linear_decay: steps must be at least 1 and at least warmup (0), got 0");
  AXON_REQUIRE_THROWS_WITH(linear_decay(0.1, 20, 10), "linear_decay: steps must be at least 1 and at least warmup (20), got 10");
  AXON_REQUIRE_THROWS_WITH(exponential_decay(inf_), "exponential_decay: init_value");
  AXON_REQUIRE_THROWS_WITH(exponential_decay(0.1, 0.0), "exponential_decay: decay_rate must be finite and > 0, got 0");
  AXON_REQUIRE_THROWS_WITH(exponential_decay(0.1, nan_), "exponential_decay: decay_rate");
  AXON_REQUIRE_THROWS_WITH(exponential_decay(0.1, 0.5, 0), "exponential_decay: transition_steps must be at least 1, got 0");
  AXON_REQUIRE_THROWS_WITH(exponential_decay(0.1, 0.5, 4, -2), "exponential_decay: transition_begin must be at least 0, got -2");
  AXON_REQUIRE_THROWS_WITH(cosine_decay(0.1, 0), "cosine_decay: decay_steps must be at least 1, got 0");
  AXON_REQUIRE_THROWS_WITH(cosine_decay(0.1, -5), "cosine_decay: decay_steps");
  AXON_REQUIRE_THROWS_WITH(cosine_decay(0.1, 10, 1.5), "cosine_decay: alpha must be in [0, 1], got 1.5");
  AXON_REQUIRE_THROWS_WITH(polynomial_decay(0.1, nan_), "polynomial_decay: end_value");
  AXON_REQUIRE_THROWS_WITH(polynomial_decay(0.1, 1e-3, -1.0), "polynomial_decay: power");
  AXON_REQUIRE_THROWS_WITH(polynomial_decay(0.1, 1e-3, 2, 0), "polynomial_decay: transition_steps must be at least 1");
  AXON_REQUIRE_THROWS_WITH(polynomial_decay(0.1, 1e-3, 2, 10, -1), "polynomial_decay: transition_begin");
  // The defaults and the documented forms still build and evaluate.
  CHECK(constant(0.25)(3) == Catch::Approx(0.25));
  CHECK(linear_decay(1.0, 4, 4)(4) == 0.0);
  CHECK(exponential_decay(1.0, 2.0, 1)(1) == Catch::Approx(2.0));  // a growing rate is allowed
}
