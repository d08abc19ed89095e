// Initializers: exact values for the constant ones, statistics on large draws for the random ones,
// fans for dense and HWIO conv kernels, orthogonality, and seed determinism across devices.
#include <cmath>

#include <axon/initializers.hpp>

#include "harness.hpp"

using namespace axon;
namespace init = axon::initializers;
using axon::test::check_close;
using axon::test::check_equal;

namespace {
struct Stats {
  double mean = 0, var = 0, min = INFINITY, max = -INFINITY;
};
Stats stats(const Tensor& t) {
  auto v = t.to(Device::cpu()).to(DType::f64).contiguous().to_vector<double>();
  Stats s;
  for (double x : v) {
    s.mean += x;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  s.mean /= double(v.size());
  for (double x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= double(v.size());
  return s;
}
// Variance of a standard normal truncated to [-2, 2].
double truncated_var() {
  const double phi2 = std::exp(-2.0) / std::sqrt(2 * M_PI), z = std::erf(2 / std::sqrt(2.0));
  return 1 - 4 * phi2 / z;
}
}  // namespace

TEST_CASE("constant initializers", "[initializers]") {
  check_equal(init::zeros({2, 3}), std::vector<double>(6, 0.0), {2, 3});
  check_equal(init::ones({2, 2}, {.dtype = DType::f64}), std::vector<double>(4, 1.0), {2, 2});
  CHECK(init::ones({2}, {.dtype = DType::bf16}).dtype() == DType::bf16);
  check_equal(init::full({3}, 2.5), {2.5, 2.5, 2.5}, {3});
  check_equal(init::identity({2, 3}), {1, 0, 0, 0, 1, 0}, {2, 3});
  AXON_REQUIRE_THROWS_WITH(init::identity({2, 3, 4}), "identity: needs a rank-2 shape");
}

TEST_CASE("fans for dense and HWIO conv kernels", "[initializers]") {
  CHECK(init::compute_fans({}) == std::pair<double, double>{1, 1});
  CHECK(init::compute_fans({7}) == std::pair<double, double>{7, 7});
  CHECK(init::compute_fans({3, 5}) == std::pair<double, double>{3, 5});
  CHECK(init::compute_fans({3, 3, 16, 32}) == std::pair<double, double>{9 * 16, 9 * 32});
  CHECK(init::compute_fans({5, 4, 8}) == std::pair<double, double>{20, 40});
  // OIHW {out 32, in 16, 3, 3}
  CHECK(init::compute_fans({32, 16, 3, 3}, true) == std::pair<double, double>{16 * 9, 32 * 9});
  CHECK(init::compute_fans({32, 16, 3, 3}) == std::pair<double, double>{16 * 3 * 32, 3 * 32 * 16});
}

TEST_CASE("random initializers: distribution statistics", "[initializers]") {
  const Shape big{400, 500};  // fan_in 400, fan_out 500
  auto close = [](double a, double b, double rel) { return std::abs(a - b) <= rel * std::abs(b) + 1e-4; };
  {
    Stats s = stats(init::uniform(big, {.seed = 1}));
    CHECK(s.min >= -0.01);
    CHECK(s.max <= 0.01);
    CHECK(close(s.var, 0.01 * 0.01 / 3, 0.02));
    CHECK(std::abs(s.mean) < 1e-4);
  }
  {
    Stats s = stats(init::normal(big, {.mean = 0.5, .scale = 0.2, .seed = 2}));
    CHECK(close(s.mean, 0.5, 0.01));
    CHECK(close(s.var, 0.04, 0.02));
  }
  struct Expect {
    const char* name;
    Tensor t;
    double var;
    bool truncated, uniform;
  };
  const double fin = 400, favg = 450;
  std::vector<Expect> cases = {
      {"lecun_uniform", init::lecun_uniform(big, {.seed = 3}), 1 / fin, false, true},
      {"lecun_normal", init::lecun_normal(big, {.seed = 4}), 1 / fin, true, false},
      {"glorot_uniform", init::glorot_uniform(big, {.seed = 5}), 1 / favg, false, true},
      {"glorot_normal", init::glorot_normal(big, {.seed = 6}), 1 / favg, true, false},
      {"he_uniform", init::he_uniform(big, {.seed = 7}), 2 / fin, false, true},
      {"he_normal", init::he_normal(big, {.seed = 8}), 2 / fin, true, false},
      {"vs fan_out normal",
       init::variance_scaling(big, {.scale = 3, .mode = init::FanMode::fan_out, .seed = 9}), 3.0 / 500, false, false},
      {"vs fan_avg uniform f64",
       init::variance_scaling(big, {.scale = 0.5, .mode = init::FanMode::fan_avg,
                                    .distribution = init::Distribution::uniform, .dtype = DType::f64, .seed = 10}),
       0.5 / favg, false, true},
  };
  for (auto& c : cases) {
    INFO(c.name);
    Stats s = stats(c.t);
    CHECK(std::abs(s.mean) < 3 * std::sqrt(c.var / 2e5) + 1e-6);
    if (c.uniform) {
      const double limit = std::sqrt(3 * c.var);
      CHECK(s.min >= -limit);
      CHECK(s.max <= limit);
      CHECK(s.max > 0.99 * limit);
      CHECK(close(s.var, c.var, 0.02));
    } else if (c.truncated) {
      // sigma = sqrt(var) / 0.8796...: values within 2 sigma, and the truncated variance matches var
      const double sigma = std::sqrt(c.var) / 0.87962566103423978;
      CHECK(s.min >= -2 * sigma * (1 + 1e-6));
      CHECK(s.max <= 2 * sigma * (1 + 1e-6));
      CHECK(s.max > 1.95 * sigma);
      CHECK(close(s.var, sigma * sigma * truncated_var(), 0.02));
      CHECK(close(s.var, c.var, 0.03));  // 0.8796 is the truncated normal's standard deviation
    } else {
      CHECK(close(s.var, c.var, 0.02));
    }
  }
  // HWIO conv kernel: fan_in = 3 * 3 * 64
  Stats conv = stats(init::he_uniform({3, 3, 64, 128}, {.seed = 11}));
  CHECK(close(conv.var, 2.0 / (9 * 64), 0.02));
  Stats oihw = stats(init::he_uniform({128, 64, 3, 3}, {.seed = 12, .channels_first = true}));
  CHECK(close(oihw.var, 2.0 / (9 * 64), 0.02));
  CHECK(init::glorot_uniform({0, 10}).shape() == Shape{0, 10});
}

TEST_CASE("random initializers are seeded and deterministic", "[initializers]") {
  Tensor a = init::glorot_uniform({8, 9}, {.seed = 42}), b = init::glorot_uniform({8, 9}, {.seed = 42});
  check_close(a, b, {0, 0});
  Tensor c = init::glorot_uniform({8, 9}, {.seed = 43});
  CHECK(sum(abs(sub(a, c))).item<float>() > 0.1f);
  // a shared generator advances: two draws differ, and replaying the generator repeats them
  Generator g(7);
  Tensor d1 = init::he_normal({16}, {.generator = &g}), d2 = init::he_normal({16}, {.generator = &g});
  CHECK(sum(abs(sub(d1, d2))).item<float>() > 0.1f);
  Generator g2(7);
  check_close(init::he_normal({16}, {.generator = &g2}), d1, {0, 0});
  CHECK(init::normal({4}, {.dtype = DType::bf16, .seed = 1}).dtype() == DType::bf16);
  AXON_REQUIRE_THROWS_WITH(init::uniform({4}, {.dtype = DType::i32}), "floating dtype");
}

TEST_CASE("orthogonal", "[initializers]") {
  for (Shape s : {Shape{6, 6}, Shape{10, 4}, Shape{4, 10}, Shape{2, 3, 5}}) {
    for (auto dist : {init::Distribution::normal, init::Distribution::uniform}) {
      INFO(to_string(s));
      Tensor q = init::orthogonal(s, {.distribution = dist, .dtype = DType::f64, .seed = 3});
      CHECK(q.shape() == s);
      const int64_t n = s.back(), m = numel(s) / n;
      Tensor q2 = q.reshape({m, n});
      // tall: columns orthonormal (Q^T Q = I); wide: rows orthonormal (Q Q^T = I)
      Tensor gram = m >= n ? matmul(q2.t(), q2) : matmul(q2, q2.t());
      const int64_t k = std::min(m, n);
      std::vector<double> eye_v(size_t(k * k), 0.0);
      for (int64_t i = 0; i < k; ++i) eye_v[i * k + i] = 1;
      check_close(gram, eye_v, {k, k}, {0, 1e-12});
    }
  }
  check_close(init::orthogonal({5, 5}, {.seed = 9}), init::orthogonal({5, 5}, {.seed = 9}), {0, 0});
  CHECK(init::orthogonal({5, 5}, {.dtype = DType::f32}).dtype() == DType::f32);
  AXON_REQUIRE_THROWS_WITH(init::orthogonal({5}), "orthogonal: needs a shape of rank >= 2");
}

TEST_CASE("initializers: the same seed gives the same tensor on CPU and CUDA", "[initializers][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  const Shape s{33, 65};
  // identical draws; the affine map may round differently where nvcc contracts it into an FMA
  check_close(init::uniform(s, {.device = gpu, .seed = 5}).to(Device::cpu()), init::uniform(s, {.seed = 5}),
              {1e-6, 1e-9});
  check_close(init::normal(s, {.device = gpu, .seed = 5}).to(Device::cpu()), init::normal(s, {.seed = 5}), {1e-6, 1e-7});
  check_close(init::glorot_uniform(s, {.device = gpu, .seed = 6}).to(Device::cpu()), init::glorot_uniform(s, {.seed = 6}),
              {1e-6, 1e-9});
  check_close(init::he_normal(s, {.device = gpu, .seed = 7}).to(Device::cpu()), init::he_normal(s, {.seed = 7}),
              {1e-5, 1e-6});
  check_close(init::orthogonal(s, {.device = gpu, .seed = 8}).to(Device::cpu()), init::orthogonal(s, {.seed = 8}),
              {0, 0});
  check_close(init::variance_scaling(s, {.distribution = init::Distribution::normal, .dtype = DType::f64,
                                         .device = gpu, .seed = 9}).to(Device::cpu()),
              init::variance_scaling(s, {.distribution = init::Distribution::normal, .dtype = DType::f64, .seed = 9}),
              {1e-12, 1e-14});
}
