// Schedules against their formulas, on the host and as tensors of the device-side step counter.
#include <axon/optim.hpp>
#include <cmath>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {
void check_schedule(const Schedule& s, const std::function<double(int64_t)>& ref, int64_t until = 40) {
  REQUIRE(s.on_device);
  for (int64_t step = 0; step <= until; ++step) {
    INFO("step " << step);
    double e = ref(step);
    CHECK(s(step) == Catch::Approx(e).epsilon(1e-12).margin(1e-15));
    for (DType dt : {DType::f64, DType::f32}) {
      Tensor v = s(scalar_tensor(step, DType::i64), dt);
      CHECK(v.dtype() == dt);
      CHECK(v.dim() == 0);
      CHECK(v.to_vector<double>()[0] == Catch::Approx(e).epsilon(dt == DType::f64 ? 1e-12 : 1e-5).margin(1e-7));
    }
  }
}
}  // namespace

TEST_CASE("constant schedule", "[optim]") {
  check_schedule(schedules::constant(0.25), [](int64_t) { return 0.25; });
}

TEST_CASE("linear_decay with and without warm-up", "[optim]") {
  check_schedule(schedules::linear_decay(0.5, {.warmup = 0, .steps = 20}), [](int64_t s) { return 0.5 * std::max(0.0, (20.0 - s) / 20.0); });
  check_schedule(schedules::linear_decay(2.0, {.warmup = 5, .steps = 25}), [](int64_t s) {
    return s < 5 ? 2.0 * s / 5.0 : 2.0 * std::max(0.0, (25.0 - s) / 20.0);
  });
  CHECK(schedules::linear_decay(1.0, 4, 8)(2) == Catch::Approx(0.5));
  CHECK(schedules::linear_decay(1.0, 4, 8)(4) == Catch::Approx(1.0));
  CHECK(schedules::linear_decay(1.0, 4, 8)(100) == 0.0);
}

TEST_CASE("exponential_decay smooth, staircase and delayed", "[optim]") {
  check_schedule(schedules::exponential_decay(0.1), [](int64_t s) { return 0.1 * std::pow(0.95, s / 10.0); });
  check_schedule(schedules::exponential_decay(1.0, {.decay_rate = 0.5, .transition_steps = 4, .transition_begin = 3, .staircase = true}), [](int64_t s) {
    double t = double(s - 3);
    return t <= 0 ? 1.0 : std::pow(0.5, std::floor(t / 4));
  });
}

TEST_CASE("cosine_decay", "[optim]") {
  check_schedule(schedules::cosine_decay(1.0), [](int64_t s) {
    return (std::cos(M_PI * std::min<double>(double(s), 10) / 10) + 1) / 2;
  });
  check_schedule(schedules::cosine_decay(0.3, {.decay_steps = 7, .alpha = 0.2}), [](int64_t s) {
    return 0.3 * ((std::cos(M_PI * std::min<double>(double(s), 7) / 7) + 1) / 2 * 0.8 + 0.2);
  });
}

TEST_CASE("polynomial_decay", "[optim]") {
  check_schedule(schedules::polynomial_decay(0.1), [](int64_t s) {
    double c = std::clamp(double(s), 0.0, 10.0);
    return (0.1 - 1e-3) * std::pow(1 - c / 10, 2) + 1e-3;
  });
  check_schedule(schedules::polynomial_decay(1.0, {.end_value = 0.2, .power = 0.5, .transition_steps = 12, .transition_begin = 4}), [](int64_t s) {
    double c = std::clamp(double(s - 4), 0.0, 12.0);
    return 0.8 * std::pow(1 - c / 12, 0.5) + 0.2;
  });
}

TEST_CASE("the positional schedule forms forward to the options ones", "[optim]") {
  for (int64_t step : {0, 3, 7, 12, 40}) {
    CHECK(schedules::exponential_decay(0.1, 0.5, 4, 2, true)(step) ==
          schedules::exponential_decay(0.1, {.decay_rate = 0.5, .transition_steps = 4, .transition_begin = 2, .staircase = true})(step));
    CHECK(schedules::linear_decay(1.0, 4, 8)(step) == schedules::linear_decay(1.0, {.warmup = 4, .steps = 8})(step));
    CHECK(schedules::cosine_decay(0.3, 7, 0.2)(step) == schedules::cosine_decay(0.3, {.decay_steps = 7, .alpha = 0.2})(step));
    CHECK(schedules::polynomial_decay(1.0, 0.2, 0.5, 12, 4)(step) ==
          schedules::polynomial_decay(1.0, {.end_value = 0.2, .power = 0.5, .transition_steps = 12, .transition_begin = 4})(step));
  }
  // Options not given keep Polaris' defaults.
  CHECK(schedules::exponential_decay(1.0, {.staircase = true})(19) == Catch::Approx(0.95));
}

TEST_CASE("a learning rate is a number or a schedule", "[optim]") {
  LearningRate a = 0.1;
  LearningRate b = schedules::constant(0.1);
  CHECK(!a.is_schedule());
  CHECK(b.is_schedule());
  LearningRate c = [](int64_t step) { return 0.5 / double(1 + step); };
  CHECK(c.is_schedule());
  // a plain lambda as the learning rate (evaluated on the host from the counter)
  {
    Params q{{"l", {{"w", ones({2}, DType::f64)}}}};
    auto tx = sgd([](int64_t step) { return 0.5 / double(1 + step); });
    State s = tx.init(q);
    for (int k = 0; k < 3; ++k) {
      auto [u, s2] = tx.update(q, s, q);
      CHECK(u["l"]["w"].to_vector<double>()[1] == Catch::Approx(-0.5 / (1 + k)));
      s = s2;
    }
  }
  // sgd with a schedule: the step size follows it
  Params p{{"l", {{"w", ones({3}, DType::f64)}}}};
  auto tx = sgd(schedules::linear_decay(1.0, 0, 4));
  State s = tx.init(p);
  for (int k = 0; k < 5; ++k) {
    auto [u, s2] = tx.update(p, s, p);
    CHECK(u["l"]["w"].to_vector<double>()[0] == Catch::Approx(-std::max(0.0, (4.0 - k) / 4.0)));
    s = s2;
  }
}
