// Activations against float64 references computed here (plain C++ math), their gradients against
// finite differences, and the fused kernels' second derivatives.
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <axon/activations.hpp>
#include <axon/nn_ops.hpp>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;
using Ts = std::vector<Tensor>;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double ref_sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
double ref_softplus(double x) { return x > 30 ? x + std::exp(-x) : std::log1p(std::exp(x)); }
double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
const double kSeluA = 1.6732632423543772848170429916717, kSeluG = 1.0507009873554804934193349852946;

struct Case {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  bool smooth_at_zero = true;  // finite differences are fine for inputs near 0
};

std::vector<Case> cases() {
  namespace A = axon::activations;
  return {
      {"celu", [](const Tensor& x) { return A::celu(x); }, [](double x) { return x > 0 ? x : std::expm1(x); }},
      {"celu_a2", [](const Tensor& x) { return A::celu(x, {.alpha = 2.0}); },
       [](double x) { return x > 0 ? x : 2 * std::expm1(x / 2); }},
      {"elu", [](const Tensor& x) { return A::elu(x); }, [](double x) { return x > 0 ? x : std::expm1(x); }},
      {"elu_a05", [](const Tensor& x) { return A::elu(x, {.alpha = 0.5}); },
       [](double x) { return x > 0 ? x : 0.5 * std::expm1(x); }},
      {"exp", [](const Tensor& x) { return A::exp(x); }, [](double x) { return std::exp(x); }},
      {"gelu", [](const Tensor& x) { return A::gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"gelu_tanh", [](const Tensor& x) { return A::gelu(x, {.tanh_approximation = true}); },
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       }},
      {"hard_sigmoid", [](const Tensor& x) { return A::hard_sigmoid(x); },
       [](double x) { return clip(0.2 * x + 0.5, 0, 1); }},
      {"hard_sigmoid_axon", [](const Tensor& x) { return A::hard_sigmoid(x, {.alpha = 0.2, .beta = 0.2}); },
       [](double x) { return clip(0.2 * x + 0.2, 0, 1); }},
      {"hard_silu", [](const Tensor& x) { return A::hard_silu(x); },
       [](double x) { return x * clip(x + 3, 0, 6) / 6; }},  // PyTorch hardswish
      {"hard_tanh", [](const Tensor& x) { return A::hard_tanh(x); }, [](double x) { return clip(x, -1, 1); }},
      {"leaky_relu", [](const Tensor& x) { return A::leaky_relu(x); },
       [](double x) { return x > 0 ? x : 0.01 * x; }, false},
      {"linear", [](const Tensor& x) { return A::linear(x); }, [](double x) { return x; }},
      {"log_sigmoid", [](const Tensor& x) { return A::log_sigmoid(x); }, [](double x) { return -ref_softplus(-x); }},
      {"mish", [](const Tensor& x) { return A::mish(x); }, [](double x) { return x * std::tanh(ref_softplus(x)); }},
      {"relu", [](const Tensor& x) { return A::relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, false},
      {"relu6", [](const Tensor& x) { return A::relu6(x); }, [](double x) { return clip(x, 0, 6); }, false},
      {"sigmoid", [](const Tensor& x) { return A::sigmoid(x); }, ref_sigmoid},
      {"silu", [](const Tensor& x) { return A::silu(x); }, [](double x) { return x * ref_sigmoid(x); }},
      {"selu", [](const Tensor& x) { return A::selu(x); },
       [](double x) { return kSeluG * (x > 0 ? x : kSeluA * std::expm1(x)); }},
      {"softplus", [](const Tensor& x) { return A::softplus(x); }, ref_softplus},
      {"softsign", [](const Tensor& x) { return A::softsign(x); }, [](double x) { return x / (std::abs(x) + 1); },
       false},
      {"tanh", [](const Tensor& x) { return A::tanh(x); }, [](double x) { return std::tanh(x); }},
  };
}

std::vector<double> apply_ref(const Case& c, const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(std::isnan(x) ? kNaN : c.ref(x));
  return out;
}

// x -> d/dx sum(w * f(x)): its own gradient exercises the recorded backward of the backward.
Tensor first_derivative(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  return grad([&](const Tensor& p) { return sum(f(p)); }, x);
}
}  // namespace

TEST_CASE("elementwise activations match float64 references", "[activations]") {
  for (const Case& c : cases()) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      for (int layout = 0; layout < 3; ++layout) {
        INFO(c.name << " " << dtype_name(dt) << " layout " << layout);
        Tensor x = random_tensor({4, 6}, dt, -4, 4, 3);
        if (layout == 1) x = random_tensor({6, 4}, dt, -4, 4, 4).t();
        if (layout == 2) x = random_tensor({4, 12}, dt, -4, 4, 5).slice(1, 0, 12, 2);
        Tensor y = c.op(x);
        CHECK(y.dtype() == dt);
        auto tol = tol_for(dt);
        check_close(y, apply_ref(c, x.to_vector<double>()), x.shape(), tol);
        check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0]); }, {x}, tol_for(dt));
      }
    }
  }
}

TEST_CASE("activations at 0, +-1000, +-inf and NaN", "[activations]") {
  const std::vector<double> edge = {0.0, -0.0, 1000, -1000, 20, -20, kInf, -kInf, kNaN};
  for (const Case& c : cases()) {
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(c.name << " " << dtype_name(dt));
      Tensor x = from_vector(edge, {int64_t(edge.size())}).to(dt);
      std::vector<double> expect = apply_ref(c, edge);
      if (dt == DType::f32) {  // values beyond f32's range overflow to inf (exp(1000))
        for (double& e : expect)
          if (std::abs(e) > 3.4e38) e = e > 0 ? kInf : -kInf;
      }
      // x * sigmoid(x) etc. at -inf: 0 * -inf is NaN in both; the references say so too
      Tensor y = c.op(x);
      check_close(y, expect, x.shape(), tol_for(dt));
    }
  }
}

TEST_CASE("stable forms do not overflow for |x| = 1000", "[activations]") {
  namespace A = axon::activations;
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = from_vector(std::vector<double>{1000, -1000, 999, -999}, {2, 2}).to(dt);
    check_close(A::softplus(x), {1000, 0, 999, 0}, {2, 2}, tol_for(dt));
    check_close(A::log_sigmoid(x), {0, -1000, 0, -999}, {2, 2}, tol_for(dt));
    // rows {1000, -1000} and {999, -999}
    check_close(A::log_softmax(x), {0, -2000, 0, -1998}, {2, 2}, tol_for(dt));
    check_close(A::log_sumexp(x), {1000, 999}, {2, 1}, tol_for(dt));
    check_close(A::softmax(x), {1, 0, 1, 0}, {2, 2}, tol_for(dt));
    Tensor big = from_vector(std::vector<double>{1000, 1000, 1000}, {3}).to(dt);
    check_close(A::log_sumexp(big), {1000 + std::log(3.0)}, {1}, tol_for(dt));
  }
}

TEST_CASE("softmax, log_softmax and log_sumexp along an axis", "[activations]") {
  namespace A = axon::activations;
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = random_tensor({3, 4}, dt, -5, 5, 9);
    auto v = x.to_vector<double>();
    for (int64_t axis : {0, 1, -1}) {
      INFO(dtype_name(dt) << " axis " << axis);
      const int64_t ax = axis < 0 ? 1 : axis;
      std::vector<double> lse(ax == 1 ? 3 : 4), sm(12), lsm(12);
      for (size_t o = 0; o < lse.size(); ++o) {
        auto at = [&](int64_t k) { return ax == 1 ? o * 4 + k : k * 4 + o; };
        const int64_t n = ax == 1 ? 4 : 3;
        double m = -kInf, s = 0;
        for (int64_t k = 0; k < n; ++k) m = std::max(m, v[at(k)]);
        for (int64_t k = 0; k < n; ++k) s += std::exp(v[at(k)] - m);
        lse[o] = m + std::log(s);
        for (int64_t k = 0; k < n; ++k) {
          lsm[at(k)] = v[at(k)] - lse[o];
          sm[at(k)] = std::exp(lsm[at(k)]);
        }
      }
      check_close(A::softmax(x, {.axis = axis}), sm, {3, 4}, tol_for(dt));
      check_close(A::log_softmax(x, {.axis = axis}), lsm, {3, 4}, tol_for(dt));
      check_close(A::log_sumexp(x, {.axis = axis}), lse, ax == 1 ? Shape{3, 1} : Shape{1, 4}, tol_for(dt));
    }
    check_grad([](const Ts& v) { return A::log_sumexp(v[0]); }, {x});
    check_grad([](const Ts& v) { return A::softmax(v[0], {.axis = 0}); }, {x});
    check_grad([](const Ts& v) { return A::log_softmax(v[0]); }, {x});
  }
}

TEST_CASE("activation gradients match finite differences", "[activations][autograd]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    Tensor x = random_tensor({3, 5}, DType::f64, -3.5, 3.5, 21);
    check_grad([&](const Ts& v) { return c.op(v[0]); }, {x});
    // large magnitudes: the stable forms' gradients too
    Tensor far = from_vector(std::vector<double>{-40, -12, 12, 40}, {4});
    if (c.name != "exp") check_grad([&](const Ts& v) { return c.op(v[0]); }, {far});
    // non-contiguous input
    Tensor xt = random_tensor({5, 3}, DType::f64, -3.5, 3.5, 22);
    check_grad([&](const Ts& v) { return c.op(v[0].t()); }, {xt});
  }
}

TEST_CASE("fused activations: second derivatives through the composite backward", "[activations][autograd]") {
  std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> fused = {
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"log_sigmoid", [](const Tensor& x) { return log_sigmoid(x); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"mish", [](const Tensor& x) { return mish(x); }},
      {"elu", [](const Tensor& x) { return elu(x, 0.7); }},
      {"celu", [](const Tensor& x) { return celu(x, 1.5); }},
      {"selu", [](const Tensor& x) { return selu(x); }},
      {"gelu", [](const Tensor& x) { return gelu_fused(x); }},
      {"gelu_tanh", [](const Tensor& x) { return gelu_fused(x, true); }},
      {"hard_sigmoid", [](const Tensor& x) { return hard_sigmoid(x, 0.3, 0.4); }},
      {"hard_silu", [](const Tensor& x) { return hard_silu(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {"softsign", [](const Tensor& x) { return softsign(x); }},
  };
  for (auto& [name, f] : fused) {
    INFO(name);
    Tensor x = random_tensor({2, 5}, DType::f64, -3, 3, 31);
    check_grad([&](const Ts& v) { return first_derivative(f, v[0]); }, {x});
  }
  // the fused derivative itself against the analytic one, at a few points
  Tensor x = from_vector(std::vector<double>{-2, -0.5, 0.5, 2}, {4});
  std::vector<double> ds;
  for (double v : {-2.0, -0.5, 0.5, 2.0}) ds.push_back(ref_sigmoid(v) * (1 + v * (1 - ref_sigmoid(v))));
  check_close(first_derivative([](const Tensor& t) { return silu(t); }, x), ds, {4}, {1e-12, 1e-12});
}

TEST_CASE("activations on empty and integer tensors", "[activations]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    Tensor e = zeros({0, 3}, DType::f32);
    Tensor y = c.op(e);
    CHECK(y.shape() == Shape{0, 3});
    Tensor g = grad([&](const Tensor& p) { return sum(c.op(p)); }, e);
    CHECK(g.shape() == Shape{0, 3});
  }
  Tensor i = from_vector(std::vector<int32_t>{-2, 0, 3}, {3});
  check_close(activations::softplus(i), {ref_softplus(-2), ref_softplus(0), ref_softplus(3)}, {3}, tol_for(DType::f32));
  check_close(activations::elu(i), {std::expm1(-2.0), 0, 3}, {3}, tol_for(DType::f32));
  check_close(activations::softsign(i), {-2.0 / 3, 0, 0.75}, {3}, tol_for(DType::f32));
}

TEST_CASE("activate by name", "[activations]") {
  Tensor x = random_tensor({2, 3}, DType::f32, -2, 2, 41);
  CHECK(activations::names().size() == 22);
  for (const Case& c : cases()) {
    if (c.name.find('_') != std::string::npos && c.name != "hard_sigmoid" && c.name != "hard_silu" &&
        c.name != "hard_tanh" && c.name != "leaky_relu" && c.name != "log_sigmoid")
      continue;  // option variants
    INFO(c.name);
    check_close(activations::activate(c.name, x), c.op(x), {0, 0});
  }
  check_close(activations::activate("softmax", x), activations::softmax(x), {0, 0});
  check_close(activations::activate("log_sumexp", x), activations::log_sumexp(x), {0, 0});
}

TEST_CASE("activation errors", "[activations][errors]") {
  Tensor x = random_tensor({2, 3}, DType::f32);
  AXON_REQUIRE_THROWS_WITH(activations::activate("rellu", x), "unknown activation \"rellu\"");
  AXON_REQUIRE_THROWS_WITH(activations::activate("rellu", x), "gelu, hard_sigmoid");
  AXON_REQUIRE_THROWS_WITH(activations::celu(x, {.alpha = 0.0}), "celu: alpha must be nonzero");
  AXON_REQUIRE_THROWS_WITH(activations::softmax(x, {.axis = 2}), "softmax");
  AXON_REQUIRE_THROWS_WITH(activations::silu(Tensor()), "silu");
}

TEST_CASE("fused activations: CUDA matches CPU, forward and backward", "[activations][cuda]") {
  AXON_REQUIRE_CUDA();
  for (const Case& c : cases()) {
    INFO(c.name);
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      Tensor x = random_tensor({257, 33}, dt, -6, 6, 51);  // odd sizes: vector body and scalar tail
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0]); }, {x}, tol_for(dt));
      check_cuda_matches_cpu([&](const Ts& v) { return c.op(v[0].slice(1, 1, 33)); }, {x}, tol_for(dt));
      check_cuda_matches_cpu([&](const Ts& v) { return first_derivative(c.op, v[0]); }, {x}, tol_for(dt));
    }
  }
}
