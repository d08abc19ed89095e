// Gradients exactly at the kinks of piecewise activations follow PyTorch (issue 16, item 7): the
// fused backward kernels, the composite backward used while a tape records (grad of grad) and, with
// a GPU, the CUDA kernels all give the same one-sided value.
#include <functional>
#include <string>

#include <axon/activations.hpp>
#include <axon/nn_ops.hpp>

#include "harness.hpp"

using namespace axon;
namespace A = axon::activations;
using Ts = std::vector<Tensor>;

namespace {

struct Kinks {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::vector<double> x;       // the kinks, with a point on each side
  std::vector<double> dydx;    // PyTorch's gradient there
};

const double kSeluA = 1.6732632423543772848170429916717, kSeluG = 1.0507009873554804934193349852946;

std::vector<Kinks> kinks() {
  return {
      {"relu", [](const Tensor& x) { return A::relu(x); }, {-1, 0, 1}, {0, 0, 1}},
      {"relu6", [](const Tensor& x) { return A::relu6(x); }, {-1, 0, 3, 6, 7}, {0, 0, 1, 0, 0}},
      {"hard_tanh", [](const Tensor& x) { return A::hard_tanh(x); }, {-2, -1, 0, 1, 2}, {0, 0, 1, 0, 0}},
      // Keras' defaults (0.2 x + 0.5): kinks at ±2.5.
      {"hard_sigmoid", [](const Tensor& x) { return A::hard_sigmoid(x); }, {-3, -2.5, 0, 2.5, 3}, {0, 0, 0.2, 0, 0}},
      // PyTorch's hardsigmoid (x / 6 + 1/2): kinks at ±3.
      {"hard_sigmoid_torch", [](const Tensor& x) { return A::hard_sigmoid(x, {.alpha = 1.0 / 6, .beta = 0.5}); },
       {-4, -3, 0, 3, 4}, {0, 0, 1.0 / 6, 0, 0}},
      // hardswish_backward: (2x + 3) / 6 on the closed interval [-3, 3].
      {"hard_silu", [](const Tensor& x) { return A::hard_silu(x); }, {-4, -3, 0, 3, 4}, {0, -0.5, 0.5, 1.5, 1}},
      {"leaky_relu", [](const Tensor& x) { return A::leaky_relu(x); }, {-1, 0, 1}, {0.01, 0.01, 1}},
      {"elu", [](const Tensor& x) { return A::elu(x); }, {0, 1}, {1, 1}},
      {"elu_a05", [](const Tensor& x) { return A::elu(x, {.alpha = 0.5}); }, {0, 1}, {0.5, 1}},
      {"celu_a2", [](const Tensor& x) { return A::celu(x, {.alpha = 2.0}); }, {0, 1}, {1, 1}},
      {"selu", [](const Tensor& x) { return A::selu(x); }, {0, 1}, {kSeluG * kSeluA, kSeluG}},
  };
}

Tensor first_derivative(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  return grad([&](const Tensor& p) { return sum(f(p)); }, x);
}

// The same derivative computed while an outer tape records it: the composite backward formulas.
Tensor recorded_first_derivative(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  Tensor d;
  (void)grad(
      [&](const Tensor& t) {
        d = first_derivative(f, t);
        return sum(d);
      },
      x);
  return d;
}

}  // namespace

TEST_CASE("gradients at activation kinks follow PyTorch, fused and composite", "[activations]") {
  for (const Kinks& k : kinks()) {
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(k.name << " " << dtype_name(dt));
      const int64_t n = static_cast<int64_t>(k.x.size());
      Tensor x = from_vector(k.x, {n}).to(dt);
      test::check_close(first_derivative(k.op, x), k.dydx, {n}, test::tol_for(dt));
      test::check_close(recorded_first_derivative(k.op, x), k.dydx, {n}, test::tol_for(dt));
    }
  }
}

TEST_CASE("the core ops relu6 and hard_tanh: bounds, dtypes and errors", "[activations]") {
  test::check_close(hard_tanh(from_vector(std::vector<double>{-3, 0.5, 3}, {3}), -2, 2), {-2, 0.5, 2}, {3},
                    {0, 0});
  Tensor g = grad([](const Tensor& t) { return sum(hard_tanh(t, -2, 2)); },
                  from_vector(std::vector<double>{-2, -1.5, 2, 2.5}, {4}));
  test::check_close(g, {0, 1, 0, 0}, {4}, {0, 0});
  CHECK(relu6(from_vector(std::vector<int32_t>{-1, 7}, {2})).dtype() == DType::f32);  // clamp's dtype rule
  AXON_REQUIRE_THROWS_WITH(hard_tanh(ones({2}), 1, -1), "hard_tanh: the lower bound 1 exceeds the upper bound -1");
}

TEST_CASE("activation kinks: CUDA matches CPU", "[activations][cuda]") {
  AXON_REQUIRE_CUDA();
  for (const Kinks& k : kinks()) {
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(k.name << " " << dtype_name(dt));
      Tensor x = from_vector(k.x, {static_cast<int64_t>(k.x.size())}).to(dt);
      test::check_cuda_matches_cpu([&](const Ts& v) { return first_derivative(k.op, v[0]); }, {x}, {0, 0});
      test::check_cuda_matches_cpu([&](const Ts& v) { return recorded_first_derivative(k.op, v[0]); }, {x}, {0, 0});
    }
  }
}
