// The CPU's vectorizable f32 math (kernels/cpu/vmath.hpp) against float64 references, in ulps of
// the f32 result: over a sweep of the whole f32 range by bit pattern, dense windows around the
// points where the formulas change, and the special values (signed zeros, denormals, the overflow
// and underflow thresholds, +-inf, NaN). Each function is checked three ways: the f32 op on a
// contiguous tensor (the kernel's loop, in the widest clone this CPU runs), on a strided view (the
// generic loop) and the header's function compiled here for baseline x86-64 (no FMA). Then the ops
// built on it: gelu, the fused activations forward and backward, softmax rows and cross-entropy.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <axon/nn_ops.hpp>

#include "../kernels/cpu/vmath.hpp"
#include "harness.hpp"

using namespace axon;
namespace vm = axon::kernels::cpu::vm;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// The spacing of f32 numbers at the (real) value r: 2^(e - 23) for r in [2^e, 2^(e+1)), 2^-149
// among the denormals, 2^104 from FLT_MAX on.
double ulp_at(double r) {
  const double a = std::fabs(r);
  if (a < 0x1p-126) return 0x1p-149;
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, std::min(e - 1, 127) - 23);
}
// |y - r| in ulps of the f32 result. Results that must be exact fail with 1e30: a NaN where r is not
// (or the reverse), an infinity of the wrong sign, a zero of the wrong sign. An r beyond f32's range
// counts as 2^128, so an inf where r rounds to FLT_MAX measures its distance from there.
double ulp_error(float y, double r) {
  if (std::isnan(r) || std::isnan(y)) return std::isnan(r) && std::isnan(y) ? 0 : 1e30;
  if (y == 0 && r == 0) return std::signbit(y) == std::signbit(r) ? 0 : 1e30;
  if (std::isinf(y) && std::isinf(r)) return (y > 0) == (r > 0) ? 0 : 1e30;
  const double yd = std::isinf(y) ? std::copysign(0x1p128, y) : y;
  const double rd = std::fabs(r) >= 0x1p128 ? std::copysign(0x1p128, r) : r;
  return std::fabs(yd - rd) / ulp_at(rd);
}

struct Worst {
  double ulps = 0;
  float x = 0, y = 0;
  double ref = 0;
  void add(float xi, float yi, double ri) {
    const double e = ulp_error(yi, ri);
    if (e > ulps || e != e) *this = {e, xi, yi, ri};
  }
};
std::ostream& operator<<(std::ostream& os, const Worst& w) {
  return os << w.ulps << " ulp at x = " << w.x << " (" << std::hexfloat << w.x << "): got " << w.y << ", want "
            << w.ref << std::defaultfloat;
}

// The special values, both signs.
std::vector<float> specials() {
  std::vector<float> v = {0.0f,
                          1.0f,
                          0.5f,
                          2.0f,
                          kInf,
                          kNaN,
                          std::numeric_limits<float>::denorm_min(),
                          from_bits(0x007fffff),  // the largest denormal
                          std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::max(),
                          88.7f,
                          88.72283172607422f,  // the largest x with e^x finite
                          88.72283935546875f,  // the next float: e^x overflows
                          89.0f,
                          87.33654f,  // e^-x near the smallest normal
                          103.97f,
                          103.98f,  // e^-x below half the smallest denormal: 0
                          104.0f,
                          0x1p-25f,
                          0x1p-24f,
                          0.625f,
                          0.9f,
                          0.6f,
                          3.92f,
                          6.0f,
                          9.01f,
                          20.0f,
                          1e-30f,
                          1e30f};
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  return v;
}

// Every 2^12-th bit pattern (offset so that it is not only round numbers), 4096 consecutive floats
// around each point where a formula changes or the result is delicate, and the special values.
std::vector<float> sweep() {
  std::vector<float> v;
  for (uint64_t b = 1237; b < (uint64_t(1) << 32); b += 4096) v.push_back(from_bits(static_cast<uint32_t>(b)));
  for (float c : {1.0f, 0.625f, 0.9f, 0.6f, 0.41f, 0.29f, 0.347f, 88.72f, 87.33f, 103.97f, 0x1p-25f, 17.0f, 3.92f,
                  6.0f}) {
    for (float s : {c, -c}) {
      const uint32_t b = to_bits(s);
      for (uint32_t d = 0; d < 4096; ++d) v.push_back(from_bits(b - 2048 + d));
    }
  }
  for (float s : specials()) v.push_back(s);
  return v;
}

double ref_sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

struct Fn {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  float (*direct)(float);
  double (*ref)(double);
  double bound;  // ulps
};
std::vector<Fn> functions() {
  return {
      {"exp", [](const Tensor& t) { return exp(t); }, [](float x) { return vm::exp(x); },
       [](double x) { return std::exp(x); }, 1.5},
      {"expm1", [](const Tensor& t) { return expm1(t); }, [](float x) { return vm::expm1(x); },
       [](double x) { return std::expm1(x); }, 2},
      {"log", [](const Tensor& t) { return log(t); }, [](float x) { return vm::log(x); },
       [](double x) { return std::log(x); }, 1.5},
      {"log1p", [](const Tensor& t) { return log1p(t); }, [](float x) { return vm::log1p(x); },
       [](double x) { return std::log1p(x); }, 2},
      {"tanh", [](const Tensor& t) { return tanh(t); }, [](float x) { return vm::tanh(x); },
       [](double x) { return std::tanh(x); }, 2},
      {"erf", [](const Tensor& t) { return erf(t); }, [](float x) { return vm::erf(x); },
       [](double x) { return std::erf(x); }, 2},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }, [](float x) { return vm::sigmoid(x); }, ref_sigmoid,
       3},
  };
}
}  // namespace

TEST_CASE("vmath: f32 exp, expm1, log, log1p, tanh, erf, sigmoid within their ulp bounds everywhere", "[ops]") {
  const std::vector<float> xs = sweep();
  const int64_t n = static_cast<int64_t>(xs.size());
  std::vector<float> twice(2 * xs.size());  // xs at the even positions: a strided view of it
  for (size_t i = 0; i < xs.size(); ++i) twice[2 * i] = xs[i];
  const Tensor x = from_vector(xs);
  const Tensor xstrided = from_vector(twice).slice(0, 0, 2 * n, 2);
  REQUIRE_FALSE(xstrided.is_contiguous());
  for (const Fn& f : functions()) {
    INFO(f.name << ", bound " << f.bound << " ulp");
    const std::vector<float> y = f.op(x).to_vector<float>();
    const std::vector<float> ys = f.op(xstrided).to_vector<float>();
    REQUIRE(y.size() == xs.size());
    REQUIRE(ys.size() == xs.size());
    Worst kernel, strided, direct;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double r = f.ref(xs[i]);
      kernel.add(xs[i], y[i], r);
      strided.add(xs[i], ys[i], r);
      direct.add(xs[i], f.direct(xs[i]), r);
    }
    INFO("contiguous kernel: " << kernel);
    INFO("strided kernel: " << strided);
    INFO("header, baseline ISA: " << direct);
    CHECK(kernel.ulps <= f.bound);
    CHECK(strided.ulps <= f.bound);
    CHECK(direct.ulps <= f.bound);
  }
}

TEST_CASE("vmath: thresholds, signed zeros, infinities and NaN", "[ops]") {
  auto one = [](const std::function<Tensor(const Tensor&)>& op, float v) {
    return op(from_vector(std::vector<float>{v})).to_vector<float>()[0];
  };
  auto e = [](const Tensor& t) { return exp(t); };
  CHECK(std::isfinite(one(e, 88.7f)));
  CHECK(one(e, 88.72283172607422f) == static_cast<float>(std::exp(88.72283172607422)));
  CHECK(one(e, 88.72283935546875f) == kInf);
  CHECK(one(e, 89.0f) == kInf);
  CHECK(one(e, -87.33654f) == static_cast<float>(std::exp(-87.33654f)));  // near the smallest normal
  CHECK(one(e, -103.9f) > 0);                                              // a denormal
  CHECK(one(e, -104.0f) == 0);
  CHECK(one(e, -kInf) == 0);
  CHECK(std::isnan(one(e, kNaN)));
  auto em1 = [](const Tensor& t) { return expm1(t); };
  CHECK(std::signbit(one(em1, -0.0f)));
  CHECK(one(em1, 1e-40f) == 1e-40f);
  CHECK(one(em1, -kInf) == -1);
  CHECK(one(em1, 88.72283935546875f) == kInf);
  auto lg = [](const Tensor& t) { return log(t); };
  CHECK(one(lg, 0.0f) == -kInf);
  CHECK(one(lg, -0.0f) == -kInf);
  CHECK(std::isnan(one(lg, -1.0f)));
  CHECK(one(lg, kInf) == kInf);
  CHECK(one(lg, 1.0f) == 0);
  CHECK(one(lg, std::numeric_limits<float>::denorm_min()) == static_cast<float>(std::log(0x1p-149)));
  auto l1p = [](const Tensor& t) { return log1p(t); };
  CHECK(one(l1p, -1.0f) == -kInf);
  CHECK(std::isnan(one(l1p, -1.5f)));
  CHECK(std::signbit(one(l1p, -0.0f)));
  CHECK(one(l1p, kInf) == kInf);
  auto th = [](const Tensor& t) { return tanh(t); };
  CHECK(std::signbit(one(th, -0.0f)));
  CHECK(one(th, 1e-30f) == 1e-30f);  // relative accuracy down to 0
  CHECK(one(th, -kInf) == -1);
  CHECK(one(th, 9.1f) == 1);
  auto ef = [](const Tensor& t) { return erf(t); };
  CHECK(std::signbit(one(ef, -0.0f)));
  CHECK(one(ef, 4.0f) == 1);
  CHECK(one(ef, -kInf) == -1);
  // Within erf's bound rather than bit-equal: where the compiler contracts a*b+c into an FMA (the
  // sanitizer builds) the last bit of the tiny-argument branch changes.
  CHECK(ulp_error(one(ef, 1e-30f), std::erf(double(1e-30f))) <= 2);
  auto sg = [](const Tensor& t) { return sigmoid(t); };
  CHECK(one(sg, -kInf) == 0);
  CHECK(one(sg, kInf) == 1);
  CHECK(one(sg, -100.0f) == static_cast<float>(ref_sigmoid(-100.0)));  // a denormal, not 0
  for (const Fn& f : functions()) {
    INFO(f.name);
    CHECK(std::isnan(one(f.op, kNaN)));
    CHECK(std::isnan(f.direct(kNaN)));
  }
}

namespace {
double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double softplus_ref(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
constexpr double kK = 0.79788456080286535588, kC = 0.044715;
// 2u of gelu_tanh: 0.5 (1 + tanh(u)) = sigmoid(2u), computed so (in double 1 + tanh(u) cancels to 0).
double two_u(double x) { return 2 * kK * (x + kC * x * x * x); }

struct Act {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  double (*f)(double);
  double (*df)(double);
  double fwd_ulps;  // bound on the forward's error in ulps of the result
  // Extra ulps where the f32 arithmetic itself is ill-conditioned: gelu_tanh rounds its argument
  // 2u = 2k (x + c x^3) in ~5 steps, and sigmoid(2u) amplifies that relative error by |2u| as it
  // tends to 0.
  double (*extra_ulps)(double) = [](double) { return 0.0; };
};
std::vector<Act> acts() {
  return {
      {"softplus", [](const Tensor& x) { return softplus(x); }, softplus_ref, ref_sigmoid, 3},
      {"log_sigmoid", [](const Tensor& x) { return log_sigmoid(x); }, [](double x) { return -softplus_ref(-x); },
       [](double x) { return ref_sigmoid(-x); }, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * ref_sigmoid(x); },
       [](double x) { return ref_sigmoid(x) * (1 + x * (1 - ref_sigmoid(x))); }, 4},
      {"mish", [](const Tensor& x) { return mish(x); }, [](double x) { return x * std::tanh(softplus_ref(x)); },
       [](double x) {
         const double t = std::tanh(softplus_ref(x));
         return t + x * (1 - t * t) * ref_sigmoid(x);
       },
       6},
      {"elu", [](const Tensor& x) { return elu(x); }, [](double x) { return x > 0 ? x : std::expm1(x); },
       [](double x) { return x > 0 ? 1 : std::exp(x); }, 3},
      {"gelu", [](const Tensor& x) { return gelu_fused(x); }, [](double x) { return x * phi(x); },
       [](double x) { return phi(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }, 8},
      {"gelu_tanh", [](const Tensor& x) { return gelu_fused(x, true); },
       [](double x) { return x * ref_sigmoid(two_u(x)); },
       [](double x) {
         const double s = ref_sigmoid(two_u(x));
         return s + 2 * x * s * (1 - s) * kK * (1 + 3 * kC * x * x);
       },
       4, [](double x) { return 3 * std::fabs(two_u(x)); }},
  };
}
}  // namespace

TEST_CASE("vmath: gelu and the fused activations, forward and backward, against float64", "[ops]") {
  // Dense over [-12, 12] and the tails out to +-100, plus the finite specials (test_activations has
  // the infinities and NaN).
  std::vector<float> xs;
  for (int i = -120000; i <= 120000; ++i) xs.push_back(static_cast<float>(i) * 1e-4f);
  for (int i = -1000; i <= 1000; ++i) xs.push_back(static_cast<float>(i) * 0.1f);
  for (float s : specials())
    if (std::fabs(s) < 1e20f) xs.push_back(s);
  const Tensor x = from_vector(xs);
  // The backward: the fused kernel's dx for dy = 1 (sum's gradient).
  auto derivative = [&](const std::function<Tensor(const Tensor&)>& op) {
    return grad([&](const Tensor& p) { return sum(op(p)); }, x).to_vector<float>();
  };
  std::vector<Act> all = acts();
  all.push_back({"unary gelu", [](const Tensor& t) { return gelu(t); }, all[5].f, nullptr, all[5].fwd_ulps});
  all.push_back({"unary gelu_tanh", [](const Tensor& t) { return gelu(t, true); }, all[6].f, nullptr,
                 all[6].fwd_ulps, all[6].extra_ulps});
  for (const Act& a : all) {
    INFO(a.name);
    // The forward in ulps of the result over its bound (plus the extra ulps, plus |x| ulps of the
    // smallest denormal: x times a denormal intermediate, sigmoid(-100) say, keeps its granularity).
    const std::vector<float> y = a.op(x).to_vector<float>();
    double worst_fwd = 0;
    float wfx = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (a.name.find("gelu") != std::string::npos && a.name.find("tanh") == std::string::npos && xs[i] < -8.4f)
        continue;  // Phi's far tail, below 1e-17: see vmath.hpp
      const double r = a.f(xs[i]);
      const double tol = (a.fwd_ulps + a.extra_ulps(xs[i])) * ulp_at(r) + std::fabs(xs[i]) * 0x1p-149;
      const double err = std::fabs(y[i] - r) / tol;
      if (!(err <= worst_fwd)) worst_fwd = err, wfx = xs[i];
    }
    INFO("forward: worst " << worst_fwd << " of the tolerance at x = " << wfx);
    CHECK(worst_fwd <= 1);
    if (!a.df) continue;
    // The derivatives cross 0 (mish, gelu) or sum terms of either sign: their error is bounded by a
    // few ulps of the result plus a few of the larger term, ~1 + |x|.
    const std::vector<float> d = derivative(a.op);
    double worst = 0;
    float wx = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double r = a.df(xs[i]);
      const double err = std::fabs(d[i] - r) / (4 * ulp_at(r) + 4 * 0x1p-24 * (1 + std::fabs(xs[i])));
      if (!(err <= worst)) worst = err, wx = xs[i];
    }
    INFO("backward: worst " << worst << " of the tolerance at x = " << wx);
    CHECK(worst <= 1);
  }
}

TEST_CASE("vmath: f32 softmax and log_softmax rows and cross-entropy against float64", "[ops]") {
  // Rows longer than the lanes and not a multiple of them, enough for several threads.
  const int64_t rows = 97, n = 1003;
  std::vector<double> v = test::random_values(rows * n, -8, 8, 41);
  for (double& e : v) e = static_cast<float>(e);
  v[5 * n + 7] = -INFINITY;  // a -inf logit: exp 0
  const Tensor x = from_vector(v, {rows, n}).to(DType::f32);
  const std::vector<float> sm = softmax(x, 1).to_vector<float>(), lsm = log_softmax(x, 1).to_vector<float>();
  std::vector<int64_t> ids(rows);
  for (int64_t r = 0; r < rows; ++r) ids[r] = (r * 37) % n;
  const std::vector<float> loss =
      sparse_softmax_cross_entropy(x, from_vector(ids, {rows})).to_vector<float>();
  double worst_sm = 0, worst_lsm = 0, worst_loss = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t k = 0; k < n; ++k) m = std::max(m, v[r * n + k]);
    for (int64_t k = 0; k < n; ++k) s += std::exp(v[r * n + k] - m);
    const double lse = m + std::log(s);
    for (int64_t k = 0; k < n; ++k) {
      const double want = v[r * n + k] - lse;
      // f32 rounds x - max: a relative error of |x - max| 2^-24 in the exponential.
      const double tol = (2 + std::fabs(v[r * n + k] - m)) * 0x1p-23;
      worst_sm = std::max(worst_sm, std::fabs(sm[r * n + k] - std::exp(want)) / (tol * std::exp(want) + 1e-38));
      if (std::isfinite(want))
        worst_lsm = std::max(worst_lsm, std::fabs(lsm[r * n + k] - want) / (tol * (1 + std::fabs(want))));
    }
    const double want_loss = lse - v[r * n + ids[r]];
    worst_loss = std::max(worst_loss, std::fabs(loss[r] - want_loss) / (1e-6 * (1 + std::fabs(want_loss))));
  }
  CHECK(lsm[5 * n + 7] == -kInf);
  CHECK(worst_sm <= 1);
  CHECK(worst_lsm <= 1);
  CHECK(worst_loss <= 1);
  // A NaN in a row makes that row NaN and no other.
  std::vector<double> w = v;
  w[3 * n + 500] = NAN;
  const std::vector<float> smn = softmax(from_vector(w, {rows, n}).to(DType::f32), 1).to_vector<float>();
  CHECK(std::isnan(smn[3 * n]));
  CHECK(std::isnan(smn[3 * n + n - 1]));
  CHECK(smn[4 * n] == sm[4 * n]);
}
