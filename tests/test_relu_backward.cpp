// relu's backward (one pass, dy * (x > 0), on the CPU in f32 / f64) against float64 loops: sizes past
// the parallel split, zeros and NaN in x, a non-contiguous input, a broadcast output gradient, and
// grad of grad through the composite formula.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;

TEST_CASE("relu backward: dy where x > 0, else 0, against float64 loops", "[relu][grad]") {
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    // 300 x 250: past the kernels' split of 2^15 elements; every 7th value exactly 0, every 101st NaN.
    std::vector<double> xv = random_tensor({300, 250}, DType::f64, -1, 1, 91).to_vector<double>();
    for (size_t i = 0; i < xv.size(); i += 7) xv[i] = 0;
    for (size_t i = 3; i < xv.size(); i += 101) xv[i] = NAN;
    Tensor x = cast(from_vector<double>(xv, {300, 250}), dt), t = random_tensor({300, 250}, dt, -1, 1, 92);
    const std::vector<double> tv = t.to_vector<double>();
    std::vector<double> expected(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) expected[i] = xv[i] > 0 ? tv[i] : 0;
    check_close(grad([&](const Tensor& a) { return sum(mul(relu(a), t)); }, x), expected, {300, 250}, {0, 0});
    // A transposed (non-contiguous) input, and the broadcast gradient of a plain sum.
    Tensor xt = x.transpose(0, 1);
    std::vector<double> expected_t(xv.size()), ones_t(xv.size());
    for (int64_t i = 0; i < 250; ++i)
      for (int64_t j = 0; j < 300; ++j) {
        const double v = xv[size_t(j * 250 + i)];
        expected_t[size_t(i * 300 + j)] = v > 0 ? tv[size_t(i * 300 + j)] : 0;
        ones_t[size_t(i * 300 + j)] = v > 0 ? 1 : 0;
      }
    Tensor tt = from_vector<double>(tv, {250, 300});
    check_close(grad([&](const Tensor& a) { return sum(mul(relu(a), cast(tt, dt))); }, xt), expected_t, {250, 300},
                {0, 0});
    check_close(grad([&](const Tensor& a) { return sum(relu(a)); }, xt), ones_t, {250, 300}, {0, 0});
  }
  // Grad of grad (the composite formula): d/dx of sum(dL/dx * c) for L = sum(relu(x)^2).
  Tensor x = random_tensor({4, 5}, DType::f64, -1, 1, 93), c = random_tensor({4, 5}, DType::f64, -1, 1, 94);
  check_grad(
      [&](const std::vector<Tensor>& in) {
        return grad([&](const Tensor& a) { return sum(square(relu(a))); }, in[0]);
      },
      {x});
}
