// The tape: structures of parameters, higher order, custom ops, memory, bad input, view gradients.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using test::check_close;
using test::check_grad;

namespace {
Tensor cpu_vec(std::vector<double> v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }
}  // namespace

TEST_CASE("value_and_grad on a single tensor", "[autograd]") {
  Tensor x = cpu_vec({1, -2, 3});
  auto [value, g] = value_and_grad([](const Tensor& t) { return sum(t * t * t); }, x);
  CHECK(value.item<double>() == Catch::Approx(1 - 8 + 27));
  check_close(g, {3, 12, 27}, {3}, test::tol_for(DType::f64));
}

TEST_CASE("gradients come back in the parameters' structure", "[autograd]") {
  Tensor w = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = cpu_vec({0.5, -0.5});
  Tensor unused = cpu_vec({7, 7, 7});
  Tensor x = from_vector(std::vector<double>{1, -1}, {1, 2});

  SECTION("a list") {
    auto g = grad([&](const std::vector<Tensor>& p) { return sum(matmul(x, p[0]) + p[1]); },
                  std::vector<Tensor>{w, b, unused});
    REQUIRE(g.size() == 3);
    check_close(g[0], {1, 1, -1, -1}, {2, 2}, test::tol_for(DType::f64));
    check_close(g[1], {1, 1}, {2}, test::tol_for(DType::f64));
    check_close(g[2], {0, 0, 0}, {3}, test::tol_for(DType::f64));  // unused: zeros of the right shape
  }
  SECTION("a nested map: layer -> parameter -> tensor") {
    Params params{{"dense_0", {{"kernel", w}, {"bias", b}}}, {"other", {{"scale", unused}}}};
    auto [loss, g] = value_and_grad(
        [&](const Params& p) {
          Tensor y = matmul(x, p.at("dense_0").at("kernel")) + p.at("dense_0").at("bias");
          return sum(y * y);
        },
        params);
    // y = [1-3, 2-4] + b = [-1.5, -2.5]; loss = 2.25 + 6.25
    CHECK(loss.item<double>() == Catch::Approx(8.5));
    check_close(g.at("dense_0").at("bias"), {-3, -5}, {2}, test::tol_for(DType::f64));
    check_close(g.at("dense_0").at("kernel"), {-3, -5, 3, 5}, {2, 2}, test::tol_for(DType::f64));
    check_close(g.at("other").at("scale"), {0, 0, 0}, {3}, test::tol_for(DType::f64));
  }
}

TEST_CASE("no_grad and stop_gradient cut the tape", "[autograd]") {
  Tensor x = cpu_vec({2, 3});
  auto g = grad([](const Tensor& t) { return sum(t * stop_gradient(t)); }, x);
  check_close(g, {2, 3}, {2}, test::tol_for(DType::f64));  // d/dt (t * c) = c
  auto g2 = grad(
      [](const Tensor& t) {
        Tensor c;
        {
          NoGrad ng;
          CHECK(!autograd::recording());
          c = t * t;
        }
        CHECK(autograd::recording());
        return sum(t * c);
      },
      x);
  check_close(g2, {4, 9}, {2}, test::tol_for(DType::f64));
  CHECK(!autograd::recording());
}

TEST_CASE("higher order: grad of grad", "[autograd]") {
  SECTION("second derivative of tanh") {
    Tensor x = cpu_vec({-1.2, 0.0, 0.3, 2.0});
    auto d2 = grad([](const Tensor& t) { return sum(grad([](const Tensor& u) { return sum(tanh(u)); }, t)); }, x);
    std::vector<double> expect;
    for (double v : x.to_vector<double>()) {
      double th = std::tanh(v);
      expect.push_back(-2 * th * (1 - th * th));
    }
    check_close(d2, expect, {4}, {1e-10, 1e-12});
  }
  SECTION("Hessian-vector product of a quartic") {
    // f(x) = sum(x^4) / 4 + x0*x1; H = diag(3x^2) + [[0,1],[1,0]] on the first two entries.
    Tensor x = cpu_vec({1, 2, 3});
    Tensor v = cpu_vec({1, -1, 2});
    auto f = [](const Tensor& t) { return sum(t * t * t * t) / 4.0 + sum(t.slice(0, 0, 1) * t.slice(0, 1, 2)); };
    auto hv = grad([&](const Tensor& t) { return sum(grad(f, t) * v); }, x);
    check_close(hv, {3 * 1 * 1 - 1, 3 * 4 * -1 + 1, 3 * 9 * 2}, {3}, {1e-10, 1e-12});
  }
  SECTION("gradient penalty: d/dw of |df/dx|^2") {
    // f(x, w) = sum(w * x^2) -> df/dx = 2 w x; penalty = sum(4 w^2 x^2); d/dw = 8 w x^2.
    Tensor x = cpu_vec({1, 2});
    Tensor w = cpu_vec({0.5, -1});
    auto gw = grad(
        [&](const Tensor& wt) {
          Tensor dx = grad([&](const Tensor& xt) { return sum(wt * xt * xt); }, x);
          return sum(dx * dx);
        },
        w);
    check_close(gw, {8 * 0.5 * 1, 8 * -1 * 4}, {2}, {1e-10, 1e-12});
  }
}

TEST_CASE("vector-Jacobian products of non-scalar functions", "[autograd]") {
  Tensor x = cpu_vec({1, 2, 3});
  auto [y, g] = vjp([](const Tensor& t) { return t * t; }, x, cpu_vec({1, 0, -1}));
  check_close(y, {1, 4, 9}, {3}, test::tol_for(DType::f64));
  check_close(g, {2, 0, -6}, {3}, test::tol_for(DType::f64));
  AXON_REQUIRE_THROWS_WITH(vjp([](const Tensor& t) { return t * t; }, x, cpu_vec({1, 2})),
                           "vjp: output gradient f64[2] on cpu does not match the output f64[3] on cpu");
}

// A user-defined op with its own forward and backward: y = x^3 computed by a raw loop, dy/dx = 3x^2.
namespace {
Tensor cube(const Tensor& x_in) {
  Tensor x = x_in.to(DType::f64).contiguous();
  Tensor y = empty_like(x);
  const double* px = x.data<double>();
  double* py = y.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] * px[i] * px[i];
  autograd::record("cube", {x}, {y}, [x](const autograd::Grads& g) { return autograd::Grads{g[0] * 3.0 * x * x}; });
  return y;
}
}  // namespace

TEST_CASE("custom ops take part in autograd, including second order", "[autograd]") {
  Tensor x = cpu_vec({1, -2, 0.5});
  check_close(grad([](const Tensor& t) { return sum(cube(t)); }, x), {3, 12, 0.75}, {3}, test::tol_for(DType::f64));
  // Its backward is written with differentiable ops, so grad of grad works: d2/dx2 x^3 = 6x.
  auto d2 = grad([](const Tensor& t) { return sum(grad([](const Tensor& u) { return sum(cube(u)); }, t)); }, x);
  check_close(d2, {6, -12, 3}, {3}, test::tol_for(DType::f64));
  check_grad([](const std::vector<Tensor>& in) { return cube(in[0]); }, {cpu_vec({0.3, -1.1, 2.0})});
}

TEST_CASE("the tape frees what it saved", "[autograd]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor x = test::random_tensor({64, 64}, DType::f32, -1, 1, 3, d);
    Tensor w = test::random_tensor({64, 64}, DType::f32, -1, 1, 4, d);
    synchronize(d);
    auto before = memory_stats(d).in_use;
    std::size_t result_bytes = 0;
    {
      auto [loss, g] = value_and_grad(
          [&](const std::vector<Tensor>& p) { return mean(tanh(matmul(p[0], p[1])) * 2.0 + exp(p[0])); },
          std::vector<Tensor>{x, w});
      result_bytes = loss.nbytes() + g[0].nbytes() + g[1].nbytes();
      synchronize(d);
      auto after = memory_stats(d).in_use;
      // results only, each rounded up to the allocator's 64-byte granularity
      CHECK(after - before <= result_bytes + 3 * 64);
      CHECK(after - before >= result_bytes);
    }
    synchronize(d);
    CHECK(memory_stats(d).in_use == before);
  }
}

TEST_CASE("bad input to grad gives clear errors and leaves the tape clean", "[autograd][errors]") {
  Tensor x = cpu_vec({1, 2});
  AXON_REQUIRE_THROWS_WITH(grad([](const Tensor& t) { return t * 2.0; }, x),
                           "grad: the function must return a scalar to be differentiated, got f64[2] on cpu");
  AXON_REQUIRE_THROWS_WITH(grad([](const Tensor& t) { return sum(t); }, arange(3, DType::i64)),
                           "grad: cannot differentiate with respect to parameter 0 of integer type (i64[3] on cpu)");
  AXON_REQUIRE_THROWS_WITH(grad(
                               [](const Tensor& t) {
                                 Tensor y = t * 2.0;
                                 return matmul(y, zeros({3, 3}, DType::f64));  // throws midway
                               },
                               x),
                           "matmul");
  CHECK(!autograd::recording());
  // The next call starts from a clean tape.
  check_close(grad([](const Tensor& t) { return sum(t * t); }, x), {2, 4}, {2}, test::tol_for(DType::f64));
}

TEST_CASE("gradients of view ops", "[autograd]") {
  Tensor x = test::random_tensor({2, 3, 4}, DType::f64, -1, 1, 11);
  check_grad([](const std::vector<Tensor>& in) { return in[0].reshape({4, 6}); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].transpose(0, 2); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].permute({1, 2, 0}); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].slice(2, 1, 4, 2); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].select(1, -1); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].slice(1, 0, 1).expand({2, 5, 4}); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].unsqueeze(1).squeeze(1).flatten(); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].transpose(0, 1).contiguous(); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return in[0].t().reshape({-1}); }, {x});  // copy path
  check_grad([](const std::vector<Tensor>& in) { return in[0].to(DType::f32).to(DType::f64) * 1.0; }, {x}, 1e-2,
             {1e-3, 1e-4});
  // slice's backward is itself differentiable (second order through slice).
  auto d2 = grad(
      [](const Tensor& t) {
        Tensor g = grad([](const Tensor& u) { return sum(u.slice(0, 1, 3) * u.slice(0, 1, 3) * u.slice(0, 1, 3)); }, t);
        return sum(g);
      },
      cpu_vec({1, 2, 3}));
  check_close(d2, {0, 12, 18}, {3}, test::tol_for(DType::f64));
}

TEST_CASE("CUDA gradients match CPU gradients", "[autograd][cuda]") {
  AXON_REQUIRE_CUDA();
  Tensor x = test::random_tensor({3, 4}, DType::f32, -1, 1, 21);
  check_grad([](const std::vector<Tensor>& in) { return tanh(in[0].t().contiguous()) * in[0].t(); }, {x});
}
