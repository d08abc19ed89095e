// autograd::DetectAnomaly (PyTorch's detect_anomaly): a non-finite gradient is caught at the node
// whose backward produced it, naming that op, the input and where the input came from.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using TV = std::vector<Tensor>;

namespace {
Tensor vec(std::vector<double> v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }
}  // namespace

TEST_CASE("detect_anomaly is off by default and an infinite gradient passes through", "[autograd][anomaly]") {
  CHECK_FALSE(autograd::anomaly_detection_enabled());
  Tensor g = grad([](const Tensor& t) { return sum(sqrt(t)); }, vec({0, 4}));
  auto v = g.to_vector<double>();
  CHECK(std::isinf(v[0]));
  CHECK(v[1] == Catch::Approx(0.25));
}

TEST_CASE("sqrt at 0 under detect_anomaly names sqrt and the parameter", "[autograd][anomaly][errors]") {
  autograd::DetectAnomaly guard;
  CHECK(autograd::anomaly_detection_enabled());
  auto f = [](const Tensor& t) { return sum(sqrt(t)); };
  AXON_REQUIRE_THROWS_WITH(grad(f, vec({0, 4})), "detect_anomaly: the backward of 'sqrt' (tape node 0)");
  AXON_REQUIRE_THROWS_WITH(grad(f, vec({0, 4})), "0 NaN and 1 infinite values out of 2");
  AXON_REQUIRE_THROWS_WITH(grad(f, vec({0, 4})), "for its input 0, which is parameter 0");
  CHECK_FALSE(autograd::recording());  // the failed call leaves no tape behind
  // Finite gradients pass the check unchanged.
  test::check_close(grad(f, vec({1, 4})), {0.5, 0.25}, {2}, {1e-12, 1e-12});
}

TEST_CASE("log(0) inside a function names log and the op that produced its input", "[autograd][anomaly][errors]") {
  autograd::DetectAnomaly guard;
  // log(a * b) with a zero product: log's backward returns 1/0 for the output of mul.
  auto f = [](const TV& p) { return sum(log(p[0] * p[1])); };
  AXON_REQUIRE_THROWS_WITH(grad(f, TV{vec({0, 1}), vec({2, 3})}),
                           "the backward of 'log' (tape node 1) returned a gradient with 0 NaN and 1 infinite");
  AXON_REQUIRE_THROWS_WITH(grad(f, TV{vec({0, 1}), vec({2, 3})}), "which is the output of 'mul' (tape node 0)");
}

TEST_CASE("a NaN gradient is reported at the node that made it", "[autograd][anomaly][errors]") {
  autograd::DetectAnomaly guard;
  // sqrt(t) * 0: mul's backward is finite (0), sqrt's is 0 / 0 = NaN.
  auto f = [](const Tensor& t) { return sum(sqrt(t) * 0.0); };
  AXON_REQUIRE_THROWS_WITH(grad(f, vec({0, 1, 0})), "the backward of 'sqrt' (tape node 0) returned a gradient with 2 NaN");
}

TEST_CASE("detect_anomaly guards nest and end with their scope", "[autograd][anomaly]") {
  auto f = [](const Tensor& t) { return sum(log(t)); };
  {
    autograd::DetectAnomaly outer;
    {
      autograd::DetectAnomaly inner;
    }
    CHECK(autograd::anomaly_detection_enabled());
    AXON_REQUIRE_THROWS_WITH(grad(f, vec({0})), "the backward of 'log'");
  }
  CHECK_FALSE(autograd::anomaly_detection_enabled());
  CHECK(std::isinf(grad(f, vec({0})).to_vector<double>()[0]));
}

TEST_CASE("detect_anomaly during grad of grad", "[autograd][anomaly][errors]") {
  autograd::DetectAnomaly guard;
  // d2/dx2 sqrt(x) = -1 / (4 x^1.5): finite away from 0, where both sweeps pass the checks.
  auto f = [](const Tensor& t) { return sum(grad([](const Tensor& u) { return sum(sqrt(u)); }, t)); };
  test::check_close(grad(f, vec({1, 4})), {-0.25, -1.0 / 32}, {2}, {1e-12, 1e-12});
  // At 0 the inner sweep's sqrt backward is infinite and is named there.
  AXON_REQUIRE_THROWS_WITH(grad(f, vec({0, 4})), "the backward of 'sqrt' (tape node 0)");
  CHECK_FALSE(autograd::recording());
}
