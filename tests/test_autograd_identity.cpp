// Each argument position of value_and_grad is its own variable, as jax.grad's arguments are: the
// same tensor passed twice gets one gradient per position (issue 16, item 6), so f32 and f64 code
// of the same program agree even where .to(same dtype) returns the tensor itself.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using test::check_close;
using TV = std::vector<Tensor>;

namespace {
Tensor vec(std::vector<double> v, DType dt = DType::f64) {
  return from_vector(v, {static_cast<int64_t>(v.size())}).to(dt);
}
const test::Tol kTight{1e-12, 1e-12};
}  // namespace

TEST_CASE("the same tensor in two positions gets each position's gradient", "[autograd]") {
  Tensor r = vec({1, 2, 3});
  // f(a, b) = sum(a^2 * b): df/da = 2ab, df/db = a^2.
  auto [value, g] = value_and_grad([](const TV& p) { return sum(p[0] * p[0] * p[1]); }, TV{r, r});
  CHECK(value.item<double>() == Catch::Approx(1 + 8 + 27));
  REQUIRE(g.size() == 2);
  check_close(g[0], {2, 8, 18}, {3}, kTight);
  check_close(g[1], {1, 4, 9}, {3}, kTight);
  // A position f ignores gets zeros, even when another position holds the same tensor.
  auto g2 = grad([](const TV& p) { return sum(p[0] * 3.0); }, TV{r, r});
  check_close(g2[0], {3, 3, 3}, {3}, kTight);
  check_close(g2[1], {0, 0, 0}, {3}, kTight);
  // The same in a Params structure.
  Params params{{"a", {{"w", r}}}, {"b", {{"w", r}}}};
  auto gp = grad([](const Params& p) { return sum(p.at("a").at("w") - p.at("b").at("w") * 2.0); }, params);
  check_close(gp.at("a").at("w"), {1, 1, 1}, {3}, kTight);
  check_close(gp.at("b").at("w"), {-2, -2, -2}, {3}, kTight);
}

TEST_CASE("f32 and f64 versions of one program agree when a cast is the identity", "[autograd]") {
  // Passing x and x.to(f64): for f64 x the cast returns x itself, for f32 x a new tensor.
  auto program = [](const Tensor& x) {
    return grad([](const TV& p) { return sum(p[0].to(DType::f64) * p[1]); }, TV{x, x.to(DType::f64)});
  };
  TV g64 = program(vec({1.5, -2}, DType::f64));
  TV g32 = program(vec({1.5, -2}, DType::f32));
  for (size_t i = 0; i < 2; ++i) {
    INFO("position " << i);
    check_close(g64[i], {1.5, -2}, {2}, kTight);
    check_close(g32[i].to(DType::f64), {1.5, -2}, {2}, {1e-6, 1e-6});
  }
}

TEST_CASE("ordinary gradients are unchanged by the per-position aliases", "[autograd]") {
  Tensor x = vec({0.5, -1, 2});
  // The argument itself as the result (a vjp of the identity), and a parameter used twice.
  auto [y, gi] = vjp([](const Tensor& t) { return t; }, x, vec({1, 2, 3}));
  check_close(y, {0.5, -1, 2}, {3}, kTight);
  check_close(gi, {1, 2, 3}, {3}, kTight);
  check_close(grad([](const Tensor& t) { return sum(t * t); }, x), {1, -2, 4}, {3}, kTight);
  // The aliases share x's storage and leave its values alone.
  check_close(x, {0.5, -1, 2}, {3}, kTight);
  // Distinct tensors in two positions, as before.
  auto g = grad([](const TV& p) { return sum(p[0] * p[1]); }, TV{x, vec({3, 4, 5})});
  check_close(g[0], {3, 4, 5}, {3}, kTight);
  check_close(g[1], {0.5, -1, 2}, {3}, kTight);
}

TEST_CASE("grad of grad through the aliases, with a tensor in two positions", "[autograd]") {
  Tensor x = vec({1, -2, 0.5});
  // d/dx of the inner gradient of sum(a^2 b) with respect to a (= 2ab), at a = b = x: d/dx sum(2x^2) = 4x.
  auto outer = grad(
      [](const Tensor& t) {
        TV inner = grad([](const TV& p) { return sum(p[0] * p[0] * p[1]); }, TV{t, t});
        return sum(inner[0]);
      },
      x);
  check_close(outer, {4, -8, 2}, {3}, kTight);
  // Second derivative of x^3 (the inner argument aliases the outer one): 6x.
  auto d2 = grad([](const Tensor& t) { return sum(grad([](const Tensor& u) { return sum(u * u * u); }, t)); }, x);
  check_close(d2, {6, -12, 3}, {3}, kTight);
  // The outer function differentiates both positions of the inner call: inner[1] = a^2 = t^2.
  auto both = grad(
      [](const Tensor& t) {
        TV inner = grad([](const TV& p) { return sum(p[0] * p[0] * p[1]); }, TV{t, t});
        return sum(inner[0] + inner[1]);  // 2t^2 + t^2
      },
      x);
  check_close(both, {6, -12, 3}, {3}, kTight);
}
