// Elementwise ops: unary, binary, comparisons, logical, where, clamp. Forward against float64
// references computed here with std:: math, CUDA against CPU, gradients against finite differences.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_equal;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;
using Tol = axon::test::Tol;


namespace {

using UFn = std::function<Tensor(const Tensor&)>;
using RFn = std::function<double(double)>;
using BFn = std::function<Tensor(const Tensor&, const Tensor&)>;
using RFn2 = std::function<double(double, double)>;
using Ts = std::vector<Tensor>;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// erfinv by bisection on std::erf: slow, simple, independent of the library's method.
double ref_erfinv(double y) {
  if (y <= -1) return y == -1 ? -kInf : kNaN;
  if (y >= 1) return y == 1 ? kInf : kNaN;
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (std::erf(mid) < y ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}
double ref_gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double ref_gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
double ref_sign(double x) { return x > 0 ? 1 : (x < 0 ? -1 : x); }

std::vector<double> map(const std::vector<double>& v, const RFn& f) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = f(v[i]);
  return r;
}

// Input layouts for a [3, 5] operand: contiguous, a transposed view, a sliced view with step 2.
Tensor make_layout(int layout, DType dt, double lo, double hi, uint64_t seed) {
  switch (layout) {
    case 0:
      return random_tensor({3, 5}, dt, lo, hi, seed);
    case 1:
      return random_tensor({5, 3}, dt, lo, hi, seed).t();
    default:
      return random_tensor({3, 10}, dt, lo, hi, seed).slice(1, 0, 10, 2);
  }
}

struct UnaryCase {
  const char* name;
  UFn op;
  RFn ref;
  double lo, hi;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, ref_sign, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 5},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.1, 5},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.1, 5},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -3, 3},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); },
       -5, 5},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -2, 2},
      {"erfinv", [](const Tensor& x) { return erfinv(x); }, ref_erfinv, -0.95, 0.95},
      {"floor", [](const Tensor& x) { return floor(x); }, [](double x) { return std::floor(x); }, -5, 5},
      {"ceil", [](const Tensor& x) { return ceil(x); }, [](double x) { return std::ceil(x); }, -5, 5},
      {"round", [](const Tensor& x) { return round(x); }, [](double x) { return std::nearbyint(x); }, -5, 5},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }, 0.2, 4},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); }, ref_gelu, -4, 4},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); }, ref_gelu_tanh, -4, 4},
      {"pow 2", [](const Tensor& x) { return pow(x, 2); }, [](double x) { return x * x; }, -3, 3},
      {"pow 3", [](const Tensor& x) { return pow(x, 3); }, [](double x) { return x * x * x; }, -3, 3},
      {"pow 0.5", [](const Tensor& x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, 0.1, 4},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); }, [](double x) { return std::pow(x, -1.5); },
       0.2, 4},
      {"pow 0", [](const Tensor& x) { return pow(x, 0); }, [](double) { return 1.0; }, -3, 3},
  };
}

void check_unary_case(const UnaryCase& c, DType dt) {
  INFO(c.name << " on " << dtype_name(dt));
  for (int layout = 0; layout < 3; ++layout) {
    INFO("layout " << layout);
    Tensor x = make_layout(layout, dt, c.lo, c.hi, 7 + layout);
    Tensor y = c.op(x);
    CHECK(y.dtype() == dt);
    CHECK(y.is_contiguous());
    check_close(y, map(x.to_vector<double>(), c.ref), x.shape(), tol_for(dt));
  }
  // rank 0 and empty
  Tensor s = random_tensor({}, dt, c.lo, c.hi, 3);
  check_close(c.op(s), map(s.to_vector<double>(), c.ref), Shape{}, tol_for(dt));
  Tensor e = empty({0, 3}, dt);
  Tensor ye = c.op(e);
  CHECK(ye.shape() == Shape{0, 3});
  CHECK(ye.dtype() == dt);
  // CUDA against CPU, including the vectorised path with a tail and a strided view.
  Tensor big = random_tensor({1031}, dt, c.lo, c.hi, 11);
  check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0]); }, {big}, tol_for(dt));
  Tensor m = random_tensor({33, 17}, dt, c.lo, c.hi, 12);
  check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0].t()); }, {m}, tol_for(dt));
  check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0].slice(0, 1, 33)); }, {m}, tol_for(dt));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// unary

TEST_CASE("unary ops match std math in f32 and f64", "[ops]") {
  for (const auto& c : unary_cases()) {
    check_unary_case(c, DType::f32);
    check_unary_case(c, DType::f64);
  }
}

TEST_CASE("unary ops in bf16 and f16 compute in f32 and round once", "[ops]") {
  for (const auto& c : unary_cases()) {
    std::string n = c.name;
    if (n == "exp" || n == "tanh" || n == "gelu" || n == "gelu_tanh" || n == "sigmoid" || n == "sqrt" ||
        n == "round" || n == "neg" || n == "relu" || n == "log") {
      check_unary_case(c, DType::bf16);
      check_unary_case(c, DType::f16);
    }
  }
}

TEST_CASE("round is half to even; special values", "[ops]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = from_vector(std::vector<double>{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6}).to(dt);
    check_equal(round(x), {0, 2, 2, -0.0, -2, -2, 2, 3, -3}, {9});
  }
  Tensor s = from_vector(std::vector<double>{kNaN, kInf, -kInf, 0.0, -1.0, 1.0});
  check_close(log(s), {kNaN, kInf, kNaN, -kInf, kNaN, 0.0}, {6}, tol_for(DType::f64));
  check_close(sqrt(s), {kNaN, kInf, kNaN, 0.0, kNaN, 1.0}, {6}, tol_for(DType::f64));
  check_close(relu(s), {kNaN, kInf, 0, 0, 0, 1}, {6}, tol_for(DType::f64));
  check_close(sigmoid(s), {kNaN, 1, 0, 0.5, 1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0))}, {6},
              tol_for(DType::f64));
  check_close(erfinv(s), {kNaN, kNaN, kNaN, 0, -kInf, kInf}, {6}, tol_for(DType::f64));
  check_close(sign(s), {kNaN, 1, -1, 0, -1, 1}, {6}, tol_for(DType::f64));
  check_close(abs(s), {kNaN, kInf, kInf, 0, 1, 1}, {6}, tol_for(DType::f64));
  check_cuda_matches_cpu([](const Ts& v) { return erfinv(v[0]); }, {s.to(DType::f32)}, tol_for(DType::f32));
  check_cuda_matches_cpu([](const Ts& v) { return sigmoid(v[0]); }, {s.to(DType::f32)}, tol_for(DType::f32));
}

TEST_CASE("unary ops on integers keep or promote the dtype", "[ops]") {
  for (DType dt : {DType::i32, DType::i64}) {
    INFO(dtype_name(dt));
    Tensor x = from_vector(std::vector<double>{-3, -1, 0, 2, 5}).to(dt);
    Tensor y = neg(x);
    CHECK(y.dtype() == dt);
    check_equal(y, {3, 1, 0, -2, -5}, {5});
    check_equal(abs(x), {3, 1, 0, 2, 5}, {5});
    check_equal(sign(x), {-1, -1, 0, 1, 1}, {5});
    check_equal(square(x), {9, 1, 0, 4, 25}, {5});
    check_equal(relu(x), {0, 0, 0, 2, 5}, {5});
    CHECK(abs(x).dtype() == dt);
    CHECK(relu(x).dtype() == dt);
    CHECK(floor(x).dtype() == dt);
    check_equal(round(x), {-3, -1, 0, 2, 5}, {5});
    Tensor e = exp(x);
    CHECK(e.dtype() == DType::f32);
    check_close(e, map({-3, -1, 0, 2, 5}, [](double v) { return std::exp(v); }), {5}, tol_for(DType::f32));
    CHECK(sqrt(x).dtype() == DType::f32);
    CHECK(pow(x, 2).dtype() == DType::f32);
    check_close(pow(x, 2), {9, 1, 0, 4, 25}, {5}, tol_for(DType::f32));
    check_cuda_matches_cpu([](const Ts& v) { return neg(v[0]); }, {x}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return sign(v[0]); }, {x}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return square(v[0]); }, {x}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return relu(v[0]); }, {x}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return exp(v[0]); }, {x}, tol_for(DType::f32));
  }
  Tensor u = from_vector(std::vector<uint8_t>{0, 1, 200});
  check_equal(neg(u), {0, 255, 56}, {3});  // wraps, as uint8 arithmetic does
  check_equal(abs(u), {0, 1, 200}, {3});
  check_equal(sign(u), {0, 1, 1}, {3});
  check_cuda_matches_cpu([](const Ts& v) { return neg(v[0]); }, {u}, Tol{0, 0});
  Tensor b = from_vector(std::vector<bool>{true, false});
  AXON_REQUIRE_THROWS_WITH(neg(b), "neg: negation of a bool tensor");
  CHECK(abs(b).dtype() == DType::boolean);
  CHECK(exp(b).dtype() == DType::f32);
  check_close(exp(b), {std::exp(1.0), 1}, {2}, tol_for(DType::f32));
}

// ---------------------------------------------------------------------------------------------
// binary

namespace {
struct BinaryCase {
  const char* name;
  BFn op;
  RFn2 ref;
  double lo, hi;  // for both operands
};
std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); },
       [](double a, double b) { return a + b; }, -3, 3},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); },
       [](double a, double b) { return a - b; }, -3, 3},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); },
       [](double a, double b) { return a * b; }, -3, 3},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); },
       [](double a, double b) { return a / b; }, 0.5, 3},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }, 0.2, 2.5},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, -3, 3},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, -3, 3},
  };
}

// Expected values of a broadcast binary op, computed with explicit index arithmetic.
std::vector<double> ref_broadcast(const Tensor& a, const Tensor& b, const Shape& out, const RFn2& f) {
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  int64_t n = numel(out);
  std::vector<double> r(static_cast<size_t>(n));
  auto at = [&](const Tensor& t, const std::vector<double>& v, int64_t i) {
    // Walk the output index from the last axis, mapping onto t's (right-aligned) shape.
    int64_t off = 0, mult = 1, rem = i;
    int64_t lead = static_cast<int64_t>(out.size()) - t.dim();
    for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
      int64_t idx = rem % out[d];
      rem /= out[d];
      if (d >= lead) {
        int64_t sz = t.shape()[d - lead];
        off += (sz == 1 ? 0 : idx) * mult;
        mult *= sz;
      }
    }
    return v[static_cast<size_t>(off)];
  };
  for (int64_t i = 0; i < n; ++i) r[i] = f(at(a, av, i), at(b, bv, i));
  return r;
}

void check_binary(const BinaryCase& c, const Tensor& a, const Tensor& b, const Shape& out, DType dt) {
  Tensor y = c.op(a, b);
  CHECK(y.dtype() == dt);
  check_close(y, ref_broadcast(a, b, out, c.ref), out, tol_for(dt));
}
}  // namespace

TEST_CASE("binary ops with broadcasting and views match the reference", "[ops]") {
  for (const auto& c : binary_cases()) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      INFO(c.name << " on " << dtype_name(dt));
      auto r = [&](const Shape& s, uint64_t seed) { return random_tensor(s, dt, c.lo, c.hi, seed); };
      check_binary(c, r({3, 5}, 1), r({3, 5}, 2), {3, 5}, dt);
      check_binary(c, r({3, 1}, 1), r({1, 4}, 2), {3, 4}, dt);
      check_binary(c, r({2, 3, 4}, 1), r({4}, 2), {2, 3, 4}, dt);
      check_binary(c, r({}, 1), r({2, 3}, 2), {2, 3}, dt);
      check_binary(c, r({2, 3}, 1), r({}, 2), {2, 3}, dt);
      check_binary(c, r({}, 1), r({}, 2), {}, dt);
      check_binary(c, make_layout(1, dt, c.lo, c.hi, 3), make_layout(2, dt, c.lo, c.hi, 4), {3, 5}, dt);
      check_binary(c, make_layout(1, dt, c.lo, c.hi, 3), r({5}, 4), {3, 5}, dt);
      Tensor e = c.op(r({0, 4}, 1), r({1, 4}, 2));
      CHECK(e.shape() == Shape{0, 4});
      CHECK(e.dtype() == dt);
      Tol tol = tol_for(dt);
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0], v[1]); }, {r({1031}, 1), r({1031}, 2)},
                             tol);
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0], v[1]); }, {r({7, 1, 5}, 1), r({3, 1}, 2)},
                             tol);
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0].t(), v[1].slice(1, 1, 9, 2)); },
                             {r({4, 6}, 1), r({6, 9}, 2)}, tol);
      // A contiguous but misaligned operand (offset 1) takes the general path.
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0].slice(0, 1, 1001), v[1]); },
                             {r({1001}, 1), r({1000}, 2)}, tol);
    }
  }
}

TEST_CASE("maximum and minimum propagate NaN", "[ops]") {
  Tensor a = from_vector(std::vector<double>{kNaN, 1, 2});
  Tensor b = from_vector(std::vector<double>{0, kNaN, 3});
  check_close(maximum(a, b), {kNaN, kNaN, 3}, {3}, tol_for(DType::f64));
  check_close(minimum(a, b), {kNaN, kNaN, 2}, {3}, tol_for(DType::f64));
  check_cuda_matches_cpu([](const Ts& v) { return maximum(v[0], v[1]); }, {a, b}, tol_for(DType::f64));
}

TEST_CASE("binary ops on integers and dtype promotion", "[ops]") {
  Tensor i32 = from_vector(std::vector<int32_t>{1, -2, 7});
  Tensor i64 = from_vector(std::vector<int64_t>{3, 4, -5});
  Tensor u8 = from_vector(std::vector<uint8_t>{250, 2, 3});
  Tensor f16t = from_vector(std::vector<double>{0.5, 1.5, -2}).to(DType::f16);
  Tensor bf = from_vector(std::vector<double>{0.5, 1.5, -2}).to(DType::bf16);
  Tensor b1 = from_vector(std::vector<bool>{true, true, false});
  Tensor b2 = from_vector(std::vector<bool>{true, false, false});

  Tensor s = add(i32, i64);
  CHECK(s.dtype() == DType::i64);
  check_equal(s, {4, 2, 2}, {3});
  check_equal(mul(i32, i64), {3, -8, -35}, {3});
  check_equal(sub(i32, i64), {-2, -6, 12}, {3});
  check_equal(maximum(i32, i64), {3, 4, 7}, {3});
  check_equal(minimum(i32, i64), {1, -2, -5}, {3});
  Tensor d = div(i32, i64);
  CHECK(d.dtype() == DType::f32);
  check_close(d, {1.0 / 3, -0.5, -7.0 / 5}, {3}, tol_for(DType::f32));
  Tensor p = pow(i32, i64);
  CHECK(p.dtype() == DType::f32);
  check_close(p, {1, 16, std::pow(7.0, -5)}, {3}, tol_for(DType::f32));
  Tensor h = add(i32, f16t);
  CHECK(h.dtype() == DType::f16);
  check_close(h, {1.5, -0.5, 5}, {3}, tol_for(DType::f16));
  CHECK(add(f16t, bf).dtype() == DType::f32);
  check_equal(add(u8, u8), {244, 4, 6}, {3});  // uint8 wraps
  CHECK(add(u8, i32).dtype() == DType::i32);
  check_equal(add(u8, i32), {251, 0, 10}, {3});

  // bool arithmetic: add/maximum are or, mul/minimum are and; sub is rejected.
  Tensor bo = add(b1, b2);
  CHECK(bo.dtype() == DType::boolean);
  check_equal(bo, {1, 1, 0}, {3});
  check_equal(mul(b1, b2), {1, 0, 0}, {3});
  check_equal(maximum(b1, b2), {1, 1, 0}, {3});
  check_equal(minimum(b1, b2), {1, 0, 0}, {3});
  AXON_REQUIRE_THROWS_WITH(sub(b1, b2), "sub: subtraction of bool tensors is not supported");
  CHECK(add(b1, i32).dtype() == DType::i32);
  check_equal(add(b1, i32), {2, -1, 7}, {3});
  CHECK(div(b1, b2).dtype() == DType::f32);

  for (auto [x, y] : std::vector<std::pair<Tensor, Tensor>>{{i32, i64}, {u8, u8}, {b1, b2}, {i32, f16t}}) {
    check_cuda_matches_cpu([](const Ts& v) { return add(v[0], v[1]); }, {x, y}, tol_for(DType::f16));
    check_cuda_matches_cpu([](const Ts& v) { return mul(v[0], v[1]); }, {x, y}, tol_for(DType::f16));
    check_cuda_matches_cpu([](const Ts& v) { return maximum(v[0], v[1]); }, {x, y}, tol_for(DType::f16));
    check_cuda_matches_cpu([](const Ts& v) { return div(v[0], v[1]); }, {x, y}, tol_for(DType::f16));
  }
  check_cuda_matches_cpu([](const Ts& v) { return sub(v[0], v[1]); }, {i32, i64}, Tol{0, 0});
}

TEST_CASE("tensor-scalar ops follow the scalar promotion rules", "[ops]") {
  Tensor i = from_vector(std::vector<int32_t>{1, -2, 7});
  Tensor f = from_vector(std::vector<float>{0.5f, -1.5f, 4});
  Tensor h = f.to(DType::f16);
  Tensor b = from_vector(std::vector<bool>{true, false, true});

  Tensor a1 = add(i, 2);
  CHECK(a1.dtype() == DType::i32);
  check_equal(a1, {3, 0, 9}, {3});
  Tensor a2 = add(i, 1.5);
  CHECK(a2.dtype() == DType::f32);
  check_equal(a2, {2.5, -0.5, 8.5}, {3});
  Tensor a3 = mul(h, 0.5);
  CHECK(a3.dtype() == DType::f16);
  check_equal(a3, {0.25, -0.75, 2}, {3});
  CHECK(add(b, 1).dtype() == DType::i64);
  check_equal(add(b, 1), {2, 1, 2}, {3});
  CHECK(add(f, 1).dtype() == DType::f32);
  Tensor u = from_vector(std::vector<uint8_t>{250, 1, 0});
  CHECK(add(u, -1).dtype() == DType::u8);
  check_equal(add(u, -1), {249, 0, 255}, {3});  // uint8 arithmetic wraps
  check_equal(where(from_vector(std::vector<bool>{true, false, false}), u, -1), {250, 255, 255}, {3});
  check_cuda_matches_cpu([](const Ts& v) { return add(v[0], -1); }, {u}, Tol{0, 0});

  check_equal(sub(i, 3), {-2, -5, 4}, {3});
  check_equal(mul(i, -2), {-2, 4, -14}, {3});
  Tensor d = div(i, 2);
  CHECK(d.dtype() == DType::f32);
  check_equal(d, {0.5, -1, 3.5}, {3});
  check_close(div(f, 4), {0.125, -0.375, 1}, {3}, tol_for(DType::f32));
  Tensor r1 = rsub(10, i);
  CHECK(r1.dtype() == DType::i32);
  check_equal(r1, {9, 12, 3}, {3});
  check_equal(rsub(1.0, f), {0.5, 2.5, -3}, {3});
  Tensor r2 = rdiv(1, i);
  CHECK(r2.dtype() == DType::f32);
  check_close(r2, {1, -0.5, 1.0 / 7}, {3}, tol_for(DType::f32));
  check_close(rdiv(3.0, f), {6, -2, 0.75}, {3}, tol_for(DType::f32));
  // operators
  check_close(2.0 - f * 3 + 1, {1.5, 7.5, -9}, {3}, tol_for(DType::f32));
  check_close(1.0 / f, {2, -1 / 1.5, 0.25}, {3}, tol_for(DType::f32));
  check_close(-f, {-0.5, 1.5, -4}, {3}, tol_for(DType::f32));
  // views and empties
  Tensor m = random_tensor({4, 6}, DType::f32, -1, 1, 5);
  auto mv = m.t().to_vector<double>();
  check_close(mul(m.t(), 3.0), map(mv, [](double v) { return v * 3; }), {6, 4}, tol_for(DType::f32));
  CHECK(add(empty({0}, DType::f32), 1).shape() == Shape{0});

  Tol t32 = tol_for(DType::f32);
  Tensor big = random_tensor({1027}, DType::f32, 0.5, 2, 3);
  check_cuda_matches_cpu([](const Ts& v) { return add(v[0], 0.25); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return sub(v[0], 0.25); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return mul(v[0].slice(0, 1, 1027), 3); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return div(v[0], 3); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return rsub(2, v[0]); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return rdiv(2, v[0]); }, {big}, t32);
  check_cuda_matches_cpu([](const Ts& v) { return rdiv(2, v[0]); }, {big.to(DType::bf16)},
                         tol_for(DType::bf16));
  check_cuda_matches_cpu([](const Ts& v) { return add(v[0], 3); }, {i}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return add(v[0], 1); }, {b}, Tol{0, 0});
}

// ---------------------------------------------------------------------------------------------
// comparisons and logical ops

TEST_CASE("comparisons give bool tensors", "[ops]") {
  Tensor a = from_vector(std::vector<double>{1, 2, 3, kNaN}, {4, 1});
  Tensor b = from_vector(std::vector<double>{2, kNaN, 1}, {3});
  auto ref = [&](std::function<bool(double, double)> f) {
    auto av = a.to_vector<double>(), bv = b.to_vector<double>();
    std::vector<double> r;
    for (double x : av)
      for (double y : bv) r.push_back(f(x, y) ? 1 : 0);
    return r;
  };
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
    INFO(dtype_name(dt));
    Tensor x = a.to(dt), y = b.to(dt);
    Tensor e = eq(x, y);
    CHECK(e.dtype() == DType::boolean);
    check_equal(e, ref([](double u, double v) { return u == v; }), {4, 3});
    check_equal(ne(x, y), ref([](double u, double v) { return u != v; }), {4, 3});
    check_equal(lt(x, y), ref([](double u, double v) { return u < v; }), {4, 3});
    check_equal(le(x, y), ref([](double u, double v) { return u <= v; }), {4, 3});
    check_equal(gt(x, y), ref([](double u, double v) { return u > v; }), {4, 3});
    check_equal(ge(x, y), ref([](double u, double v) { return u >= v; }), {4, 3});
    check_equal(x == y, ref([](double u, double v) { return u == v; }), {4, 3});
    check_equal(x < y, ref([](double u, double v) { return u < v; }), {4, 3});
    for (auto op : std::vector<BFn>{[](const Tensor&p, const Tensor&q) { return eq(p, q); },
                                    [](const Tensor&p, const Tensor&q) { return ne(p, q); },
                                    [](const Tensor&p, const Tensor&q) { return lt(p, q); },
                                    [](const Tensor&p, const Tensor&q) { return le(p, q); },
                                    [](const Tensor&p, const Tensor&q) { return gt(p, q); },
                                    [](const Tensor&p, const Tensor&q) { return ge(p, q); }}) {
      check_cuda_matches_cpu([&](const Ts& v) { return op(v[0], v[1]); }, {x, y}, Tol{0, 0});
      Tensor big1 = random_tensor({1029}, dt, -2, 2, 1), big2 = random_tensor({1029}, dt, -2, 2, 2);
      check_cuda_matches_cpu([&](const Ts& v) { return op(v[0], v[1]); }, {big1, big2}, Tol{0, 0});
      check_cuda_matches_cpu([&](const Ts& v) { return op(v[0], v[1]); }, {big1, big1}, Tol{0, 0});
    }
  }
  // Scalar forms, mixed dtypes, views.
  Tensor i = from_vector(std::vector<int32_t>{0, 1, 2, 3});
  check_equal(lt(i, 1.5), {1, 1, 0, 0}, {4});
  check_equal(ge(i, 2), {0, 0, 1, 1}, {4});
  check_equal(eq(i, 2), {0, 0, 1, 0}, {4});
  check_equal(ne(i, 2.5), {1, 1, 1, 1}, {4});
  check_equal(gt(i, -1), {1, 1, 1, 1}, {4});
  check_equal(le(i, 0), {1, 0, 0, 0}, {4});
  Tensor bl = from_vector(std::vector<bool>{true, false});
  check_equal(eq(bl, 2), {0, 0}, {2});  // true is 1, not 2
  check_equal(eq(bl, 1), {1, 0}, {2});
  check_equal(eq(bl, true), {1, 0}, {2});
  Tensor f = from_vector(std::vector<float>{0.5f, static_cast<float>(kNaN), -1});
  check_equal(gt(f, 0), {1, 0, 0}, {3});
  check_equal(ne(f, 0.5), {0, 1, 1}, {3});
  check_equal(eq(i, from_vector(std::vector<double>{0, 1.5, 2, 4})), {1, 0, 1, 0}, {4});  // i32 vs f64
  Tensor m = random_tensor({3, 4}, DType::f32, -1, 1, 9);
  auto mv = m.t().to_vector<double>();
  check_equal(gt(m.t(), 0), map(mv, [](double v) { return v > 0 ? 1.0 : 0.0; }), {4, 3});
  CHECK(lt(empty({2, 0}), 0).shape() == Shape{2, 0});
  check_cuda_matches_cpu([](const Ts& v) { return lt(v[0], 1.5); }, {i}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return eq(v[0], 2); }, {bl}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return gt(v[0].t(), 0); }, {m}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return le(v[0], 0.1); },
                         {random_tensor({1025}, DType::bf16, -1, 1, 4)}, Tol{0, 0});
}

TEST_CASE("logical ops treat nonzero as true", "[ops]") {
  Tensor a = from_vector(std::vector<double>{0, 1, -2, kNaN}, {4, 1});
  Tensor b = from_vector(std::vector<int32_t>{0, 3}, {2});
  std::vector<double> av{0, 1, 1, 1}, bv{0, 1};
  std::vector<double> r_and, r_or, r_xor;
  for (double x : av)
    for (double y : bv) {
      r_and.push_back(x && y);
      r_or.push_back(x || y);
      r_xor.push_back((x != 0) != (y != 0));
    }
  Tensor t = logical_and(a, b);
  CHECK(t.dtype() == DType::boolean);
  check_equal(t, r_and, {4, 2});
  check_equal(logical_or(a, b), r_or, {4, 2});
  check_equal(logical_xor(a, b), r_xor, {4, 2});
  check_equal(a && b, r_and, {4, 2});
  check_equal(a || b, r_or, {4, 2});
  check_equal(logical_not(a), {1, 0, 0, 0}, {4, 1});
  check_equal(!b, {1, 0}, {2});
  Tensor bl = from_vector(std::vector<bool>{true, false});
  check_equal(logical_not(bl), {0, 1}, {2});
  check_equal(logical_xor(bl, bl), {0, 0}, {2});
  Tensor u = from_vector(std::vector<uint8_t>{0, 7});
  check_equal(logical_or(u, bl), {1, 1}, {2});
  check_equal(logical_and(u, bl.slice(0, 0, 2, 1)), {0, 0}, {2});
  check_equal(logical_not(from_vector(std::vector<double>{-0.0, 1e-300})), {1, 0}, {2});
  CHECK(logical_not(empty({0})).shape() == Shape{0});
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8}) {
    Tensor x = random_tensor({1030}, dt, -2, 2, 1), y = random_tensor({1030}, dt, -2, 2, 2);
    check_cuda_matches_cpu([](const Ts& v) { return logical_and(v[0], v[1]); }, {x, y}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return logical_or(v[0], v[1]); }, {x, y}, Tol{0, 0});
    check_cuda_matches_cpu(
        [](const Ts& v) { return logical_xor(v[0].slice(0, 1, 1030), v[1].slice(0, 0, 1029)); }, {x, y},
        Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return logical_not(v[0]); }, {x}, Tol{0, 0});
  }
  check_cuda_matches_cpu([](const Ts& v) { return logical_xor(v[0], v[1]); }, {a, b}, Tol{0, 0});
}

// ---------------------------------------------------------------------------------------------
// where and clamp

TEST_CASE("where selects with broadcasting of all three operands", "[ops]") {
  Tensor c = from_vector(std::vector<bool>{true, false, true}, {3, 1});
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {1, 4});
  Tensor b = from_vector(std::vector<double>{-1, -2}, {2, 1, 1});
  Tensor y = where(c, a, b);
  CHECK(y.shape() == Shape{2, 3, 4});
  std::vector<double> ref;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) ref.push_back(j != 1 ? k + 1 : -(i + 1));
  check_equal(y, ref, {2, 3, 4});
  // dtype promotion of the branches
  Tensor ai = from_vector(std::vector<int32_t>{5, 6, 7});
  Tensor bf = from_vector(std::vector<float>{0.5f, 0.25f, 0.125f});
  Tensor c1 = from_vector(std::vector<bool>{true, false, false});
  Tensor w = where(c1, ai, bf);
  CHECK(w.dtype() == DType::f32);
  check_equal(w, {5, 0.25, 0.125}, {3});
  // scalar form
  Tensor ws = where(c1, ai, -1);
  CHECK(ws.dtype() == DType::i32);
  check_equal(ws, {5, -1, -1}, {3});
  Tensor wf = where(c1, ai, 0.5);
  CHECK(wf.dtype() == DType::f32);
  check_equal(wf, {5, 0.5, 0.5}, {3});
  Tensor wh = where(c1, bf.to(DType::f16), 2);
  CHECK(wh.dtype() == DType::f16);
  check_equal(wh, {0.5, 2, 2}, {3});
  // views, every dtype round-trips exactly, empty
  Tensor m = random_tensor({4, 6}, DType::f64, -1, 1, 2);
  Tensor cm = gt(random_tensor({6, 4}, DType::f64, -1, 1, 3), 0);
  auto mv = m.t().to_vector<double>(), cv = cm.to_vector<double>();
  std::vector<double> r2;
  for (size_t i = 0; i < mv.size(); ++i) r2.push_back(cv[i] ? mv[i] : 9);
  check_equal(where(cm, m.t(), 9), r2, {6, 4});
  Tensor big = from_vector(std::vector<int64_t>{(int64_t(1) << 60) + 1, -3});
  auto wv = where(from_vector(std::vector<bool>{true, false}), big, big.slice(0, 1, 2)).to_vector<int64_t>();
  CHECK(wv == std::vector<int64_t>{(int64_t(1) << 60) + 1, -3});
  CHECK(where(c1.slice(0, 0, 0), ai.slice(0, 0, 0), 1).shape() == Shape{0});
  CHECK(where(empty({0, 1}, DType::boolean), a, b).shape() == Shape{2, 0, 4});

  check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1], v[2]); }, {c, a, b}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1], v[2]); }, {c1, ai, bf}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1], -1); }, {c1, ai}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1].t(), 9); }, {cm, m}, Tol{0, 0});
  for (DType dt :
       {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8, DType::boolean}) {
    Tensor cc = gt(random_tensor({1033}, DType::f32, -1, 1, 5), 0);
    Tensor x = random_tensor({1033}, dt, -2, 2, 6), z = random_tensor({1033}, dt, -2, 2, 7);
    check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1], v[2]); }, {cc, x, z}, Tol{0, 0});
    check_cuda_matches_cpu([](const Ts& v) { return where(v[0], v[1], 1); }, {cc, x}, Tol{0, 0});
  }
}

TEST_CASE("clamp with scalar and tensor bounds", "[ops]") {
  Tensor x = from_vector(std::vector<double>{-3, -1, 0, 0.5, 2, kNaN});
  check_equal(clamp(x, -1.0, 1.0), {-1, -1, 0, 0.5, 1, kNaN}, {6});
  check_equal(clamp(x, std::nullopt, 0.0), {-3, -1, 0, 0, 0, kNaN}, {6});
  check_equal(clamp(x, 0.0, std::nullopt), {0, 0, 0, 0.5, 2, kNaN}, {6});
  check_equal(clamp(x, 1.0, -1.0), {-1, -1, -1, -1, -1, kNaN}, {6});  // lo > hi gives hi
  AXON_REQUIRE_THROWS_WITH(clamp(x, std::nullopt, std::nullopt), "clamp: at least one of the bounds");
  Tensor i = from_vector(std::vector<int32_t>{-5, 0, 5});
  Tensor ci = clamp(i, -2, 3);
  CHECK(ci.dtype() == DType::i32);
  check_equal(ci, {-2, 0, 3}, {3});
  Tensor sat = clamp(i, -1000000000000LL, 1000000000000LL);  // integral bounds beyond i32 saturate
  CHECK(sat.dtype() == DType::i32);
  check_equal(sat, {-5, 0, 5}, {3});
  Tensor cf = clamp(i, -2.5, 3);
  CHECK(cf.dtype() == DType::f32);
  check_equal(cf, {-2.5, 0, 3}, {3});
  Tensor h = from_vector(std::vector<double>{-3, 0.25, 3}).to(DType::bf16);
  CHECK(clamp(h, 0, 1).dtype() == DType::bf16);
  check_equal(clamp(h, 0, 1), {0, 0.25, 1}, {3});

  // tensor bounds with broadcasting
  Tensor v = from_vector(std::vector<double>{-2, 0, 2, 4}, {4, 1});
  Tensor lo = from_vector(std::vector<double>{-1, 1, 3}, {3});
  Tensor hi = from_vector(std::vector<double>{1, 2, 2}, {3});  // lo > hi in the last column
  std::vector<double> ref;
  for (double a : {-2.0, 0.0, 2.0, 4.0})
    for (int j = 0; j < 3; ++j) {
      double l = std::vector<double>{-1, 1, 3}[j], u = std::vector<double>{1, 2, 2}[j];
      ref.push_back(std::min(std::max(a, l), u));
    }
  check_equal(clamp(v, lo, hi), ref, {4, 3});
  std::vector<double> ref_lo, ref_hi;
  for (double a : {-2.0, 0.0, 2.0, 4.0})
    for (int j = 0; j < 3; ++j) {
      ref_lo.push_back(std::max(a, std::vector<double>{-1, 1, 3}[j]));
      ref_hi.push_back(std::min(a, std::vector<double>{1, 2, 2}[j]));
    }
  check_equal(clamp(v, lo, Tensor()), ref_lo, {4, 3});
  check_equal(clamp(v, Tensor(), hi), ref_hi, {4, 3});
  AXON_REQUIRE_THROWS_WITH(clamp(v, Tensor(), Tensor()), "clamp: at least one of the bounds");
  Tensor ct = clamp(i, from_vector(std::vector<float>{0.5f}), Tensor());
  CHECK(ct.dtype() == DType::f32);
  check_equal(ct, {0.5, 0.5, 5}, {3});
  CHECK(clamp(empty({0, 3}), lo, hi).shape() == Shape{0, 3});

  Tensor big = random_tensor({1031}, DType::f32, -2, 2, 1);
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], -1.0, 0.5); }, {big}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], std::nullopt, 0.5); }, {big.to(DType::f16)},
                         Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], -2, 3); }, {i}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], 1.0, -1.0); }, {x}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], t[1], t[2]); }, {v, lo, hi}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], t[1], Tensor()); }, {v, lo}, Tol{0, 0});
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], Tensor(), t[1]); }, {v, hi}, Tol{0, 0});
  Tensor l2 = random_tensor({1031}, DType::f32, -2, 0, 2), h2 = random_tensor({1031}, DType::f32, 0, 2, 3);
  check_cuda_matches_cpu([](const Ts& t) { return clamp(t[0], t[1], t[2]); }, {big, l2, h2}, Tol{0, 0});
}

// ---------------------------------------------------------------------------------------------
// gradients

TEST_CASE("gradients of unary ops", "[autograd]") {
  struct G {
    const char* name;
    UFn f;
    double lo, hi;
  };
  std::vector<G> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, -2, 2},
      {"abs", [](const Tensor& x) { return abs(x); }, 0.1, 2},
      {"abs-", [](const Tensor& x) { return abs(x); }, -2, -0.1},
      {"exp", [](const Tensor& x) { return exp(x); }, -2, 2},
      {"expm1", [](const Tensor& x) { return expm1(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, 0.2, 3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, -0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.2, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.2, 3},
      {"sin", [](const Tensor& x) { return sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -3, 3},
      {"erf", [](const Tensor& x) { return erf(x); }, -2, 2},
      {"erfinv", [](const Tensor& x) { return erfinv(x); }, -0.9, 0.9},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, 0.3, 3},
      {"square", [](const Tensor& x) { return square(x); }, -2, 2},
      {"relu+", [](const Tensor& x) { return relu(x); }, 0.1, 2},
      {"relu-", [](const Tensor& x) { return relu(x); }, -2, -0.1},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); }, -3, 3},
      {"pow 3", [](const Tensor& x) { return pow(x, 3); }, -2, 2},
      {"pow -0.5", [](const Tensor& x) { return pow(x, -0.5); }, 0.3, 3},
      {"pow 0", [](const Tensor& x) { return pow(x, 0); }, -2, 2},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, -2, 2},
      {"clamp lo", [](const Tensor& x) { return clamp(x, -0.5, std::nullopt); }, -2, 2},
      {"sign", [](const Tensor& x) { return sign(x); }, -2, 2},
      {"floor", [](const Tensor& x) { return floor(add(x, 0.25)); }, 0.1, 0.6},
      {"ceil", [](const Tensor& x) { return ceil(x); }, 0.1, 0.9},
      {"round", [](const Tensor& x) { return round(x); }, 0.1, 0.4},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Tensor x = random_tensor({3, 4}, DType::f64, c.lo, c.hi, 21);
    check_grad([&](const Ts& v) { return c.f(v[0]); }, {x});
    // through a view
    Tensor xt = random_tensor({4, 3}, DType::f64, c.lo, c.hi, 22);
    check_grad([&](const Ts& v) { return c.f(v[0].t()); }, {xt});
  }
  // sign/floor/ceil/round: exactly zero, not merely small.
  Tensor x = random_tensor({5}, DType::f64, -2, 2, 3);
  for (auto f :
       std::vector<UFn>{[](const Tensor& t) { return sign(t); }, [](const Tensor& t) { return floor(t); },
                        [](const Tensor& t) { return round(t); }}) {
    auto g = grad([&](const Tensor& t) { return sum(f(t)); }, x);
    check_equal(g, {0, 0, 0, 0, 0}, {5});
  }
  // relu at exactly 0 passes no gradient; clamp passes it at the bounds themselves.
  Tensor z = from_vector(std::vector<double>{0, -1, 1});
  check_equal(grad([](const Tensor& t) { return sum(relu(t)); }, z), {0, 0, 1}, {3});
  Tensor cb = from_vector(std::vector<double>{-1, 0, 1, 2});
  check_equal(grad([](const Tensor& t) { return sum(clamp(t, -1.0, 1.0)); }, cb), {1, 1, 1, 0}, {4});
  // pow(x, 0) at x = 0: zero, not NaN
  check_equal(grad([](const Tensor& t) { return sum(pow(t, 0)); }, z), {0, 0, 0}, {3});
}

TEST_CASE("gradients of binary ops with broadcasting", "[autograd]") {
  Tensor a = random_tensor({3, 1}, DType::f64, 0.5, 2, 1);
  Tensor b = random_tensor({1, 4}, DType::f64, 0.5, 2, 2);
  Tensor c = random_tensor({3, 4}, DType::f64, -2, 2, 3);
  Tensor d = random_tensor({4}, DType::f64, 0.5, 2, 4);
  Tensor s = random_tensor({}, DType::f64, 0.5, 2, 5);
  std::vector<std::pair<const char*, BFn>> ops = {
      {"add", [](const Tensor& x, const Tensor& y) { return add(x, y); }},
      {"sub", [](const Tensor& x, const Tensor& y) { return sub(x, y); }},
      {"mul", [](const Tensor& x, const Tensor& y) { return mul(x, y); }},
      {"div", [](const Tensor& x, const Tensor& y) { return div(x, y); }},
      {"pow", [](const Tensor& x, const Tensor& y) { return pow(x, y); }},
      {"maximum", [](const Tensor& x, const Tensor& y) { return maximum(x, y); }},
      {"minimum", [](const Tensor& x, const Tensor& y) { return minimum(x, y); }},
  };
  for (const auto& named : ops) {
    const auto& name = named.first;
    const auto& op = named.second;  // a plain reference: clang 14 cannot capture a structured binding
    INFO(name);
    check_grad([&](const Ts& v) { return op(v[0], v[1]); }, {a, b});
    check_grad([&](const Ts& v) { return op(v[0], v[1]); }, {b, a});
    check_grad([&](const Ts& v) { return op(v[0], v[1]); }, {s, a});
    check_grad([&](const Ts& v) { return op(v[0], v[1]); }, {a, s});
    if (std::string(name) != "pow") {
      check_grad([&](const Ts& v) { return op(v[0], v[1]); }, {c, d});
      check_grad([&](const Ts& v) { return op(v[0].t(), v[1]); },
                 {c, random_tensor({4, 1}, DType::f64, 0.5, 2, 6)});
    }
  }
  // scalar forms
  check_grad([](const Ts& v) { return add(v[0], 2.5); }, {c});
  check_grad([](const Ts& v) { return sub(v[0], 2.5); }, {c});
  check_grad([](const Ts& v) { return mul(v[0], -1.5); }, {c});
  check_grad([](const Ts& v) { return div(v[0], 4); }, {c});
  check_grad([](const Ts& v) { return rsub(3, v[0]); }, {c});
  check_grad([](const Ts& v) { return rdiv(3, v[0]); }, {a});
  // a float tensor with an integer tensor: gradient only to the float one
  Tensor ints = from_vector(std::vector<int32_t>{1, -2, 3, 2}, {4});
  check_grad([](const Ts& v) { return mul(v[0], v[1]); }, {c, ints});
  check_grad([](const Ts& v) { return div(v[0], v[1]); }, {c, ints});
  check_grad([](const Ts& v) { return pow(v[0], v[1]); }, {a, ints});
}

TEST_CASE("maximum/minimum split ties; pow is finite at a == 0", "[autograd]") {
  Tensor a = from_vector(std::vector<double>{1, 2, 3});
  Tensor b = from_vector(std::vector<double>{1, 5, 0});
  auto g = grad([](const Ts& v) { return sum(maximum(v[0], v[1])); }, Ts{a, b});
  check_equal(g[0], {0.5, 0, 1}, {3});
  check_equal(g[1], {0.5, 1, 0}, {3});
  g = grad([](const Ts& v) { return sum(minimum(v[0], v[1])); }, Ts{a, b});
  check_equal(g[0], {0.5, 1, 0}, {3});
  check_equal(g[1], {0.5, 0, 1}, {3});
  check_equal(grad([](const Tensor& x) { return sum(maximum(x, x)); }, a), {1, 1, 1}, {3});

  // d/db a^b = a^b log a: 0 where a == 0 and b >= 0 (not NaN); d/da = b a^(b-1): 0 where b == 0.
  Tensor pa = from_vector(std::vector<double>{0, 0, 2, 0});
  Tensor pb = from_vector(std::vector<double>{2, 0, 3, 1});
  auto gp = grad([](const Ts& v) { return sum(pow(v[0], v[1])); }, Ts{pa, pb});
  check_close(gp[0], {0, 0, 12, 1}, {4}, tol_for(DType::f64));
  check_close(gp[1], {0, 0, 8 * std::log(2.0), 0}, {4}, tol_for(DType::f64));
}

TEST_CASE("gradients of where and clamp", "[autograd]") {
  Tensor cond = from_vector(std::vector<bool>{true, false, true, false}, {4, 1});
  Tensor a = random_tensor({4, 3}, DType::f64, -1, 1, 1);
  Tensor b = random_tensor({3}, DType::f64, -1, 1, 2);
  check_grad([](const Ts& v) { return where(v[0], v[1], v[2]); }, {cond, a, b});
  check_grad([](const Ts& v) { return where(v[0], v[1], 0.5); }, {cond, a});
  auto g = grad([&](const Ts& v) { return sum(where(cond, v[0], v[1])); }, Ts{a, b});
  check_equal(g[0], {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0}, {4, 3});
  check_equal(g[1], {2, 2, 2}, {3});

  // Tensor bounds: away from ties, including a column where lo > hi.
  Tensor x = from_vector(std::vector<double>{-2.1, 0.1, 2.1, 4.1}, {4, 1});
  Tensor lo = from_vector(std::vector<double>{-1, 1, 3}, {3});
  Tensor hi = from_vector(std::vector<double>{1, 2, 2}, {3});
  check_grad([](const Ts& v) { return clamp(v[0], v[1], v[2]); }, {x, lo, hi});
  check_grad([](const Ts& v) { return clamp(v[0], v[1], Tensor()); }, {x, lo});
  check_grad([](const Ts& v) { return clamp(v[0], Tensor(), v[1]); }, {x, hi});
  auto gc = grad([&](const Ts& v) { return sum(clamp(v[0], v[1], v[2])); }, Ts{x, lo, hi});
  // x: passes where lo <= x <= hi; lo: where x < lo and lo < hi; hi: where x > hi or hi < lo.
  check_equal(gc[0], {0, 1, 0, 0}, {4, 1});
  check_equal(gc[1], {1, 2, 0}, {3});
  check_equal(gc[2], {2, 2, 4}, {3});
}

TEST_CASE("second derivative of tanh", "[autograd]") {
  Tensor x = random_tensor({6}, DType::f64, -2, 2, 8);
  auto outer = [](const Tensor& p) {
    Tensor g = grad([](const Tensor& t) { return sum(tanh(t)); }, p);  // 1 - tanh^2
    return sum(g);
  };
  Tensor gg = grad(outer, x);
  std::vector<double> ref;
  for (double v : x.to_vector<double>()) ref.push_back(-2 * std::tanh(v) * (1 - std::tanh(v) * std::tanh(v)));
  check_close(gg, ref, {6}, Tol{1e-10, 1e-12});
  // and of a product chain, against finite differences of the first derivative
  check_grad(
      [](const Ts& v) { return grad([](const Tensor& t) { return sum(mul(sigmoid(t), exp(t))); }, v[0]); },
      {x});
  check_grad([](const Ts& v) { return grad([](const Tensor& t) { return sum(gelu(t, true)); }, v[0]); }, {x});
  check_grad([](const Ts& v) { return grad([](const Tensor& t) { return sum(gelu(t)); }, v[0]); }, {x});
}

// ---------------------------------------------------------------------------------------------
// errors

TEST_CASE("elementwise errors name the op and the operands", "[errors]") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  AXON_REQUIRE_THROWS_WITH(add(a, b), "add: shapes [2, 3] and [4] cannot be broadcast together");
  AXON_REQUIRE_THROWS_WITH(mul(a, b), "[2, 3] and [4]");
  AXON_REQUIRE_THROWS_WITH(maximum(a, b), "maximum");
  AXON_REQUIRE_THROWS_WITH(lt(a, b), "lt: shapes [2, 3] and [4]");
  AXON_REQUIRE_THROWS_WITH(logical_and(a, b), "logical_and: shapes");
  AXON_REQUIRE_THROWS_WITH(where(gt(a, 0), a, b), "where: shapes");
  AXON_REQUIRE_THROWS_WITH(clamp(a, b, Tensor()), "clamp: shapes");
  AXON_REQUIRE_THROWS_WITH(where(a, a, a), "where: the condition must be a bool tensor, got f32[2, 3] on cpu");
  AXON_REQUIRE_THROWS_WITH(where(a, a, 1), "where: the condition must be a bool tensor");
  AXON_REQUIRE_THROWS_WITH(add(Tensor(), a), "add: first input is an undefined tensor");
  AXON_REQUIRE_THROWS_WITH(sub(a, Tensor()), "sub: second input is an undefined tensor");
  AXON_REQUIRE_THROWS_WITH(exp(Tensor()), "exp: input is an undefined tensor");
  AXON_REQUIRE_THROWS_WITH(mul(Tensor(), 2), "mul: input is an undefined tensor");
  AXON_REQUIRE_THROWS_WITH(eq(Tensor(), 2), "eq: input is an undefined tensor");
  AXON_REQUIRE_THROWS_WITH(where(Tensor(), a, a), "where: condition is an undefined tensor");
}

TEST_CASE("elementwise ops reject tensors on different devices", "[errors][cuda]") {
  AXON_REQUIRE_CUDA();
  Tensor a = ones({3}), b = ones({3}, DType::f32, Device::cuda(0));
  AXON_REQUIRE_THROWS_WITH(add(a, b), "add: tensors are on different devices: f32[3] on cpu and f32[3] on cuda:0");
  AXON_REQUIRE_THROWS_WITH(lt(a, b), "lt: tensors are on different devices");
  AXON_REQUIRE_THROWS_WITH(where(gt(a, 0), a, b), "where: tensors are on different devices");
  AXON_REQUIRE_THROWS_WITH(clamp(a, b, Tensor()), "clamp: tensors are on different devices");
}

TEST_CASE("CUDA elementwise ops on large and odd-sized tensors", "[cuda]") {
  AXON_REQUIRE_CUDA();
  for (int64_t n : {int64_t(1), int64_t(7), int64_t(4096), int64_t(1) << 20, (int64_t(1) << 20) + 3}) {
    INFO("n = " << n);
    for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
      Tensor x = random_tensor({n}, dt, -2, 2, 1), y = random_tensor({n}, dt, 0.5, 2, 2);
      Tol tol = tol_for(dt);
      check_cuda_matches_cpu([](const Ts& v) { return add(v[0], v[1]); }, {x, y}, tol);
      check_cuda_matches_cpu([](const Ts& v) { return div(v[0], v[1]); }, {x, y}, tol);
      check_cuda_matches_cpu([](const Ts& v) { return gelu(v[0]); }, {x}, tol);
      check_cuda_matches_cpu([](const Ts& v) { return gelu(v[0], true); }, {x}, tol);
      check_cuda_matches_cpu([](const Ts& v) { return lt(v[0], v[1]); }, {x, y}, Tol{0, 0});
      check_cuda_matches_cpu([](const Ts& v) { return where(gt(v[0], 0), v[0], v[1]); }, {x, y}, Tol{0, 0});
    }
  }
  // A broadcast bias over a large matrix, and a transposed operand.
  Tensor m = random_tensor({513, 257}, DType::f32, -1, 1, 3),
         bias = random_tensor({257}, DType::f32, -1, 1, 4);
  check_cuda_matches_cpu([](const Ts& v) { return add(v[0], v[1]); }, {m, bias}, tol_for(DType::f32));
  check_cuda_matches_cpu([](const Ts& v) { return mul(v[0].t(), v[1].unsqueeze(1)); }, {m, bias},
                         tol_for(DType::f32));
}
