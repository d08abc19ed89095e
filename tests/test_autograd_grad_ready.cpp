// value_and_grad_flat's grad_ready: each parameter's gradient handed out once, final, as soon as
// the reverse sweep has passed its earliest consumer (what data-parallel overlap builds on).
#include "harness.hpp"

using namespace axon;

TEST_CASE("grad_ready reports each gradient once, final, as soon as the sweep is done with it", "[autograd]") {
  const Tensor a = tensor({1, 2, 3}), b = tensor({0.5f, -1, 2}), unused = tensor({7});
  std::vector<size_t> order;
  std::vector<Tensor> reported(3);
  auto [value, grads] = autograd::value_and_grad_flat(
      [](const std::vector<Tensor>& p) {
        // a's first consumer is the first op; b's only one the second; a is used again at the end.
        return add(sum(mul(mul(p[0], p[0]), p[1])), sum(p[0]));
      },
      {a, b, unused}, Tensor(), [&](size_t i, const Tensor& g) {
        order.push_back(i);
        reported[i] = g;
      });
  // b is final right after its product; a only once the sweep reaches a*a; the unused one at the end.
  CHECK(order == std::vector<size_t>{1, 0, 2});
  test::check_close(reported[0], {2 * 1 * 0.5 + 1, 2 * 2 * -1.0 + 1, 2 * 3 * 2.0 + 1}, {3}, {1e-6, 1e-6});
  test::check_close(reported[1], {1, 4, 9}, {3}, {1e-6, 1e-6});
  test::check_close(reported[2], {0}, {1}, {0, 0});
  for (size_t i = 0; i < 3; ++i) test::check_close(grads[i], reported[i], {0, 0});
  CHECK(value.item<float>() == Catch::Approx(0.5 - 4 + 18 + 6));
}
