// Shape layers, combinators and resize against references computed here.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

TEST_CASE("flatten, reshape, transpose, pad", "[layers][shape]") {
  Tensor x = random_tensor({2, 3, 4}, DType::f64, -1, 1, 1);
  auto v = x.to_vector<double>();
  check_close(layers::flatten(x), v, {2, 12}, tol_for(DType::f64));
  check_close(layers::reshape(x, {4, -1}), v, {2, 4, 3}, tol_for(DType::f64));
  std::vector<double> t;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) t.push_back(v[(i * 3 + j) * 4 + k]);
  check_close(layers::transpose(x), t, {4, 3, 2}, tol_for(DType::f64));
  Tensor p = layers::pad(x, {{1, 2}}, 5.0);  // one spatial axis (1), channels last
  auto pv = p.to_vector<double>();
  REQUIRE(p.shape() == Shape{2, 6, 4});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 4; ++k)
        CHECK(pv[(i * 6 + j) * 4 + k] == (j >= 1 && j < 4 ? v[(i * 3 + j - 1) * 4 + k] : 5.0));
  CHECK(layers::pad(x, {{0, 1}}, 0, Channels::first).shape() == Shape{2, 3, 5});
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::pad(layers::flatten(in[0]).reshape({2, 12, 1}), {{1, 1}});
      },
      {x});
  CHECK(layers::flatten(zeros({0, 3, 2})).shape() == Shape{0, 6});
}

TEST_CASE("add, subtract, multiply, concatenate, split", "[layers][shape]") {
  Tensor a = random_tensor({2, 3}, DType::f64, -1, 1, 2), b = random_tensor({3}, DType::f64, -1, 1, 3),
         c = random_tensor({2, 1}, DType::f64, -1, 1, 4);
  auto av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
  std::vector<double> s, d, m;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      s.push_back(av[i * 3 + j] + bv[j] + cv[i]);
      d.push_back(av[i * 3 + j] - bv[j] - cv[i]);
      m.push_back(av[i * 3 + j] * bv[j] * cv[i]);
    }
  check_close(layers::add({a, b, c}), s, {2, 3}, tol_for(DType::f64));
  check_close(layers::subtract({a, b, c}), d, {2, 3}, tol_for(DType::f64));
  check_close(layers::multiply({a, b, c}), m, {2, 3}, tol_for(DType::f64));
  Tensor cat = layers::concatenate({a, c});
  REQUIRE(cat.shape() == Shape{2, 4});
  auto catv = cat.to_vector<double>();
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) CHECK(catv[i * 4 + j] == av[i * 3 + j]);
    CHECK(catv[i * 4 + 3] == cv[i]);
  }
  auto parts = layers::split(cat, 2);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].shape() == Shape{2, 2});
  CHECK(parts[1].to_vector<double>() == std::vector<double>{catv[2], catv[3], catv[6], catv[7]});
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::multiply({in[0], in[1], in[2]});
      },
      {a, b, c});
  AXON_REQUIRE_THROWS_WITH(layers::split(a, 2), "split: 2 splits do not divide axis 1 of f64[2, 3]");
  AXON_REQUIRE_THROWS_WITH(layers::add({}), "add: needs at least one input");
  AXON_REQUIRE_THROWS_WITH(layers::reshape(a, {4}), "reshape: cannot reshape input f64[2, 3]");
  AXON_REQUIRE_THROWS_WITH(layers::pad(a, {{1, 1}, {1, 1}}),
                           "pad: 2 padding pairs given for the 0 spatial axes");
}

namespace {
// Half-pixel bilinear with edge clamping (what jax's normalized triangle weights give when upsampling).
double bilinear_at(const std::vector<double>& v, int64_t H, int64_t W, int64_t C, int64_t n, double y,
                   double x, int64_t c) {
  auto at = [&](int64_t h, int64_t w) {
    h = std::clamp<int64_t>(h, 0, H - 1);
    w = std::clamp<int64_t>(w, 0, W - 1);
    return v[((n * H + h) * W + w) * C + c];
  };
  y = std::clamp(y, 0.0, double(H - 1));
  x = std::clamp(x, 0.0, double(W - 1));
  int64_t y0 = int64_t(std::floor(y)), x0 = int64_t(std::floor(x));
  double fy = y - y0, fx = x - x0;
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
         fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}
}  // namespace

TEST_CASE("resize nearest and bilinear upsampling", "[layers][shape][resize]") {
  Tensor x = random_tensor({2, 3, 4, 2}, DType::f64, -1, 1, 5);
  auto v = x.to_vector<double>();
  Tensor n = layers::resize(x, {.size = {5, 7}});
  std::vector<double> ref;
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 7; ++j)
        for (int c = 0; c < 2; ++c) {
          int64_t h = int64_t(std::floor((i + 0.5) * 3 / 5)), w = int64_t(std::floor((j + 0.5) * 4 / 7));
          ref.push_back(v[((b * 3 + h) * 4 + w) * 2 + c]);
        }
  check_close(n, ref, {2, 5, 7, 2}, tol_for(DType::f64));
  ref.clear();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 8; ++j)
        for (int c = 0; c < 2; ++c)
          ref.push_back(bilinear_at(v, 3, 4, 2, b, (i + 0.5) * 3 / 6 - 0.5, (j + 0.5) * 4 / 8 - 0.5, c));
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor xd = x.to(dt);
    Tensor y = layers::resize(xd, {.size = {6, 8}, .method = layers::ResizeMethod::bilinear});
    CHECK(y.dtype() == dt);
    check_close(y, ref, {2, 6, 8, 2}, tol_for(dt));
    Tensor yf = layers::resize(
        contiguous(xd.permute({0, 3, 1, 2})),
        {.size = {6, 8}, .method = layers::ResizeMethod::bilinear, .channels = Channels::first});
    check_close(contiguous(yf.permute({0, 2, 3, 1})), ref, {2, 6, 8, 2}, tol_for(dt));
  }
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::resize(in[0], {.size = {4, 3}, .method = layers::ResizeMethod::bicubic});
      },
      {x});
}

TEST_CASE("resize downsampling with antialias, bicubic and lanczos weights", "[layers][shape][resize]") {
  // 1 x 8 -> 1 x 4 bilinear with antialias: interior weights 1/8, 3/8, 3/8, 1/8 over x[2j-1 .. 2j+2].
  std::vector<double> row = {0.3, -1.2, 2.0, 0.7, 1.1, -0.4, 0.9, 1.5};
  Tensor x = from_vector(row, {1, 1, 8, 1});
  Tensor y = layers::resize(x, {.size = {1, 4}, .method = layers::ResizeMethod::bilinear});
  auto yv = y.to_vector<double>();
  for (int j = 1; j < 3; ++j) {
    double e = (row[2 * j - 1] + 3 * row[2 * j] + 3 * row[2 * j + 1] + row[2 * j + 2]) / 8;
    CHECK(std::abs(yv[j] - e) < 1e-5);
  }
  // Edge: the weight on x[-1] is dropped and the rest renormalized (3/7, 3/7, 1/7).
  CHECK(std::abs(yv[0] - (3 * row[0] + 3 * row[1] + row[2]) / 7) < 1e-5);
  // Without antialias: plain interpolation at 2j + 0.5.
  Tensor z =
      layers::resize(x, {.size = {1, 4}, .method = layers::ResizeMethod::bilinear, .antialias = false});
  auto zv = z.to_vector<double>();
  for (int j = 0; j < 4; ++j) CHECK(std::abs(zv[j] - (row[2 * j] + row[2 * j + 1]) / 2) < 1e-5);
  // Every method keeps a constant image constant and maps a ramp's interior to the ramp (upsampling).
  for (auto m :
       {layers::ResizeMethod::bicubic, layers::ResizeMethod::lanczos3, layers::ResizeMethod::lanczos5}) {
    check_close(layers::resize(full({1, 5, 6, 1}, 2.5), {.size = {9, 4}, .method = m}),
                std::vector<double>(36, 2.5), {1, 9, 4, 1}, {1e-5, 1e-5});
    std::vector<double> ramp(12);
    for (int i = 0; i < 12; ++i) ramp[i] = std::sin(0.7 * i) + 0.1 * i;
    Tensor r = layers::resize(from_vector(ramp, {1, 1, 12, 1}), {.size = {1, 24}, .method = m});
    auto rv = r.to_vector<double>();
    // Reference: normalized kernel weights at the half-pixel sample positions (interior outputs).
    auto sinc = [](double t) { return t == 0 ? 1.0 : std::sin(M_PI * t) / (M_PI * t); };
    auto kern = [&](double d) {
      d = std::abs(d);
      if (m == layers::ResizeMethod::bicubic)
        return d < 1 ? (1.5 * d - 2.5) * d * d + 1 : d < 2 ? ((-0.5 * d + 2.5) * d - 4) * d + 2 : 0.0;
      double a = m == layers::ResizeMethod::lanczos3 ? 3 : 5;
      return d < a ? sinc(d) * sinc(d / a) : 0.0;
    };
    for (int j = 0; j < 24; ++j) {
      double sample = (j + 0.5) / 2 - 0.5, ws = 0, acc = 0;
      for (int i = 0; i < 12; ++i) {
        ws += kern(sample - i);
        acc += kern(sample - i) * ramp[i];
      }
      CHECK(std::abs(rv[j] - acc / ws) < 1e-5);
    }
  }
  // Bicubic (Keys a = -0.5) at a half-way sample: weights -1/16, 9/16, 9/16, -1/16.
  std::vector<double> r4 = {1.0, 4.0, -2.0, 3.0, 0.5, 2.0};
  Tensor up = layers::resize(from_vector(r4, {1, 1, 6, 1}),
                             {.size = {1, 12}, .method = layers::ResizeMethod::bicubic});
  auto uv = up.to_vector<double>();
  // output 5 samples at (5.5) / 2 - 0.5 = 2.25: weights for x[1..4] at distances 1.25, 0.25, 0.75, 1.75.
  auto keys = [](double d) {
    const double a = -0.5;
    d = std::abs(d);
    return d < 1   ? ((a + 2) * d - (a + 3)) * d * d + 1
           : d < 2 ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
                   : 0.0;
  };
  double e = 0;
  for (int i = 1; i <= 4; ++i) e += keys(2.25 - i) * r4[i];
  CHECK(std::abs(uv[5] - e) < 1e-5);
  check_cuda_matches_cpu(
      [](const std::vector<Tensor>& in) {
        return layers::resize(in[0], {.size = {3, 5}, .method = layers::ResizeMethod::lanczos3});
      },
      {random_tensor({2, 7, 4, 3}, DType::f32, -1, 1, 6)}, tol_for(DType::f32));
  AXON_REQUIRE_THROWS_WITH(layers::resize(zeros({2, 3, 4}), {.size = {2, 2}}),
                           "resize: the input must have rank 4");
  AXON_REQUIRE_THROWS_WITH(layers::resize(zeros({1, 3, 4, 1}), {.size = {2}}), "resize: size must hold two");
}
