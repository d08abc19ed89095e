// Every optimizer minimises a convex quadratic and the Rosenbrock function through value_and_grad:
// the optimization API works on any differentiable function, not only models.
#include <axon/optim.hpp>
#include <cmath>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {
struct Named {
  std::string name;
  GradientTransformation tx;
  int steps;
  double below = 0.05;  // the loss to reach
};

// f(p) = Σ c_i (p_i − target_i)², with its minimum 0.
double minimise_quadratic(const GradientTransformation& tx, int steps) {
  Tensor c = from_vector(std::vector<double>{1.0, 2.0, 0.5, 3.0, 1.5, 1.0}, {2, 3});
  Tensor target = from_vector(std::vector<double>{1.0, -2.0, 0.5, 0.0, 3.0, -1.0}, {2, 3});
  Tensor tb = from_vector(std::vector<double>{0.5, -0.5}, {2});
  // Starts away from 0: trust-ratio methods (fromage, lamb) take steps relative to ‖p‖.
  Params p{{"w", {{"kernel", full({2, 3}, 0.2, DType::f64)}, {"bias", full({2}, 0.2, DType::f64)}}}};
  auto loss = [&](const Params& q) {
    return add(sum(mul(c, square(sub(q.at("w").at("kernel"), target)))), sum(square(sub(q.at("w").at("bias"), tb))));
  };
  State s = tx.init(p);
  for (int k = 0; k < steps; ++k) {
    auto [l, g] = value_and_grad(loss, p);
    auto [u, s2] = tx.update(g, s, p);
    p = apply_updates(p, u);
    s = s2;
  }
  NoGrad ng;
  return loss(p).item<double>();
}

// Rosenbrock (1 − x)² + 100 (y − x²)² of two scalar tensors, from (0.3, 1.5); minimum 0 at (1, 1).
// (x starts positive: per-tensor trust ratios make steps relative to |x|, which cannot cross 0.)
double minimise_rosenbrock(const GradientTransformation& tx, int steps) {
  std::vector<Tensor> p{scalar_tensor(0.3, DType::f64), scalar_tensor(1.5, DType::f64)};
  auto f = [](const std::vector<Tensor>& q) {
    return add(square(rsub(1.0, q[0])), mul(square(sub(q[1], square(q[0]))), 100.0));
  };
  Params pp = as_params(p);
  State s = tx.init(pp);
  for (int k = 0; k < steps; ++k) {
    auto [l, g] = value_and_grad(f, to_vector(pp));
    auto [u, s2] = tx.update(as_params(g), s, pp);
    pp = apply_updates(pp, u);
    s = s2;
  }
  NoGrad ng;
  return f(to_vector(pp)).item<double>();
}
}  // namespace

TEST_CASE("every optimizer converges on a convex quadratic", "[optim]") {
  std::vector<Named> cases{
      {"adabelief", adabelief(0.05), 600},
      {"adagrad", adagrad(0.5), 600},
      {"adam", adam(0.05), 600},
      {"adamw", adamw(0.05, {.decay = 1e-4}), 600},
      {"fromage", fromage(0.005), 1500},
      {"lamb", lamb(schedules::cosine_decay(0.05, 600)), 600},
      {"noisy_sgd", noisy_sgd(0.05, 1e-6), 400},
      {"radam", radam(0.05), 600},
      {"rmsprop", rmsprop(0.01), 600},
      {"rmsprop centred + momentum", rmsprop(0.005, {.centered = true, .momentum = 0.5}), 600},
      {"sgd", sgd(0.05), 400},
      {"sgd momentum", sgd(0.02, {.momentum = 0.9}), 400},
      {"sgd nesterov", sgd(0.02, {.momentum = 0.9, .nesterov = true}), 400},
      {"yogi", yogi(0.05), 800},
  };
  for (const auto& c : cases) {
    double loss = minimise_quadratic(c.tx, c.steps);
    INFO(c.name << ": final loss " << loss);
    CHECK(loss < 1e-3);
  }
}

TEST_CASE("every optimizer makes progress on the Rosenbrock function of two scalars", "[optim]") {
  // start loss: 0.7² + 100·(1.5−0.09)² ≈ 199
  std::vector<Named> cases{
      {"adabelief", adabelief(0.02), 3000},
      {"adagrad", adagrad(0.3), 3000},
      {"adam", adam(0.02), 3000},
      {"adamw", adamw(0.02), 3000},
      // On scalars fromage's step is lr·|p|·sign(g) (a multiplicative sign method): it zig-zags to a
      // standstill in the curved valley near loss 0.055, still a 3600-fold reduction.
      {"fromage", fromage(0.002), 6000, 0.06},
      {"lamb", lamb(schedules::cosine_decay(0.02, 3000)), 3000},
      {"noisy_sgd", noisy_sgd(1e-3, 1e-6), 3000},
      // RAdam's first steps are unnormalised momentum steps: clip them on this steep valley.
      {"clip + radam", chain({clip_by_global_norm(1.0), radam(0.02)}), 3000},
      {"rmsprop", rmsprop(1e-3), 3000},
      {"sgd", sgd(1e-3), 3000},
      {"sgd nesterov", sgd(5e-4, {.momentum = 0.9, .nesterov = true}), 3000},
      {"yogi", yogi(0.02), 3000},
  };
  for (const auto& c : cases) {
    double loss = minimise_rosenbrock(c.tx, c.steps);
    INFO(c.name << ": final loss " << loss);
    CHECK(loss < c.below);
  }
}
