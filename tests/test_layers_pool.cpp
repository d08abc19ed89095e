// Pooling layers against float64 window loops written here.
#include <array>
#include <cmath>
#include <limits>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {
enum class K { max, avg, lp };

// 2-D pooling of an NHWC array with explicit padding (lo, hi) per spatial axis.
std::vector<double> ref_pool2d(const std::vector<double>& x, int64_t N, int64_t H, int64_t W, int64_t C,
                               K kind, std::array<int64_t, 2> k, std::array<int64_t, 2> s,
                               std::array<int64_t, 2> d, std::array<std::pair<int64_t, int64_t>, 2> p,
                               double norm, Shape& out_shape) {
  int64_t OH = (H + p[0].first + p[0].second - ((k[0] - 1) * d[0] + 1)) / s[0] + 1;
  int64_t OW = (W + p[1].first + p[1].second - ((k[1] - 1) * d[1] + 1)) / s[1] + 1;
  out_shape = {N, OH, OW, C};
  std::vector<double> out;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double acc = kind == K::max ? -INFINITY : 0.0;
          for (int64_t i = 0; i < k[0]; ++i)
            for (int64_t j = 0; j < k[1]; ++j) {
              int64_t h = oh * s[0] + i * d[0] - p[0].first, w = ow * s[1] + j * d[1] - p[1].first;
              bool in = h >= 0 && h < H && w >= 0 && w < W;
              double v = in ? x[((n * H + h) * W + w) * C + c] : 0.0;
              if (kind == K::max) {
                if (in) acc = std::max(acc, v);
              } else {
                acc += kind == K::lp ? std::pow(v, norm) : v;
              }
            }
          if (kind == K::avg) acc /= double(k[0] * k[1]);
          if (kind == K::lp) acc = std::pow(acc, 1.0 / norm);
          out.push_back(acc);
        }
  return out;
}

Tensor run(K kind, const Tensor& x, const layers::PoolOptions& o) {
  return kind == K::max   ? layers::max_pool(x, o)
         : kind == K::avg ? layers::avg_pool(x, o)
                          : layers::lp_pool(x, o);
}

Tensor nchw(const Tensor& nhwc) { return contiguous(nhwc.permute({0, 3, 1, 2})); }
}  // namespace

TEST_CASE("max/avg/lp pool forward over strides, padding, dilations, layouts", "[layers][pool]") {
  struct Case {
    std::array<int64_t, 2> k, s, d;
    int pad;  // 0 valid, 1 same, 2 explicit
  };
  std::vector<Case> cases = {{{2, 2}, {2, 2}, {1, 1}, 0},
                             {{3, 2}, {1, 2}, {1, 1}, 1},
                             {{3, 3}, {2, 1}, {2, 1}, 2},
                             {{2, 3}, {3, 2}, {1, 2}, 1},
                             {{1, 1}, {1, 1}, {1, 1}, 0}};
  for (K kind : {K::max, K::avg, K::lp}) {
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = random_tensor({2, 7, 6, 3}, dt, 0.1, 2, 5);  // positive: lp with p = 3 stays real
      auto xv = x.to_vector<double>();
      for (size_t ci = 0; ci < cases.size(); ++ci) {
        const Case& c = cases[ci];
        layers::PoolOptions o;
        o.kernel_size = {c.k[0], c.k[1]};
        o.strides = {c.s[0], c.s[1]};
        o.window_dilations = {c.d[0], c.d[1]};
        o.norm = 3;
        std::array<std::pair<int64_t, int64_t>, 2> p{{{0, 0}, {0, 0}}};
        if (c.pad == 1) {
          o.padding = Padding::same();
          int64_t in[2] = {7, 6};
          for (int a = 0; a < 2; ++a) {
            int64_t out = (in[a] + c.s[a] - 1) / c.s[a], eff = (c.k[a] - 1) * c.d[a] + 1;
            int64_t tot = std::max<int64_t>((out - 1) * c.s[a] + eff - in[a], 0);
            p[a] = {tot / 2, tot - tot / 2};
          }
        } else if (c.pad == 2) {
          p = {{{1, 2}, {0, 1}}};
          o.padding = Padding({{1, 2}, {0, 1}});
        }
        Shape os;
        auto ref = ref_pool2d(xv, 2, 7, 6, 3, kind, c.k, c.s, c.d, p, 3, os);
        INFO("kind " << int(kind) << " " << dtype_name(dt) << " case " << ci);
        check_close(run(kind, x, o), ref, os, tol_for(dt));
        o.channels = Channels::first;
        Tensor yf = run(kind, nchw(x), o);
        check_close(contiguous(yf.permute({0, 2, 3, 1})), ref, os, tol_for(dt));
        o.channels = Channels::last;
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return run(kind, in[0], o); }, {x},
                               tol_for(dt));
      }
    }
  }
  // Non-contiguous input and 1-D / 3-D pooling.
  Tensor x = random_tensor({2, 3, 8}, DType::f32, -1, 1, 6).transpose(1, 2);  // [2, 8, 3]
  Tensor y = layers::max_pool(x, {.kernel_size = {2}});
  auto xv = x.to_vector<double>();
  std::vector<double> ref;
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 4; ++o)
      for (int c = 0; c < 3; ++c)
        ref.push_back(std::max(xv[(n * 8 + 2 * o) * 3 + c], xv[(n * 8 + 2 * o + 1) * 3 + c]));
  check_close(y, ref, {2, 4, 3}, tol_for(DType::f32));
  Tensor v = ones({1, 4, 4, 4, 2});
  check_close(layers::avg_pool(v, {.kernel_size = {2}}), std::vector<double>(16, 1.0), {1, 2, 2, 2, 2},
              tol_for(DType::f32));
  CHECK(layers::max_pool(zeros({0, 4, 4, 3}), {.kernel_size = {2, 2}}).shape() == Shape{0, 2, 2, 3});
}

TEST_CASE("pooling with bf16 inputs", "[layers][pool]") {
  Tensor x = random_tensor({1, 4, 4, 2}, DType::bf16, 0, 2, 7);
  Shape os;
  auto ref = ref_pool2d(x.to_vector<double>(), 1, 4, 4, 2, K::avg, {2, 2}, {2, 2}, {1, 1}, {{{0, 0}, {0, 0}}},
                        2, os);
  Tensor y = layers::avg_pool(x, {.kernel_size = {2, 2}});
  CHECK(y.dtype() == DType::bf16);
  check_close(y, ref, os, tol_for(DType::bf16));
}

TEST_CASE("pooling gradients", "[layers][pool][autograd]") {
  Tensor x = random_tensor({1, 5, 4, 2}, DType::f64, 0.5, 2, 8);
  layers::PoolOptions o{.kernel_size = {2, 2}, .strides = {1, 2}, .padding = Padding::same()};
  check_grad([&](const std::vector<Tensor>& in) { return layers::max_pool(in[0], o); }, {x});
  check_grad([&](const std::vector<Tensor>& in) { return layers::avg_pool(in[0], o); }, {x});
  o.norm = 2;
  check_grad([&](const std::vector<Tensor>& in) { return layers::lp_pool(in[0], o); }, {x});
  check_grad([&](const std::vector<Tensor>& in) { return layers::blur_pool(in[0]); }, {x});
  check_grad(
      [&](const std::vector<Tensor>& in) {
        return layers::adaptive_avg_pool(in[0], {.output_size = {2, 3}});
      },
      {x});
}

TEST_CASE("adaptive and global pooling", "[layers][pool]") {
  Tensor x = random_tensor({2, 7, 5, 3}, DType::f64, 0.1, 2, 9);
  auto xv = x.to_vector<double>();
  // Axon: stride floor(in / out), window in - (out - 1) * stride: 7 -> 3: stride 2, window 3; 5 -> 2: 2, 3.
  Shape os;
  for (K kind : {K::max, K::avg, K::lp}) {
    auto ref = ref_pool2d(xv, 2, 7, 5, 3, kind, {3, 3}, {2, 2}, {1, 1}, {{{0, 0}, {0, 0}}}, 2, os);
    layers::AdaptivePoolOptions o{.output_size = {3, 2}};
    Tensor y = kind == K::max   ? layers::adaptive_max_pool(x, o)
               : kind == K::avg ? layers::adaptive_avg_pool(x, o)
                                : layers::adaptive_lp_pool(x, o);
    check_close(y, ref, os, tol_for(DType::f64));
    ref = ref_pool2d(xv, 2, 7, 5, 3, kind, {7, 5}, {1, 1}, {1, 1}, {{{0, 0}, {0, 0}}}, 2, os);
    Tensor g = kind == K::max   ? layers::global_max_pool(x)
               : kind == K::avg ? layers::global_avg_pool(x)
                                : layers::global_lp_pool(x);
    check_close(g, ref, {2, 3}, tol_for(DType::f64));
    Tensor gk = layers::global_avg_pool(nchw(x), {.keep_axes = true, .channels = Channels::first});
    CHECK(gk.shape() == Shape{2, 3, 1, 1});
  }
}

TEST_CASE("blur_pool applies the [1 2 1] x [1 2 1] / 16 filter with zero padding", "[layers][pool]") {
  for (auto ch : {Channels::last, Channels::first}) {
    Tensor x = random_tensor({2, 5, 4, 3}, DType::f64, -1, 1, 10);
    auto xv = x.to_vector<double>();
    const double f[3] = {1, 2, 1};
    std::vector<double> ref;
    for (int n = 0; n < 2; ++n)
      for (int h = 0; h < 5; ++h)
        for (int w = 0; w < 4; ++w)
          for (int c = 0; c < 3; ++c) {
            double s = 0;
            for (int i = -1; i <= 1; ++i)
              for (int j = -1; j <= 1; ++j) {
                int hh = h + i, ww = w + j;
                if (hh >= 0 && hh < 5 && ww >= 0 && ww < 4)
                  s += f[i + 1] * f[j + 1] * xv[((n * 5 + hh) * 4 + ww) * 3 + c];
              }
            ref.push_back(s / 16);
          }
    Tensor y = ch == Channels::last ? layers::blur_pool(x)
                                    : contiguous(layers::blur_pool(nchw(x), ch).permute({0, 2, 3, 1}));
    check_close(y, ref, {2, 5, 4, 3}, tol_for(DType::f64));
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return layers::blur_pool(in[0]); }, {x},
                           tol_for(DType::f64));
  }
}

TEST_CASE("pooling errors", "[layers][pool][errors]") {
  Tensor x = zeros({1, 4, 4, 2});
  AXON_REQUIRE_THROWS_WITH(layers::max_pool(x, {.kernel_size = {5, 2}}),
                           "max_pool: window 5 (dilated extent 5) is larger than the padded input (4");
  AXON_REQUIRE_THROWS_WITH(layers::avg_pool(x, {.kernel_size = {3, 3}, .window_dilations = {2, 2}}),
                           "avg_pool: window 3 (dilated extent 5)");
  AXON_REQUIRE_THROWS_WITH(layers::max_pool(zeros({4, 2}), {.kernel_size = {2}}),
                           "max_pool: the input must have rank >= 3");
  AXON_REQUIRE_THROWS_WITH(layers::max_pool(x, {.kernel_size = {2, 2, 2}}),
                           "max_pool: kernel_size has 3 values for the 2 spatial axes");
  AXON_REQUIRE_THROWS_WITH(layers::max_pool(x, {}), "max_pool: kernel_size is required");
  AXON_REQUIRE_THROWS_WITH(layers::adaptive_avg_pool(x, {.output_size = {5, 1}}),
                           "adaptive_avg_pool: output_size 5");
  AXON_REQUIRE_THROWS_WITH(layers::blur_pool(zeros({1, 4, 4})), "blur_pool: the input must have rank 4");
}

TEST_CASE("max_pool direct kernel: first maximum gets the gradient, NaN propagates, 1-D and 3-D",
          "[layers][pool][autograd]") {
  // Ties: the whole gradient goes to the first maximum of the window (PyTorch's rule).
  Tensor x = from_vector<double>({1, 3, 3, 2, 5, 5}, {1, 6, 1});
  auto [y, gx] =
      value_and_grad([](const Tensor& t) { return sum(layers::max_pool(t, {.kernel_size = {2}})); }, x);
  CHECK(y.item<double>() == 3 + 3 + 5);
  check_close(gx, std::vector<double>{0, 1, 1, 0, 1, 0}, {1, 6, 1}, {0, 0});
  // Overlapping windows accumulate.
  auto gx2 =
      grad([](const Tensor& t) { return sum(layers::max_pool(t, {.kernel_size = {3}, .strides = {1}})); }, x);
  check_close(gx2, std::vector<double>{0, 2, 0, 0, 2, 0}, {1, 6, 1}, {0, 0});
  Tensor xn = from_vector<float>({1, NAN, 2, 0}, {1, 4, 1});
  auto yn = layers::max_pool(xn, {.kernel_size = {2}}).to_vector<float>();
  CHECK(std::isnan(yn[0]));
  CHECK(yn[1] == 2.0f);
  // 3-D, channels first, explicit padding.
  Tensor x3 = random_tensor({1, 2, 3, 4, 5}, DType::f64, -1, 1, 12);  // [N, C, D, H, W]
  Tensor y3 = layers::max_pool(x3, {.kernel_size = {2, 2, 2},
                                    .strides = {1, 2, 2},
                                    .padding = Padding({{0, 1}, {1, 0}, {0, 0}}),
                                    .channels = Channels::first});
  REQUIRE(y3.shape() == Shape{1, 2, 3, 2, 2});
  auto xv = x3.to_vector<double>(), yv = contiguous(y3).to_vector<double>();
  for (int c = 0; c < 2; ++c)
    for (int d = 0; d < 3; ++d)
      for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 2; ++w) {
          double m = -INFINITY;
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
              for (int k = 0; k < 2; ++k) {
                int dd = d + i, hh = 2 * h + j - 1, ww = 2 * w + k;
                if (dd < 3 && hh >= 0 && hh < 4 && ww < 5)
                  m = std::max(m, xv[((c * 3 + dd) * 4 + hh) * 5 + ww]);
              }
          CHECK(yv[((c * 3 + d) * 2 + h) * 2 + w] == m);
        }
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::max_pool(
            in[0], {.kernel_size = {2, 2, 2}, .strides = {1, 2, 2}, .channels = Channels::first});
      },
      {x3});
  check_cuda_matches_cpu(
      [](const std::vector<Tensor>& in) {
        return layers::max_pool(in[0], {.kernel_size = {2, 2, 2},
                                        .strides = {1, 2, 2},
                                        .padding = Padding::same(),
                                        .channels = Channels::first});
      },
      {x3}, tol_for(DType::f64));
  // A window entirely in the padding gives -inf and no gradient.
  Tensor one = from_vector<double>({4}, {1, 1, 1});
  auto [yp, gp] = value_and_grad(
      [](const Tensor& t) {
        Tensor p = max_pool_nhwc(t, {2}, {1}, {2}, {{1, 1}});  // cells at -1 and 1: outside
        CHECK(std::isinf(p.to_vector<double>()[0]));
        return sum(mul(max_pool_nhwc(t, {1}, {1}, {1}, {{0, 0}}), 2.0));
      },
      one);
  check_close(gp, std::vector<double>{2}, {1, 1, 1}, {0, 0});
}

TEST_CASE("max_pool gradient of gradient goes through the recorded scatter backward",
          "[layers][pool][autograd]") {
  Tensor x = random_tensor({2, 5, 4, 3}, DType::f64, -1, 1, 13);
  Tensor w = random_tensor({2, 3, 4, 3}, DType::f64, -1, 1, 14);
  layers::PoolOptions o{.kernel_size = {2, 3}, .strides = {2, 1}, .padding = Padding::same()};
  // h(w) = d/dx sum(w * max_pool(x)): linear in w, its gradient is the recorded backward's adjoint.
  check_grad(
      [&](const std::vector<Tensor>& in) {
        return grad([&](const Tensor& t) { return sum(mul(in[0], layers::max_pool(t, o))); }, x);
      },
      {w});
  // The direct backward kernel: every output's gradient lands on exactly one input.
  Tensor gd = grad([&](const Tensor& t) { return sum(mul(w, layers::max_pool(t, o))); }, x);
  auto gv = gd.to_vector<double>(), wv = w.to_vector<double>();
  double total = 0, wsum = 0;
  for (double v : gv) total += v;
  for (double v : wv) wsum += v;
  CHECK(std::abs(total - wsum) < 1e-9);
}

namespace {
// Max pooling of [N, H, W, C] values on a coarse grid (many ties) with NaNs and -inf: forward values
// and the backward (each output's gradient to the first maximum of its window, or to its first NaN)
// against loops.
void check_max_pool_against_loops(int64_t N, int64_t H, int64_t W, int64_t C, std::array<int64_t, 2> k,
                                  std::array<int64_t, 2> s, std::array<std::pair<int64_t, int64_t>, 2> p, DType dt) {
  INFO(dtype_name(dt) << " " << N << "x" << H << "x" << W << "x" << C << " window " << k[0] << "x" << k[1]
                      << " strides " << s[0] << "x" << s[1]);
  const int64_t OH = (H + p[0].first + p[0].second - k[0]) / s[0] + 1;
  const int64_t OW = (W + p[1].first + p[1].second - k[1]) / s[1] + 1;
  std::vector<double> xv = floor(random_tensor({N, H, W, C}, DType::f64, 0, 5, 21)).to_vector<double>();
  for (size_t i = 7; i < xv.size(); i += 997) xv[i] = NAN;
  for (size_t i = 3; i < xv.size(); i += 1009) xv[i] = -INFINITY;
  Tensor x = cast(from_vector<double>(xv, {N, H, W, C}), dt);
  Tensor wgt = random_tensor({N, OH, OW, C}, dt, -1, 1, 22);
  const layers::PoolOptions opts{
      .kernel_size = {k[0], k[1]}, .strides = {s[0], s[1]}, .padding = Padding({p[0], p[1]})};
  Tensor y;
  Tensor gx = grad(
      [&](const Tensor& t) {
        y = layers::max_pool(t, opts);
        return sum(mul(y, wgt));
      },
      x);
  REQUIRE(y.shape() == Shape{N, OH, OW, C});
  const auto wv = wgt.to_vector<double>();
  std::vector<double> ry(static_cast<size_t>(N * OH * OW * C)), rg(xv.size(), 0.0);
  size_t o = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c, ++o) {
          double best = -INFINITY;
          int64_t arg = -1;
          for (int64_t i = 0; i < k[0]; ++i)
            for (int64_t j = 0; j < k[1]; ++j) {
              const int64_t h = oh * s[0] + i - p[0].first, w = ow * s[1] + j - p[1].first;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const int64_t e = ((n * H + h) * W + w) * C + c;
              const double v = xv[static_cast<size_t>(e)];
              if (arg < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                best = v;
                arg = e;
              }
            }
          ry[o] = best;
          rg[static_cast<size_t>(arg)] += wv[o];
        }
  check_close(y, ry, {N, OH, OW, C}, {0, 0});
  check_close(gx, rg, {N, H, W, C}, tol_for(dt));
}
}  // namespace

// A batch large enough that the CPU kernels split it across threads, overlapping windows and padding.
TEST_CASE("max_pool on a batch split across threads: ties, NaN and padding against window loops",
          "[layers][pool][autograd]") {
  for (DType dt : {DType::f32, DType::f64})
    check_max_pool_against_loops(64, 9, 11, 20, {3, 2}, {2, 1}, {{{1, 1}, {0, 1}}}, dt);
}

// W2's pool (2x2, stride 2): windows that tile an even input (every input cell written once by the
// backward) or leave an odd input's last row and column uncovered; channels in groups of 8 and not.
TEST_CASE("max_pool 2x2 stride 2: tiling and odd sizes, ties and NaN against window loops",
          "[layers][pool][autograd]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    check_max_pool_against_loops(16, 8, 8, 32, {2, 2}, {2, 2}, {{{0, 0}, {0, 0}}}, dt);
    check_max_pool_against_loops(16, 9, 7, 13, {2, 2}, {2, 2}, {{{0, 0}, {0, 0}}}, dt);
  }
}

TEST_CASE("max_pool outside a tape (no argmax kept) gives the recorded forward's values", "[layers][pool]") {
  // Padding, overlapping windows, NaN and a window of padding only (-inf); f32 and f64; channels in
  // groups of 8 (f32's vector loop) and not.
  for (DType dt : {DType::f32, DType::f64}) {
    for (int64_t ch : {3, 11, 16}) {
      INFO(dtype_name(dt) << ", " << ch << " channels");
      Tensor x = random_tensor({2, 5, 6, ch}, dt, -1, 1, 21);
      x = where(gt(random_tensor({2, 5, 6, ch}, dt, 0, 1, 22), 0.9), full({}, Scalar(NAN), dt), x);
      const layers::PoolOptions o{.kernel_size = {3, 2}, .strides = {2, 1}, .padding = Padding({{1, 1}, {0, 1}})};
      Tensor recorded;
      (void)value_and_grad(
          [&](const Tensor& t) {
            recorded = layers::max_pool(t, o);
            return sum(recorded);
          },
          x);
      const Tensor plain = layers::max_pool(x, o);
      const auto a = recorded.to_vector<double>(), b = plain.to_vector<double>();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        INFO(i);
        CHECK(std::isnan(a[i]) == std::isnan(b[i]));
        if (!std::isnan(a[i])) CHECK(a[i] == b[i]);
      }
    }
  }
  const Tensor pad_only = layers::max_pool(ones({1, 1, 2, 1}), {.kernel_size = {1, 1}, .strides = {1, 3},
                                                                .padding = Padding({{0, 0}, {0, 4}})});
  CHECK(pad_only.to_vector<float>().back() == -std::numeric_limits<float>::infinity());
}
