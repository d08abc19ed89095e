// Reductions: sum, mean, prod, max, min, argmax, argmin, var, std, logsumexp, norm, all, any,
// cumsum and sum_to, against float64 references computed here.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

// The elements of each output position of a reduction, in row-major order of the reduced axes,
// with their position along the reduced axes (what argmax returns for one axis).
struct Groups {
  Shape out_shape;
  std::vector<std::vector<double>> values;
};

Groups group(const std::vector<double>& v, const Shape& shape, Axes axes, bool keepdims) {
  int64_t r = static_cast<int64_t>(shape.size());
  std::vector<bool> red(r, axes.empty());
  for (auto a : axes) red[a < 0 ? a + r : a] = true;
  Groups g;
  Shape kept;
  for (int64_t d = 0; d < r; ++d) {
    if (!red[d]) {
      g.out_shape.push_back(shape[d]);
      kept.push_back(shape[d]);
    } else if (keepdims) {
      g.out_shape.push_back(1);
    }
  }
  g.values.assign(static_cast<size_t>(numel(kept)), {});
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    int64_t rem = i, out = 0, mul = 1;
    for (int64_t d = r - 1; d >= 0; --d) {
      int64_t c = rem % shape[d];
      rem /= shape[d];
      if (!red[d]) {
        out += c * mul;
        mul *= shape[d];
      }
    }
    g.values[out].push_back(v[i]);
  }
  return g;
}

template <class F>
std::vector<double> map_groups(const Groups& g, F f) {
  std::vector<double> out;
  for (const auto& vals : g.values) out.push_back(f(vals));
  return out;
}

double ref_sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double ref_prod(const std::vector<double>& v) {
  double p = 1;
  for (double x : v) p *= x;
  return p;
}
double ref_max(const std::vector<double>& v) {
  double m = -kInf;
  for (double x : v) {
    if (std::isnan(x)) return x;
    m = std::max(m, x);
  }
  return m;
}
double ref_min(const std::vector<double>& v) {
  double m = kInf;
  for (double x : v) {
    if (std::isnan(x)) return x;
    m = std::min(m, x);
  }
  return m;
}
double ref_var(const std::vector<double>& v, int64_t correction) {
  double m = ref_sum(v) / static_cast<double>(v.size()), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(static_cast<int64_t>(v.size()) - correction);
}
double ref_lse(const std::vector<double>& v) {
  double m = ref_max(v), s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

// A [3, 4, 5] tensor whose memory is laid out as [5, 3, 4] (a permuted, non-contiguous view).
Tensor permuted_input(DType dt, uint64_t seed) {
  Tensor base = random_tensor({5, 3, 4}, dt, -2, 2, seed);
  Tensor x = base.permute({1, 2, 0});
  REQUIRE_FALSE(x.is_contiguous());
  return x;
}
// A [3, 4, 5] view taking every other element of the last axis.
Tensor sliced_input(DType dt, uint64_t seed) {
  Tensor x = random_tensor({3, 4, 10}, dt, -2, 2, seed).slice(2, 0, 10, 2);
  REQUIRE_FALSE(x.is_contiguous());
  return x;
}

const std::vector<Axes> kAxesSets = {{}, {0}, {-1}, {1}, {0, 2}, {0, 1}, {1, 2}, {2, 0, 1}};

}  // namespace

TEST_CASE("sum over axis sets, keepdims, layouts and dtypes", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    for (int layout = 0; layout < 3; ++layout) {
      Tensor x = layout == 0   ? random_tensor({3, 4, 5}, dt, -2, 2, 7)
                 : layout == 1 ? permuted_input(dt, 8)
                               : sliced_input(dt, 9);
      auto v = x.to_vector<double>();
      for (const auto& axes : kAxesSets) {
        for (bool keep : {false, true}) {
          INFO(dtype_name(dt) << " layout " << layout << " axes " << to_string(axes) << " keepdims " << keep);
          auto g = group(v, x.shape(), axes, keep);
          Tensor y = sum(x, axes, keep);
          CHECK(y.dtype() == dt);
          CHECK(y.is_contiguous());
          auto tol = tol_for(dt);
          if (dt == DType::bf16 || dt == DType::f16) tol.atol = 4e-2;  // one rounding of a sum near 0
          check_close(y, map_groups(g, ref_sum), g.out_shape, tol);
          check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return sum(in[0], axes, keep); }, {x},
                                 tol);
        }
      }
    }
  }
}

TEST_CASE("sum keeps the kept axes in logical order when it reads a permuted input in place",
          "[ops][reduce]") {
  // memory [4, 5, 6]; logical [6, 4, 5]: reducing logical axis 1 (the outermost in memory) reads in place,
  // and the result's axes come out as [5, 6] in memory order.
  Tensor base = random_tensor({4, 5, 6}, DType::f64, -1, 1, 3);
  Tensor x = base.permute({2, 0, 1});
  auto g = group(x.to_vector<double>(), x.shape(), {1}, false);
  check_close(sum(x, {1}), map_groups(g, ref_sum), g.out_shape, tol_for(DType::f64));
  auto g2 = group(x.to_vector<double>(), x.shape(), {1, 2}, true);
  check_close(sum(x, {1, 2}, true), map_groups(g2, ref_sum), g2.out_shape, tol_for(DType::f64));
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {x},
                         tol_for(DType::f32));
}

TEST_CASE("sum of size-1 axes, 0-d tensors, integers and bool", "[ops][reduce]") {
  Tensor x = random_tensor({3, 1, 5}, DType::f32, -1, 1, 11);
  auto v = x.to_vector<double>();
  auto g = group(v, x.shape(), {1}, false);
  check_close(sum(x, {1}), map_groups(g, ref_sum), g.out_shape, tol_for(DType::f32));
  auto g2 = group(v, x.shape(), {0, 1}, true);
  check_close(sum(x, {0, 1}, true), map_groups(g2, ref_sum), g2.out_shape, tol_for(DType::f32));

  Tensor s = scalar_tensor(2.5);
  check_close(sum(s), {2.5}, {}, tol_for(DType::f32));
  check_close(sum(s, {0}), {2.5}, {}, tol_for(DType::f32));
  check_close(sum(s, {}, true), {2.5}, {}, tol_for(DType::f32));

  Tensor xi = from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 2000000000}, {2, 3});
  Tensor si = sum(xi, {1});
  CHECK(si.dtype() == DType::i64);
  test::check_equal(si, {6, 2000000009}, {2});
  Tensor all_i = sum(xi);
  CHECK(all_i.dtype() == DType::i64);
  CHECK(all_i.item<int64_t>() == 2000000015);

  Tensor b = gt(random_tensor({4, 6}, DType::f32, -1, 1, 12), Scalar(0));
  auto bv = b.to_vector<double>();
  Tensor sb = sum(b, {0});
  CHECK(sb.dtype() == DType::i64);
  auto gb = group(bv, {4, 6}, {0}, false);
  test::check_equal(sb, map_groups(gb, ref_sum), gb.out_shape);
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {xi}, {0, 0});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {0}); }, {b}, {0, 0});
}

TEST_CASE("sum and the others of empty tensors", "[ops][reduce]") {
  Tensor e = zeros({0, 3});
  test::check_equal(sum(e), {0}, {});
  test::check_equal(sum(e, {0}), {0, 0, 0}, {3});
  test::check_equal(sum(e, {0}, true), {0, 0, 0}, {1, 3});
  CHECK(sum(e, {1}).shape() == Shape{0});
  test::check_equal(prod(e, {0}), {1, 1, 1}, {3});
  test::check_equal(all(e, {0}), {1, 1, 1}, {3});
  test::check_equal(any(e, {0}), {0, 0, 0}, {3});
  auto m = mean(e, {0}).to_vector<double>();
  REQUIRE(m.size() == 3);
  CHECK(std::isnan(m[0]));
  CHECK(max(e, {1}).shape() == Shape{0});  // nothing to reduce, nothing to fill
  AXON_REQUIRE_THROWS_WITH(max(e), "max: cannot reduce over an empty axis of f32[0, 3]");
  AXON_REQUIRE_THROWS_WITH(min(e, {0}), "min: cannot reduce over an empty axis");
  AXON_REQUIRE_THROWS_WITH(argmax(e, 0), "argmax: cannot reduce over an empty axis");
  test::check_equal(logsumexp(e, {0}), {-kInf, -kInf, -kInf}, {3});
  test::check_equal(norm(e), {0}, {});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {0}); }, {e}, {0, 0});
}

TEST_CASE("sum of 1e6 f32 values matches a float64 reference", "[ops][reduce]") {
  const int64_t n = 1000000;
  auto v = test::random_values(n, 0, 1, 21);
  Tensor x = from_vector(v, {n}).to(DType::f32);
  auto xv = x.to_vector<double>();  // the f32-rounded inputs
  double ref = ref_sum(xv);
  check_close(sum(x), {ref}, {}, tol_for(DType::f32));
  check_close(mean(x), {ref / n}, {}, tol_for(DType::f32));
  // Also as 1000 rows of 1000 and as columns.
  Tensor x2 = x.reshape({1000, 1000});
  auto g = group(xv, {1000, 1000}, {0}, false);
  check_close(sum(x2, {0}), map_groups(g, ref_sum), {1000}, tol_for(DType::f32));
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x}, {1e-5, 1e-3});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {0}); }, {x2}, {1e-5, 1e-4});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {x2}, {1e-5, 1e-4});
}

TEST_CASE("CUDA reduction paths: long rows split over blocks, odd lengths and offsets",
          "[ops][reduce][cuda]") {
  AXON_REQUIRE_CUDA();
  for (int64_t n : {int64_t(1), int64_t(31), int64_t(513), int64_t(4097), int64_t(70001), int64_t(1 << 20)}) {
    Tensor x = random_tensor({n + 3}, DType::f32, -1, 1, 5).slice(0, 3, n + 3);  // unaligned start
    INFO("n " << n);
    for (auto op : {0, 1, 2, 3}) {
      check_cuda_matches_cpu(
          [op](const std::vector<Tensor>& in) {
            switch (op) {
              case 0:
                return sum(in[0]);
              case 1:
                return max(in[0]);
              case 2:
                return argmin(in[0], 0);
              default:
                return cast(any(gt(in[0], Scalar(0.999))), DType::f32);
            }
          },
          {x}, {1e-5, 1e-3});
    }
    Tensor rows = random_tensor({3, n}, DType::bf16, -1, 1, 6);
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {rows},
                           {2e-2, 5e-2});
  }
}

TEST_CASE("mean, including integers (f32 result)", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    Tensor x = permuted_input(dt, 31);
    auto v = x.to_vector<double>();
    for (const auto& axes : kAxesSets) {
      INFO(dtype_name(dt) << " axes " << to_string(axes));
      auto g = group(v, x.shape(), axes, true);
      auto tol = tol_for(dt);
      if (dt == DType::bf16 || dt == DType::f16) tol.atol = 1e-2;
      check_close(mean(x, axes, true), map_groups(g, [](auto& s) { return ref_sum(s) / s.size(); }),
                  g.out_shape, tol);
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return mean(in[0], axes); }, {x}, tol);
    }
  }
  Tensor xi = from_vector(std::vector<int64_t>{1, 2, 4, 7}, {2, 2});
  Tensor m = mean(xi, {1});
  CHECK(m.dtype() == DType::f32);
  check_close(m, {1.5, 5.5}, {2}, tol_for(DType::f32));
}

TEST_CASE("prod", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = random_tensor({3, 4, 5}, dt, 0.5, 1.5, 41);
    auto v = x.to_vector<double>();
    for (const auto& axes : kAxesSets) {
      auto g = group(v, x.shape(), axes, false);
      check_close(prod(x, axes), map_groups(g, ref_prod), g.out_shape, tol_for(dt));
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return prod(in[0], axes); }, {x},
                             {1e-5, 1e-6});
    }
  }
  Tensor xi = from_vector(std::vector<int32_t>{2, 3, 4, 100000, 100000, 3}, {2, 3});
  Tensor p = prod(xi, {1});
  CHECK(p.dtype() == DType::i64);
  test::check_equal(p, {24, 30000000000.0}, {2});
}

TEST_CASE("max and min: NaN propagates, integers keep their dtype", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    Tensor x = sliced_input(dt, 51);
    auto v = x.to_vector<double>();
    for (const auto& axes : kAxesSets) {
      for (bool keep : {false, true}) {
        auto g = group(v, x.shape(), axes, keep);
        check_close(max(x, axes, keep), map_groups(g, ref_max), g.out_shape, {0, 0});
        check_close(min(x, axes, keep), map_groups(g, ref_min), g.out_shape, {0, 0});
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return max(in[0], axes, keep); }, {x},
                               {0, 0});
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return min(in[0], axes, keep); }, {x},
                               {0, 0});
      }
    }
  }
  Tensor xn = tensor({1, kNaNF, 3, -1, 2, 5}, {2, 3});
  auto mx = max(xn, {1}).to_vector<double>();
  CHECK(std::isnan(mx[0]));
  CHECK(mx[1] == 5);
  auto mn = min(xn, {0}).to_vector<double>();
  CHECK(mn[0] == -1);
  CHECK(std::isnan(mn[1]));
  CHECK(mn[2] == 3);
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return max(in[0], {1}); }, {xn}, {0, 0});

  Tensor xi = from_vector(std::vector<int64_t>{-5, 9, 3, 7, -8, 2}, {2, 3});
  Tensor m = max(xi, {0});
  CHECK(m.dtype() == DType::i64);
  test::check_equal(m, {7, 9, 3}, {3});
  test::check_equal(min(xi), {-8}, {});
  Tensor xu = from_vector(std::vector<uint8_t>{5, 200, 3, 0}, {4});
  test::check_equal(max(xu), {200}, {});
  test::check_equal(min(xu), {0}, {});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return min(in[0], {1}); }, {xi}, {0, 0});
}

TEST_CASE("argmax and argmin: first index on ties, NaN wins, any layout", "[ops][reduce]") {
  Tensor x = tensor({1, 3, 3, 2,    //
                     0, -1, -1, 0,  //
                     5, 5, 5, 5},
                    {3, 4});
  Tensor am = argmax(x, 1);
  CHECK(am.dtype() == DType::i64);
  test::check_equal(am, {1, 0, 0}, {3});
  test::check_equal(argmin(x, 1), {0, 1, 0}, {3});
  test::check_equal(argmax(x, 0), {2, 2, 2, 2}, {4});
  test::check_equal(argmin(x, -2), {1, 1, 1, 1}, {4});
  test::check_equal(argmax(x, 1, true), {1, 0, 0}, {3, 1});
  Tensor xt = x.t();  // non-contiguous [4, 3]
  test::check_equal(argmax(xt, 0), {1, 0, 0}, {3});
  test::check_equal(argmin(xt, 1), {1, 1, 1, 1}, {4});
  Tensor xn = tensor({1, kNaNF, 7, kNaNF});
  test::check_equal(argmax(xn, 0), {1}, {});
  test::check_equal(argmin(xn, 0), {1}, {});
  Tensor xi = from_vector(std::vector<int32_t>{4, -2, 9, 9, -2}, {5});
  test::check_equal(argmax(xi, 0), {2}, {});
  test::check_equal(argmin(xi, 0), {1}, {});
  test::check_equal(argmax(scalar_tensor(3.0), 0), {0}, {});

  // Random data, every axis, against a reference.
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Tensor r = permuted_input(dt, 61);
    auto v = r.to_vector<double>();
    for (int64_t axis = 0; axis < 3; ++axis) {
      auto g = group(v, r.shape(), {axis}, false);
      auto first_best = [](const std::vector<double>& s, bool mx) {
        size_t b = 0;
        for (size_t i = 1; i < s.size(); ++i)
          if (mx ? s[i] > s[b] : s[i] < s[b]) b = i;
        return static_cast<double>(b);
      };
      test::check_equal(argmax(r, axis), map_groups(g, [&](auto& s) { return first_best(s, true); }),
                        g.out_shape);
      test::check_equal(argmin(r, axis), map_groups(g, [&](auto& s) { return first_best(s, false); }),
                        g.out_shape);
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return argmax(in[0], axis); }, {r}, {0, 0});
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return argmin(in[0], axis); }, {r}, {0, 0});
    }
  }
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return argmax(in[0], 1); }, {x}, {0, 0});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return argmax(in[0], 0); }, {xn}, {0, 0});
}

TEST_CASE("var and std with a correction", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = permuted_input(dt, 71);
    auto v = x.to_vector<double>();
    for (const auto& axes : kAxesSets) {
      for (int64_t c : {0, 1}) {
        INFO(dtype_name(dt) << " axes " << to_string(axes) << " correction " << c);
        auto g = group(v, x.shape(), axes, false);
        auto ref = map_groups(g, [c](auto& s) { return ref_var(s, c); });
        check_close(var(x, axes, c), ref, g.out_shape, tol_for(dt));
        for (auto& r : ref) r = std::sqrt(r);
        check_close(axon::std(x, axes, c), ref, g.out_shape, tol_for(dt));
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return axon::std(in[0], axes, c); }, {x},
                               {1e-5, 1e-6});
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return var(in[0], axes, c, true); }, {x},
                               {1e-5, 1e-6});
      }
    }
  }
  check_close(var(tensor({1, 2, 3, 4}), {}, 0, true), {1.25}, {1}, tol_for(DType::f32));
  auto one = var(tensor({3}), {}, 1).to_vector<double>();
  CHECK(std::isnan(one[0]));  // 0 / 0 degrees of freedom
  AXON_REQUIRE_THROWS_WITH(var(tensor({1, 2}), {}, -1), "var: correction must be non-negative, got -1");
}

TEST_CASE("logsumexp is stable", "[ops][reduce]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = sliced_input(dt, 81);
    auto v = x.to_vector<double>();
    for (const auto& axes : kAxesSets) {
      auto g = group(v, x.shape(), axes, true);
      check_close(logsumexp(x, axes, true), map_groups(g, ref_lse), g.out_shape, tol_for(dt));
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return logsumexp(in[0], axes); }, {x},
                             {1e-5, 1e-5});
    }
  }
  Tensor big = tensor({1000, 999, -1000, -1001}, {2, 2});
  check_close(logsumexp(big, {1}), {1000 + std::log1p(std::exp(-1.0)), -1000 + std::log1p(std::exp(-1.0))},
              {2}, tol_for(DType::f32));
  Tensor special = tensor({-kInfF, -kInfF, kInfF, 1, kNaNF, 1}, {3, 2});
  auto s = logsumexp(special, {1}).to_vector<double>();
  CHECK(s[0] == -kInf);
  CHECK(s[1] == kInf);
  CHECK(std::isnan(s[2]));
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return logsumexp(in[0], {1}); }, {big},
                         {1e-6, 1e-6});
}

TEST_CASE("norm: ord 2, 1, inf, -inf, 0 and general p", "[ops][reduce]") {
  Tensor x = permuted_input(DType::f64, 91);
  auto v = x.to_vector<double>();
  auto pnorm = [](double p) {
    return [p](const std::vector<double>& s) {
      if (p == kInf) {
        double m = 0;
        for (double a : s) m = std::max(m, std::fabs(a));
        return m;
      }
      if (p == -kInf) {
        double m = kInf;
        for (double a : s) m = std::min(m, std::fabs(a));
        return m;
      }
      if (p == 0)
        return static_cast<double>(std::count_if(s.begin(), s.end(), [](double a) { return a != 0; }));
      double t = 0;
      for (double a : s) t += std::pow(std::fabs(a), p);
      return std::pow(t, 1 / p);
    };
  };
  for (double p : {2.0, 1.0, kInf, -kInf, 0.0, 3.0, 0.5}) {
    for (const auto& axes : kAxesSets) {
      INFO("ord " << p << " axes " << to_string(axes));
      auto g = group(v, x.shape(), axes, false);
      check_close(norm(x, p, axes), map_groups(g, pnorm(p)), g.out_shape, {1e-12, 1e-12});
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return norm(in[0], p, axes); }, {x},
                             {1e-5, 1e-6});
    }
  }
  check_close(norm(tensor({3, 4})), {5}, {}, tol_for(DType::f32));
  check_close(norm(tensor({3, -4}, {1, 2}), 1, {1}, true), {7}, {1, 1}, tol_for(DType::f32));
  Tensor xi = from_vector(std::vector<int32_t>{3, 4}, {2});
  CHECK(norm(xi).dtype() == DType::f32);
  check_close(norm(xi), {5}, {}, tol_for(DType::f32));
  AXON_REQUIRE_THROWS_WITH(norm(x, kNaN), "norm: ord must be a number");
}

TEST_CASE("all and any take any dtype and give bool", "[ops][reduce]") {
  Tensor f = tensor({1, 0, 2, 3, 4, 5}, {2, 3});
  Tensor a = all(f, {1});
  CHECK(a.dtype() == DType::boolean);
  test::check_equal(a, {0, 1}, {2});
  test::check_equal(any(f, {0}), {1, 1, 1}, {3});
  test::check_equal(all(f), {0}, {});
  test::check_equal(any(zeros({2, 2}), {}, true), {0}, {1, 1});
  test::check_equal(all(f.t(), {0}), {0, 1}, {2});
  Tensor xi = from_vector(std::vector<int32_t>{0, 0, 7, 0}, {2, 2});
  test::check_equal(any(xi, {1}), {0, 1}, {2});
  test::check_equal(all(xi, {0}), {0, 0}, {2});
  Tensor b = gt(random_tensor({5, 7, 3}, DType::f32, -1, 1, 101), Scalar(-0.8));
  auto bv = b.to_vector<double>();
  for (const auto& axes : kAxesSets) {
    auto g = group(bv, b.shape(), axes, false);
    test::check_equal(
        all(b, axes),
        map_groups(
            g,
            [](auto& s) { return double(std::all_of(s.begin(), s.end(), [](double t) { return t != 0; })); }),
        g.out_shape);
    test::check_equal(
        any(logical_not(b), axes),
        map_groups(
            g,
            [](auto& s) { return double(std::any_of(s.begin(), s.end(), [](double t) { return t == 0; })); }),
        g.out_shape);
    check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return all(in[0], axes); }, {b}, {0, 0});
  }
  Tensor nan_is_true = tensor({kNaNF});
  test::check_equal(all(nan_is_true), {1}, {});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return any(in[0], {1}); }, {xi}, {0, 0});
}

TEST_CASE("sum_to reduces broadcast axes back to a shape", "[ops][reduce]") {
  Tensor x = random_tensor({2, 3, 4}, DType::f64, -1, 1, 111);
  auto v = x.to_vector<double>();
  auto g = group(v, {2, 3, 4}, {0, 2}, false);
  check_close(sum_to(x, {3, 1}), map_groups(g, ref_sum), {3, 1}, tol_for(DType::f64));
  auto g2 = group(v, {2, 3, 4}, {0, 1}, false);
  check_close(sum_to(x, {4}), map_groups(g2, ref_sum), {4}, tol_for(DType::f64));
  check_close(sum_to(x, {1, 1, 4}), map_groups(g2, ref_sum), {1, 1, 4}, tol_for(DType::f64));
  check_close(sum_to(x, {}), {ref_sum(v)}, {}, tol_for(DType::f64));
  check_close(sum_to(x, {1, 2, 3, 4}), v, {1, 2, 3, 4}, tol_for(DType::f64));  // a leading 1 is free
  Tensor same = sum_to(x, {2, 3, 4});
  CHECK(same.impl_ptr() == x.impl_ptr());  // an equal shape returns x itself
  Tensor ex = x.expand({5, 2, 3, 4});
  check_close(
      sum_to(ex, {2, 3, 4}),
      [&] {
        auto w = v;
        for (auto& t : w) t *= 5;
        return w;
      }(),
      {2, 3, 4}, tol_for(DType::f64));
  AXON_REQUIRE_THROWS_WITH(sum_to(x, {3, 3}), "sum_to: cannot sum f64[2, 3, 4] on cpu to the shape [3, 3]");
  AXON_REQUIRE_THROWS_WITH(sum_to(x, {2, 2, 3, 4}), "sum_to: cannot sum");
  check_cuda_matches_cpu(
      [](const std::vector<Tensor>& in) {
        return sum_to(in[0], {3, 1});
      },
      {x}, {1e-6, 1e-6});
}

TEST_CASE("reduction errors name the op, the axis and the rank", "[ops][reduce][errors]") {
  Tensor x = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(sum(x, {2}), "sum: axis 2 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(mean(x, {-3}), "mean: axis -3 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(max(x, {0, -2}), "max: axis -2 is repeated in axes [0, -2]");
  AXON_REQUIRE_THROWS_WITH(sum(x, {1, 1}), "sum: axis 1 is repeated");
  AXON_REQUIRE_THROWS_WITH(argmax(x, 5), "argmax: axis 5 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(var(x, {7}), "var: axis 7 is out of range");
  AXON_REQUIRE_THROWS_WITH(logsumexp(x, {0, 0}), "logsumexp: axis 0 is repeated");
  AXON_REQUIRE_THROWS_WITH(norm(x, 2, {3}), "norm: axis 3 is out of range");
  AXON_REQUIRE_THROWS_WITH(all(x, {9}), "all: axis 9 is out of range");
  AXON_REQUIRE_THROWS_WITH(sum(Tensor()), "sum: input is an undefined tensor");
}

// ---- gradients

TEST_CASE("gradients of sum, mean and sum_to", "[autograd][reduce]") {
  Tensor x = random_tensor({3, 4, 5}, DType::f64, -1, 1, 121);
  for (const auto& axes : kAxesSets) {
    for (bool keep : {false, true}) {
      INFO("axes " << to_string(axes) << " keepdims " << keep);
      check_grad([&](const std::vector<Tensor>& in) { return sum(in[0], axes, keep); }, {x});
      check_grad([&](const std::vector<Tensor>& in) { return mean(in[0], axes, keep); }, {x});
    }
  }
  check_grad([](const std::vector<Tensor>& in) { return sum(in[0].t()); }, {x.select(2, 0)});
  check_grad([](const std::vector<Tensor>& in) { return sum_to(in[0], {4, 1}); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return sum_to(in[0], {5}); }, {x});
  // The tape relies on sum_to to un-broadcast: x [4, 1] + y [5] -> [4, 5].
  check_grad([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); },
             {random_tensor({4, 1}, DType::f64, -1, 1, 122), random_tensor({5}, DType::f64, -1, 1, 123)});
}

TEST_CASE("gradient of prod with no zero, one zero and two zeros", "[autograd][reduce]") {
  Tensor x = random_tensor({3, 4}, DType::f64, 0.5, 1.5, 131);
  check_grad([](const std::vector<Tensor>& in) { return prod(in[0], {1}); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return prod(in[0]); },
             {random_tensor({5}, DType::f64, -1.5, 1.5, 132)});
  Tensor z = tensor({2, 0, 3, 1.5,  //
                     0, 4, 0, 2,    //
                     1, 2, 3, 4},
                    {3, 4})
                 .to(DType::f64);
  check_grad([](const std::vector<Tensor>& in) { return prod(in[0], {1}); }, {z});
  // Exact values: d prod / dx for row 0 = [0, 9, 0, 0] * g; row 1 has two zeros: all 0.
  auto [val, gr] = value_and_grad([](const Tensor& t) { return sum(prod(t, {1})); }, z);
  test::check_equal(gr, {0, 9, 0, 0, 0, 0, 0, 0, 24, 12, 8, 6}, {3, 4});
}

TEST_CASE("gradient of max and min splits evenly among ties", "[autograd][reduce]") {
  Tensor x = tensor({1, 5, 5, 2, 3, 3, 3, 0}, {2, 4}).to(DType::f64);
  auto [v, g] = value_and_grad([](const Tensor& t) { return sum(max(t, {1})); }, x);
  test::check_equal(g, {0, 0.5, 0.5, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0}, {2, 4});
  auto [v2, g2] = value_and_grad([](const Tensor& t) { return min(t); }, x);
  test::check_equal(g2, {0, 0, 0, 0, 0, 0, 0, 1}, {2, 4});
  Tensor r = random_tensor({3, 4, 5}, DType::f64, -1, 1, 141);
  for (const auto& axes : kAxesSets) {
    check_grad([&](const std::vector<Tensor>& in) { return max(in[0], axes); }, {r});
    check_grad([&](const std::vector<Tensor>& in) { return min(in[0], axes, true); }, {r});
  }
}

TEST_CASE("gradients of var, std, logsumexp and norm", "[autograd][reduce]") {
  Tensor x = random_tensor({3, 4, 5}, DType::f64, -1, 1, 151);
  for (const auto& axes : kAxesSets) {
    INFO("axes " << to_string(axes));
    check_grad([&](const std::vector<Tensor>& in) { return var(in[0], axes, 1); }, {x});
    check_grad([&](const std::vector<Tensor>& in) { return axon::std(in[0], axes, 0, true); }, {x});
    check_grad([&](const std::vector<Tensor>& in) { return logsumexp(in[0], axes); }, {x});
    for (double p : {2.0, 1.0, kInf, 3.0})
      check_grad([&](const std::vector<Tensor>& in) { return norm(in[0], p, axes); }, {x});
  }
  // The zero vector: a zero (sub)gradient instead of NaN.
  auto [v, g] = value_and_grad([](const Tensor& t) { return norm(t); }, zeros({3}, DType::f64));
  test::check_equal(g, {0, 0, 0}, {3});
  Tensor big = tensor({1000, 999, -1000}).to(DType::f64);
  check_grad([](const std::vector<Tensor>& in) { return logsumexp(in[0]); }, {big});
}

TEST_CASE("second derivatives through reductions", "[autograd][reduce]") {
  // d/dx sum(d/dx logsumexp(x)) = d/dx sum(softmax-weights) = 0; d2/dx2 of var is 2/N on the diagonal
  // minus 2/N^2: check via grad of grad against finite differences of the first gradient.
  Tensor x = random_tensor({6}, DType::f64, -1, 1, 161);
  auto first = [](const std::vector<Tensor>& in) {
    auto [v, g] = value_and_grad([](const Tensor& t) { return var(t, {}, 0); }, in[0]);
    return g;
  };
  check_grad(first, {x});
  auto first_lse = [](const std::vector<Tensor>& in) {
    auto [v, g] = value_and_grad([](const Tensor& t) { return mul(logsumexp(t), logsumexp(t)); }, in[0]);
    return g;
  };
  check_grad(first_lse, {x});
  auto first_max = [](const std::vector<Tensor>& in) {
    auto [v, g] = value_and_grad([](const Tensor& t) { return square(max(t)); }, in[0]);
    return g;
  };
  check_grad(first_max, {x});
}

// ---- cumsum

namespace {
std::vector<double> ref_cumsum(const std::vector<double>& v, const Shape& shape, int64_t axis) {
  int64_t r = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += r;
  int64_t outer = 1, n = shape[axis], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= shape[d];
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t at = (o * n + k) * inner + i;
        acc += v[at];
        out[at] = acc;
      }
    }
  return out;
}
}  // namespace

TEST_CASE("cumsum along every axis, dtypes and layouts", "[ops][reduce][cumsum]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    for (int layout = 0; layout < 2; ++layout) {
      Tensor x = layout == 0 ? random_tensor({3, 4, 5}, dt, -2, 2, 171) : permuted_input(dt, 172);
      auto v = x.to_vector<double>();
      for (int64_t axis : {0, 1, 2, -1}) {
        INFO(dtype_name(dt) << " layout " << layout << " axis " << axis);
        Tensor y = cumsum(x, axis);
        CHECK(y.dtype() == dt);
        auto tol = tol_for(dt);
        if (dt == DType::bf16 || dt == DType::f16) tol.atol = 4e-2;
        check_close(y, ref_cumsum(v, x.shape(), axis), x.shape(), tol);
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return cumsum(in[0], axis); }, {x}, tol);
      }
    }
  }
  Tensor xi = from_vector(std::vector<int32_t>{1, 2, 3, 2000000000, 2000000000, 1}, {2, 3});
  Tensor yi = cumsum(xi, 0);
  CHECK(yi.dtype() == DType::i64);
  test::check_equal(yi, {1, 2, 3, 2000000001, 2000000002, 4}, {2, 3});
  Tensor b = from_vector(std::vector<bool>{true, false, true, true}, {4});
  test::check_equal(cumsum(b, 0), {1, 1, 2, 3}, {4});
  test::check_equal(cumsum(scalar_tensor(4.0), 0), {4}, {});
  CHECK(cumsum(zeros({0, 3}), 0).shape() == Shape{0, 3});
  AXON_REQUIRE_THROWS_WITH(cumsum(zeros({2, 3}), 2), "cumsum: axis 2 is out of range for a tensor of rank 2");
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return cumsum(in[0], 1); }, {xi}, {0, 0});
}

TEST_CASE("cumsum of long rows", "[ops][reduce][cumsum]") {
  for (int64_t n : {int64_t(33), int64_t(1023), int64_t(5000), int64_t(100000)}) {
    Tensor x = random_tensor({2, n}, DType::f32, 0, 1, 181);
    auto v = x.to_vector<double>();
    check_close(cumsum(x, 1), ref_cumsum(v, {2, n}, 1), {2, n}, tol_for(DType::f32));
    // CUDA carries float running sums across tiles.
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return cumsum(in[0], 1); }, {x}, {5e-5, 1e-4});
    Tensor xl = random_tensor({n}, DType::i64, -1000, 1000, 182);
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return cumsum(in[0], 0); }, {xl}, {0, 0});
  }
}

TEST_CASE("gradient of cumsum is a reverse cumsum", "[autograd][reduce][cumsum]") {
  Tensor x = random_tensor({3, 4, 5}, DType::f64, -1, 1, 191);
  for (int64_t axis : {0, 1, 2})
    check_grad([axis](const std::vector<Tensor>& in) { return cumsum(in[0], axis); }, {x});
  auto [v, g] =
      value_and_grad([](const Tensor& t) { return sum(cumsum(t, 0)); }, tensor({1, 2, 3, 4}).to(DType::f64));
  test::check_equal(g, {4, 3, 2, 1}, {4});
  // Second order: the reverse cumsum records itself too.
  check_grad(
      [](const std::vector<Tensor>& in) {
        return grad([](const Tensor& t) { return sum(square(cumsum(t, 0))); }, in[0]);
      },
      {random_tensor({6}, DType::f64, -1, 1, 192)});
}
