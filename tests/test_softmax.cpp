// softmax and log_softmax against float64 references computed here.
#include <cmath>
#include <limits>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {

constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

// Reference along `axis` of a row-major array of `shape`.
std::vector<double> ref_softmax(const std::vector<double>& v, const Shape& shape, int64_t axis, bool log) {
  int64_t r = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += r;
  int64_t outer = 1, n = shape.empty() ? 1 : shape[axis], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= shape[d];
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return (o * n + k) * inner + i; };
      double m = -INFINITY;
      for (int64_t k = 0; k < n; ++k) m = std::max(m, v[at(k)]);
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += std::exp(v[at(k)] - m);
      for (int64_t k = 0; k < n; ++k)
        out[at(k)] = log ? v[at(k)] - m - std::log(s) : std::exp(v[at(k)] - m) / s;
    }
  return out;
}

Tensor apply(bool log, const Tensor& x, int64_t axis) {
  return log ? log_softmax(x, axis) : softmax(x, axis);
}

}  // namespace

TEST_CASE("softmax and log_softmax along every axis, dtypes and layouts", "[ops][softmax]") {
  for (bool log : {false, true}) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      for (int layout = 0; layout < 3; ++layout) {
        Tensor x = random_tensor({3, 4, 5}, dt, -3, 3, 11);
        if (layout == 1) x = random_tensor({5, 3, 4}, dt, -3, 3, 12).permute({1, 2, 0});
        if (layout == 2) x = random_tensor({3, 4, 10}, dt, -3, 3, 13).slice(2, 1, 10, 2);
        auto v = x.to_vector<double>();
        for (int64_t axis : {0, 1, 2, -1, -3}) {
          INFO((log ? "log_softmax " : "softmax ")
               << dtype_name(dt) << " layout " << layout << " axis " << axis);
          Tensor y = apply(log, x, axis);
          CHECK(y.dtype() == dt);
          auto tol = tol_for(dt);
          if (log && (dt == DType::bf16 || dt == DType::f16)) tol.atol = 2e-2;
          check_close(y, ref_softmax(v, x.shape(), axis, log), x.shape(), tol);
          check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return apply(log, in[0], axis); }, {x},
                                 tol);
        }
      }
    }
  }
}

TEST_CASE("softmax rows of every length the CUDA paths distinguish", "[ops][softmax]") {
  // Warp rows (<= 1024), block rows cached in shared memory (aligned and not), and columns.
  for (int64_t n : {int64_t(1), int64_t(7), int64_t(1024), int64_t(1025), int64_t(4099), int64_t(16384)}) {
    for (bool log : {false, true}) {
      INFO("n " << n << (log ? " log_softmax" : " softmax"));
      Tensor x = random_tensor({3, n}, DType::f32, -5, 5, 21);
      check_close(apply(log, x, 1), ref_softmax(x.to_vector<double>(), x.shape(), 1, log), x.shape(),
                  {1e-5, 1e-7});
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return apply(log, in[0], 1); }, {x},
                             {1e-5, 1e-7});
      Tensor xb = random_tensor({2, n}, DType::bf16, -5, 5, 22);
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return apply(log, in[0], -1); }, {xb},
                             {1.6e-2, 1e-3});
      Tensor xc = random_tensor({n, 3}, DType::f64, -5, 5, 23);
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return apply(log, in[0], 0); }, {xc},
                             {1e-12, 1e-14});
    }
  }
}

TEST_CASE("softmax is stable for |x| = 1000 and propagates NaN", "[ops][softmax]") {
  Tensor x = tensor({1000, 999, 998, -1000, -999, -1000}, {2, 3});
  auto v = x.to_vector<double>();
  for (bool log : {false, true}) {
    Tensor y = apply(log, x, 1);
    for (double t : y.to_vector<double>()) CHECK(std::isfinite(t));
    check_close(y, ref_softmax(v, {2, 3}, 1, log), {2, 3}, tol_for(DType::f32));
    check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return apply(log, in[0], 1); }, {x},
                           {1e-5, 1e-6});
  }
  Tensor inf_row = tensor({-kInfF, 0, 1, -kInfF}, {1, 4});
  check_close(softmax(inf_row), ref_softmax(inf_row.to_vector<double>(), {1, 4}, 1, false), {1, 4},
              tol_for(DType::f32));
  auto ls = log_softmax(inf_row).to_vector<double>();
  CHECK(ls[0] == -INFINITY);
  Tensor nan_row = tensor({1, kNaNF, 2, 0, 1, 2}, {2, 3});
  auto s = softmax(nan_row, 1).to_vector<double>();
  for (int i = 0; i < 3; ++i) CHECK(std::isnan(s[i]));
  for (int i = 3; i < 6; ++i) CHECK(std::isfinite(s[i]));
}

TEST_CASE("softmax of size-1 axes, 0-d and empty tensors; integers are promoted to f32", "[ops][softmax]") {
  Tensor x = random_tensor({4, 1, 3}, DType::f32, -1, 1, 31);
  test::check_equal(softmax(x, 1), std::vector<double>(12, 1.0), {4, 1, 3});
  test::check_equal(log_softmax(x, 1), std::vector<double>(12, 0.0), {4, 1, 3});
  test::check_equal(softmax(scalar_tensor(3.0)), {1}, {});
  Tensor e = zeros({0, 5});
  CHECK(softmax(e, 1).shape() == Shape{0, 5});
  CHECK(log_softmax(e, 0).shape() == Shape{0, 5});
  Tensor xi = from_vector(std::vector<int32_t>{1, 2, 3, 0}, {2, 2});
  Tensor y = softmax(xi, 1);
  CHECK(y.dtype() == DType::f32);
  check_close(y, ref_softmax({1, 2, 3, 0}, {2, 2}, 1, false), {2, 2}, tol_for(DType::f32));
  CHECK(log_softmax(xi, 0).dtype() == DType::f32);
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {e}, {0, 0});
}

TEST_CASE("softmax errors name the op, the axis and the rank", "[ops][softmax][errors]") {
  Tensor x = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(softmax(x, 2), "softmax: axis 2 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(log_softmax(x, -3), "log_softmax: axis -3 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(softmax(Tensor()), "softmax: input is an undefined tensor");
}

TEST_CASE("gradients of softmax and log_softmax", "[autograd][softmax]") {
  Tensor x = random_tensor({3, 4, 5}, DType::f64, -2, 2, 41);
  for (int64_t axis : {0, 1, -1}) {
    INFO("axis " << axis);
    check_grad([axis](const std::vector<Tensor>& in) { return softmax(in[0], axis); }, {x});
    check_grad([axis](const std::vector<Tensor>& in) { return log_softmax(in[0], axis); }, {x});
  }
  check_grad([](const std::vector<Tensor>& in) { return softmax(in[0].t(), 0); }, {x.select(0, 1)});
  Tensor big = tensor({1000, 999, -1000}).to(DType::f64);
  check_grad([](const std::vector<Tensor>& in) { return log_softmax(in[0]); }, {big});
  // Second derivatives through the backward formulas.
  Tensor v = random_tensor({5}, DType::f64, -1, 1, 42);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return grad([](const Tensor& t) { return sum(mul(softmax(t), softmax(t))); }, in[0]);
      },
      {v});
  check_grad(
      [](const std::vector<Tensor>& in) {
        return grad([](const Tensor& t) { return sum(square(log_softmax(t))); }, in[0]);
      },
      {v});
}

namespace {
// The input gradient along `axis` from the f64 reference output y and output gradient g:
// y (g - sum(g y)) for softmax, g - exp(y) sum(g) for log-softmax.
std::vector<double> ref_softmax_grad(const std::vector<double>& y, const std::vector<double>& g, const Shape& shape,
                                     int64_t axis, bool log) {
  int64_t outer = 1, n = shape[axis], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
  std::vector<double> out(y.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return (o * n + k) * inner + i; };
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += log ? g[at(k)] : g[at(k)] * y[at(k)];
      for (int64_t k = 0; k < n; ++k)
        out[at(k)] = log ? g[at(k)] - std::exp(y[at(k)]) * s : y[at(k)] * (g[at(k)] - s);
    }
  return out;
}
}  // namespace

TEST_CASE("the fused softmax backward against a float64 reference, on every path", "[autograd][softmax]") {
  // Rows short and long (the CUDA warp and block paths), columns, every float dtype, and an output
  // gradient that is a broadcast view (as sum's backward gives).
  struct Case {
    Shape shape;
    int64_t axis;
  };
  for (const Case& c : {Case{{3, 1}, 1}, Case{{4, 37}, 1}, Case{{2, 1024}, 1}, Case{{2, 3001}, 1},
                        Case{{5, 6, 7}, 1}, Case{{40, 3}, 0}}) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      for (bool log : {false, true}) {
        INFO((log ? "log_softmax " : "softmax ") << dtype_name(dt) << " " << to_string(c.shape) << " axis "
                                                 << c.axis);
        Tensor x = random_tensor(c.shape, dt, -3, 3, 51);
        Tensor g = random_tensor(c.shape, dt, -1, 1, 52);
        auto [y, dx] = vjp([&](const Tensor& t) { return apply(log, t, c.axis); }, x, g);
        REQUIRE(dx.dtype() == dt);
        // Against the formula in f64 on the op's own (rounded) output: checks the kernel alone.
        auto expect = ref_softmax_grad(y.to_vector<double>(), g.to_vector<double>(), c.shape, c.axis, log);
        test::Tol tol = tol_for(dt);
        if (dt == DType::bf16 || dt == DType::f16) tol = {2e-2, 2e-2};
        check_close(dx, expect, c.shape, tol);
        check_cuda_matches_cpu(
            [&](const std::vector<Tensor>& in) {
              return vjp([&](const Tensor& t) { return apply(log, t, c.axis); }, in[0], in[1]).second;
            },
            {x, g}, tol);
      }
    }
  }
  // A broadcast output gradient (stride 0) and a non-contiguous input.
  Tensor x = random_tensor({6, 5}, DType::f64, -2, 2, 53).t();
  Tensor g = random_tensor({1, 6}, DType::f64, -1, 1, 54).expand({5, 6});
  for (bool log : {false, true}) {
    auto [y, dx] = vjp([&](const Tensor& t) { return apply(log, t, 1); }, x, g);
    check_close(dx, ref_softmax_grad(y.to_vector<double>(), g.contiguous().to_vector<double>(), {5, 6}, 1, log),
                {5, 6}, tol_for(DType::f64));
  }
}

TEST_CASE("the fused softmax backward against finite differences, first and second order",
          "[autograd][softmax]") {
  for (int64_t axis : {0, 1}) {
    Tensor x = random_tensor({4, 9}, DType::f64, -2, 2, 55);
    Tensor g = random_tensor({4, 9}, DType::f64, -1, 1, 56);
    for (bool log : {false, true}) {
      INFO((log ? "log_softmax" : "softmax") << " axis " << axis);
      // The backward as a function of x and of g (its own backward: the second-order formulas).
      check_grad(
          [&](const std::vector<Tensor>& in) {
            return vjp([&](const Tensor& t) { return apply(log, t, axis); }, in[0], in[1]).second;
          },
          {x, g});
    }
  }
}
