// The Winograd F(2x2, 3x3) inference conv (kernels/cpu/winograd_conv.cpp, issue 17): the kernel
// against a float64 direct conv over odd sizes, paddings, batches and channel counts, in one part
// and split across the pool; predict's plans with AXON_CPU_WINOGRAD=on against =off; convs it does
// not apply to never reach it; bad sizes to its front end are axon::Errors.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <axon/axon.hpp>
#include <axon/kernels/winograd_conv.hpp>

#include "harness.hpp"

using namespace axon;
namespace kc = axon::kernels::cpu;

namespace {

// AXON_CPU_WINOGRAD (read when a plan's conv step is made) for a scope.
struct WinogradEnv {
  explicit WinogradEnv(const char* mode) { ::setenv("AXON_CPU_WINOGRAD", mode, 1); }
  ~WinogradEnv() { ::unsetenv("AXON_CPU_WINOGRAD"); }
};

kernels::ConvGeometry geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t cout, int64_t lo, int64_t hi,
                               int64_t k = 3, int64_t stride = 1) {
  kernels::ConvGeometry g;
  g.nd = 2;
  g.batch = n, g.channels = c, g.out_channels = cout, g.groups = 1;
  const int64_t in[2] = {h, w};
  for (int d = 0; d < 2; ++d) {
    g.in[d] = in[d];
    g.kernel[d] = k;
    g.stride[d] = stride;
    g.pad_lo[d] = lo;
    g.pad_hi[d] = hi;
    g.in_dil[d] = g.k_dil[d] = 1;
    g.out[d] = (in[d] + lo + hi - k) / stride + 1;
  }
  return g;
}

// The conv in float64 loops, channels last, HWIO kernel, then + b and relu.
std::vector<double> direct_conv(const kernels::ConvGeometry& g, const std::vector<float>& x, const std::vector<float>& w,
                                const float* b, bool relu) {
  const int64_t H = g.in[0], W = g.in[1], C = g.channels, K = g.out_channels, OH = g.out[0], OW = g.out[1];
  std::vector<double> y(size_t(g.batch * OH * OW * K));
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t k = 0; k < K; ++k) {
          double s = b ? b[k] : 0.0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              const int64_t r = oh + i - g.pad_lo[0], c = ow + j - g.pad_lo[1];
              if (r < 0 || r >= H || c < 0 || c >= W) continue;
              for (int64_t ci = 0; ci < C; ++ci)
                s += double(x[size_t(((n * H + r) * W + c) * C + ci)]) * double(w[size_t(((3 * i + j) * C + ci) * K + k)]);
            }
          y[size_t(((n * OH + oh) * OW + ow) * K + k)] = relu ? std::max(s, 0.0) : s;
        }
  return y;
}

std::vector<float> floats(int64_t n, uint64_t seed) {
  const std::vector<double> v = test::random_values(n, -1, 1, seed);
  return {v.begin(), v.end()};
}

// max |y - ref| / max |ref|: the error against the output's scale (a relative error per element
// is meaningless where a sum of signed terms cancels to near zero).
double rel_error(const std::vector<float>& y, const std::vector<double>& ref) {
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(double(y[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return err / scale;
}

}  // namespace

TEST_CASE("Winograd conv equals a float64 direct conv over odd sizes, paddings and splits", "[conv][winograd]") {
  // F(2x2, 3x3) rounds within a few 1e-7 of the output's scale here, F(4x4, 3x3) (its transforms
  // multiply by up to 8 and 1/6) within a few 1e-6.
  const int tile = GENERATE(2, 4);
  const double bound = tile == 2 ? 2e-6 : 2e-5;
  struct Size {
    int64_t n, h, w, c, cout;
  };
  const Size sizes[] = {{1, 1, 1, 1, 1},   {2, 2, 3, 3, 5},  {1, 5, 4, 9, 7},   {3, 7, 7, 17, 12}, {5, 8, 6, 8, 16},
                        {1, 14, 14, 32, 64}, {2, 13, 11, 12, 19}, {1, 30, 30, 5, 3}, {4, 3, 30, 11, 9}};
  const std::pair<int64_t, int64_t> pads[] = {{1, 1}, {0, 0}, {2, 0}, {0, 2}};
  double worst = 0;
  int runs = 0;
  uint64_t seed = 1;
  for (const Size& z : sizes)
    for (auto [lo, hi] : pads) {
      const kernels::ConvGeometry g = geometry(z.n, z.h, z.w, z.c, z.cout, lo, hi);
      if (g.out[0] < 1 || g.out[1] < 1) {  // 'valid' on fewer than 3 rows: nothing to compute
        CHECK_FALSE(kc::winograd_applies(g));
        continue;
      }
      REQUIRE(kc::winograd_applies(g));
      const std::vector<float> x = floats(z.n * z.h * z.w * z.c, seed++), w = floats(9 * z.c * z.cout, seed++),
                               b = floats(z.cout, seed++);
      for (bool with_bias : {false, true})
        for (bool relu : {false, true}) {
          const std::vector<double> ref = direct_conv(g, x, w, with_bias ? b.data() : nullptr, relu);
          for (int parts : {1, 3}) {
            INFO("batch " << z.n << ", " << z.h << "x" << z.w << "x" << z.c << " -> " << z.cout << ", padding " << lo
                          << "/" << hi << ", bias " << with_bias << ", relu " << relu << ", parts " << parts);
            auto conv = kc::WinogradConv::make(g, relu, parts, tile);
            std::vector<float> y(ref.size(), std::nanf(""));  // every output must be written
            conv->run(x.data(), w.data(), with_bias ? b.data() : nullptr, y.data());
            const double e = rel_error(y, ref);
            CHECK(e < bound);
            worst = std::max(worst, e);
            ++runs;
          }
        }
    }
  // The tile loop itself in blocks that leave a short last block (5 tiles, then 3).
  const kernels::ConvGeometry g = geometry(2, 7, 5, 10, 11, 1, 1);
  const kc::WinogradShape s = kc::winograd_shape(g, tile);
  REQUIRE(s.tiles() == (tile == 2 ? 2 * 4 * 3 : 2 * 2 * 2));
  const std::vector<float> x = floats(2 * 7 * 5 * 10, 99), w = floats(9 * 10 * 11, 98);
  std::vector<float> u(size_t(s.elements() * 10 * 11)), scratch(size_t(kc::winograd_scratch_floats(s, 5))),
      y(2 * 7 * 5 * 11);
  kc::winograd_transform_kernel(w.data(), 10, 11, tile, u.data());
  const int64_t mid = s.tiles() / 2 + 1;
  kc::winograd_conv_tiles(s, x.data(), u.data(), nullptr, false, y.data(), 0, mid, 5, scratch.data());
  kc::winograd_conv_tiles(s, x.data(), u.data(), nullptr, false, y.data(), mid, s.tiles(), 5, scratch.data());
  const double e = rel_error(y, direct_conv(g, x, w, nullptr, false));
  CHECK(e < bound);
  worst = std::max(worst, e);
  WARN("Winograd F(" << tile << "x" << tile << ",3x3) over " << runs << " problems: max error " << worst
                     << " of the output's largest magnitude");
}

TEST_CASE("Winograd conv reads a kernel changed in place", "[conv][winograd]") {
  const kernels::ConvGeometry g = geometry(1, 6, 6, 4, 8, 1, 1);
  std::vector<float> x = floats(6 * 6 * 4, 1), w = floats(9 * 4 * 8, 2), y(6 * 6 * 8);
  auto conv = kc::WinogradConv::make(g, false, 1, GENERATE(2, 4));
  conv->run(x.data(), w.data(), nullptr, y.data());
  for (float& v : w) v *= -2;
  conv->run(x.data(), w.data(), nullptr, y.data());
  CHECK(rel_error(y, direct_conv(g, x, w, nullptr, false)) < 2e-6);
}

TEST_CASE("predict with AXON_CPU_WINOGRAD=on equals =off", "[model][predict][conv][winograd]") {
  const Model m = fashion_mnist_cnn();
  for (int64_t batch : {1, 3, 64}) {
    INFO("batch " << batch);
    const Params p = init(m, {.seed = 7});
    const Tensor x = randn({batch, 28, 28, 1});
    Tensor on, off;
    // Two Params objects alive at once: two plans, each's conv steps made under its setting.
    const Params own_on = p, own_off = p;
    {
      WinogradEnv env("on");
      const int64_t before = cpu_winograd_runs();
      for (int call = 0; call < 2; ++call) on = predict(m, own_on, x);
      CHECK(cpu_winograd_runs() > before);  // both convs qualify (3x3, stride 1, 'same')
    }
    {
      WinogradEnv env("off");
      const int64_t before = cpu_winograd_runs();
      for (int call = 0; call < 2; ++call) off = predict(m, own_off, x);
      CHECK(cpu_winograd_runs() == before);
    }
    REQUIRE(on.numel() == off.numel());
    const Tensor a = on.contiguous(), r = off.contiguous();
    const std::vector<double> ref(r.data<float>(), r.data<float>() + r.numel());
    const std::vector<float> got(a.data<float>(), a.data<float>() + a.numel());
    CHECK(rel_error(got, ref) <= 1e-4);
  }
}

TEST_CASE("convs the Winograd kernel does not apply to never reach it", "[model][predict][conv][winograd]") {
  WinogradEnv env("on");
  for (const ConvLayerOptions& o :
       {ConvLayerOptions{.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same},
        ConvLayerOptions{.kernel_size = {5}, .padding = PaddingMode::same, .activation = "relu"},
        ConvLayerOptions{.kernel_size = {3}, .kernel_dilation = {2}}, ConvLayerOptions{.kernel_size = {3, 1}}}) {
    const Model m = input("x", {-1, 12, 12, 4}) | conv(8, o);
    const Params p = init(m, {.seed = 3});
    const Tensor x = randn({2, 12, 12, 4});
    const int64_t before = cpu_winograd_runs();
    const Tensor y = predict(m, p, x);
    predict(m, p, x);
    CHECK(cpu_winograd_runs() == before);
    test::check_close(y, apply(m, p, x).output, {1e-5, 1e-5});
  }
  CHECK_FALSE(kc::winograd_applies(geometry(1, 9, 9, 4, 4, 1, 1, 3, 2)));
  CHECK_FALSE(kc::winograd_applies(geometry(1, 9, 9, 4, 4, 2, 2, 5)));
  // The same model with a 3x3 stride-1 conv does reach it: the counter above can move.
  const Model m = input("x", {-1, 12, 12, 4}) | conv(8, {.kernel_size = {3}, .padding = PaddingMode::same});
  const int64_t before = cpu_winograd_runs();
  predict(m, init(m, {.seed = 3}), randn({2, 12, 12, 4}));
  CHECK(cpu_winograd_runs() > before);
}

TEST_CASE("the Winograd kernel's front end rejects what it cannot run with axon::Error", "[conv][winograd]") {
  AXON_REQUIRE_THROWS_WITH(kc::winograd_shape(geometry(1, 9, 9, 4, 4, 2, 2, 5)), "winograd_conv: ");
  AXON_REQUIRE_THROWS_WITH(kc::WinogradConv::make(geometry(1, 9, 9, 4, 4, 1, 1, 3, 2), false, 1), "stride 2x2");
  AXON_REQUIRE_THROWS_WITH(kc::winograd_shape(geometry(1, 9, 9, 0, 4, 1, 1)), "channels 0 -> 4");
  AXON_REQUIRE_THROWS_WITH(kc::winograd_shape(geometry(1, 2, 2, 4, 4, 0, 0)), "padding 0/0");
  kernels::ConvGeometry g3 = geometry(1, 9, 9, 4, 4, 1, 1);
  g3.nd = 3;
  AXON_REQUIRE_THROWS_WITH(kc::winograd_shape(g3), "3-d conv");
  std::vector<float> w(9 * 4 * 4), u(16 * 4 * 4);
  AXON_REQUIRE_THROWS_WITH(kc::winograd_transform_kernel(w.data(), 0, 4, 2, u.data()), "must be > 0");
  AXON_REQUIRE_THROWS_WITH(kc::winograd_shape(geometry(1, 9, 9, 4, 4, 1, 1), 3), "tiles of 3x3");
  const kc::WinogradShape s = kc::winograd_shape(geometry(1, 4, 4, 4, 4, 1, 1), 2);
  std::vector<float> x(64), y(64), scratch(size_t(kc::winograd_scratch_floats(s, 4)));
  AXON_REQUIRE_THROWS_WITH(kc::winograd_conv_tiles(s, x.data(), u.data(), nullptr, false, y.data(), 0, 5, 4, scratch.data()),
                           "tiles [0, 5) of 4");
  AXON_REQUIRE_THROWS_WITH(kc::winograd_conv_tiles(s, x.data(), u.data(), nullptr, false, y.data(), 0, 4, 0, scratch.data()),
                           "in blocks of 0");
}
