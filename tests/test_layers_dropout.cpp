// Dropout family: kept fraction, scale, masks shared over the right axes, inference identity.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;

TEST_CASE("dropout keeps the expected fraction and scale, identity in inference", "[layers][dropout]") {
  Tensor x = full({200, 100}, 2.0);
  for (double rate : {0.1, 0.5, 0.8}) {
    Generator gen(7);
    Tensor y = layers::dropout(x, gen, {.rate = rate, .training = true});
    auto v = y.to_vector<double>();
    int64_t kept = 0;
    for (double e : v) {
      bool zero = e == 0.0, scaled = std::abs(e - 2.0 / (1 - rate)) < 1e-5;
      CHECK((zero || scaled));
      kept += !zero;
    }
    double frac = double(kept) / v.size();
    INFO("rate " << rate << " kept " << frac);
    CHECK(std::abs(frac - (1 - rate)) < 0.02);
    CHECK(gen.offset > 0);
  }
  Tensor inf = layers::dropout(x, {.rate = 0.5});
  CHECK(inf.impl_ptr() == x.impl_ptr());
  CHECK(layers::dropout(x, {.rate = 0.0, .training = true}).impl_ptr() == x.impl_ptr());
  check_close(layers::dropout(x, {.rate = 1.0, .training = true}), std::vector<double>(20000, 0.0), x.shape(),
              {0, 0});
  CHECK(layers::dropout(zeros({0, 3}), {.rate = 0.5, .training = true}).shape() == Shape{0, 3});
}

TEST_CASE("dropout is reproducible from a generator and its gradient is the mask", "[layers][dropout]") {
  Tensor x = random_tensor({4, 6}, DType::f64, 1, 2, 3);
  Generator g1(11), g2(11);
  Tensor a = layers::dropout(x, g1, {.rate = 0.3, .training = true});
  Tensor b = layers::dropout(x, g2, {.rate = 0.3, .training = true});
  check_close(a, b, {0, 0});
  // Gradient: mask / keep, reproduced by re-seeding inside the function.
  check_grad(
      [](const std::vector<Tensor>& in) {
        Generator g(5);
        return layers::dropout(in[0], g, {.rate = 0.3, .training = true});
      },
      {x});
  // noise_shape broadcasts one mask row over the batch.
  Generator g3(2);
  Tensor c = layers::dropout(ones({5, 8}), g3, {.rate = 0.5, .training = true, .noise_shape = {1, 8}});
  auto v = c.to_vector<double>();
  for (int r = 1; r < 5; ++r)
    for (int j = 0; j < 8; ++j) CHECK(v[r * 8 + j] == v[j]);
  check_cuda_matches_cpu(
      [](const std::vector<Tensor>& in) {
        Generator g(9);
        return layers::dropout(in[0], g, {.rate = 0.4, .training = true});
      },
      {x}, {1e-12, 0});
}

TEST_CASE("spatial_dropout drops whole channels (and Axon's per-position variant)", "[layers][dropout]") {
  Tensor x = ones({8, 4, 4, 16});
  Generator gen(3);
  auto v = layers::spatial_dropout(x, gen, {.rate = 0.5, .training = true}).to_vector<double>();
  // channels last: the value depends only on (batch, channel)
  int zeros_ = 0;
  for (int b = 0; b < 8; ++b)
    for (int c = 0; c < 16; ++c) {
      double first = v[((b * 4 + 0) * 4 + 0) * 16 + c];
      CHECK((first == 0.0 || first == 2.0));
      zeros_ += first == 0.0;
      for (int s = 0; s < 16; ++s) CHECK(v[(b * 16 + s) * 16 + c] == first);
    }
  CHECK(zeros_ > 20);
  CHECK(zeros_ < 108);
  auto w = layers::spatial_dropout(x, gen, {.rate = 0.5, .training = true, .axon_semantics = true})
               .to_vector<double>();
  for (int p = 0; p < 8 * 16; ++p)
    for (int c = 1; c < 16; ++c) CHECK(w[p * 16 + c] == w[p * 16]);
  // channels first: constant over the spatial axes 2, 3
  Tensor xf = ones({2, 3, 5, 5});
  auto f = layers::spatial_dropout(xf, gen, {.rate = 0.5, .training = true, .channels = Channels::first})
               .to_vector<double>();
  for (int bc = 0; bc < 6; ++bc)
    for (int s = 1; s < 25; ++s) CHECK(f[bc * 25 + s] == f[bc * 25]);
  CHECK(layers::spatial_dropout(x, gen, {.rate = 0.5}).impl_ptr() == x.impl_ptr());
}

TEST_CASE("alpha_dropout keeps zero mean and unit variance of standard normal inputs", "[layers][dropout]") {
  Generator gin(1);
  Tensor x = randn({400, 250}, gin, DType::f64);
  for (double rate : {0.1, 0.3}) {
    Generator gen(17);
    Tensor y = layers::alpha_dropout(x, gen, {.rate = rate, .training = true});
    double m = mean(y).item<double>(), s = var(y).item<double>();
    INFO("rate " << rate << " mean " << m << " var " << s);
    CHECK(std::abs(m) < 0.02);
    CHECK(std::abs(s - 1) < 0.03);
    // Dropped units take the value a * alpha' + b.
    const double ap = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
    const double a = 1 / std::sqrt((1 - rate) * (1 + rate * ap * ap)), b = -a * ap * rate;
    auto yv = y.to_vector<double>(), xv = x.to_vector<double>();
    int dropped = 0;
    for (size_t i = 0; i < yv.size(); ++i) {
      bool d = std::abs(yv[i] - (a * ap + b)) < 1e-9, k = std::abs(yv[i] - (a * xv[i] + b)) < 1e-9;
      CHECK((d || k));
      dropped += d && !k;
    }
    CHECK(std::abs(double(dropped) / yv.size() - rate) < 0.01);
  }
  CHECK(layers::alpha_dropout(x, {.rate = 0.5}).impl_ptr() == x.impl_ptr());
  // feature_alpha_dropout: one decision per (batch, channel).
  Generator gen(4);
  Tensor z = random_tensor({3, 6, 5}, DType::f64, 1, 2, 9);
  auto fv = layers::feature_alpha_dropout(z, gen, {.rate = 0.5, .training = true}).to_vector<double>();
  const double ap = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
  const double a = 1 / std::sqrt(0.5 * (1 + 0.5 * ap * ap)), dropped_value = a * ap - a * ap * 0.5;
  for (int b = 0; b < 3; ++b)
    for (int c = 0; c < 5; ++c) {
      bool first = std::abs(fv[(b * 6) * 5 + c] - dropped_value) < 1e-9;
      for (int s = 1; s < 6; ++s) CHECK((std::abs(fv[(b * 6 + s) * 5 + c] - dropped_value) < 1e-9) == first);
    }
}

TEST_CASE("dropout errors", "[layers][dropout][errors]") {
  AXON_REQUIRE_THROWS_WITH(layers::dropout(ones({2}), {.rate = 1.5, .training = true}),
                           "dropout: rate must be in [0, 1]");
  AXON_REQUIRE_THROWS_WITH(
      layers::dropout(ones({2, 3}), {.rate = 0.5, .training = true, .noise_shape = {2, 2}}),
      "dropout: noise_shape [2, 2] does not broadcast to input f32[2, 3] on cpu");
  AXON_REQUIRE_THROWS_WITH(layers::spatial_dropout(ones({4}), {.rate = 0.5, .training = true}),
                           "spatial_dropout: the input must have rank >= 2");
}
