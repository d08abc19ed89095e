// Convolutions: axon::conv against a float64 loop reference over an option grid (1-D/2-D/3-D,
// strides, valid/same/explicit/negative padding, input and kernel dilation, feature groups, channels
// last and first, odd sizes, non-contiguous inputs, empty tensors), its adjoints, gradients (and
// gradients of gradients) by finite differences, the layers (bias, conv_transpose, depthwise,
// separable), CUDA against CPU and the errors.
#include <algorithm>
#include <functional>
#include <string>

#include <axon/kernels/conv.hpp>

#include "conv_reference.hpp"
#include "harness.hpp"
#ifdef AXON_HAS_CUDA
#include "../core/src/cuda/backend.hpp"  // cuDNN's run counters live in the CUDA backend
#endif

using namespace axon;
using test::random_tensor;
using namespace test::conv_ref;

namespace {

std::vector<Case> grid() {
  using P = Padding;
  std::vector<Case> cs;
  cs.push_back({{2, 7, 3}, {3}, 4, {}});
  cs.push_back({{2, 8, 3}, {3}, 2, {.strides = {2}, .padding = P::same()}});
  cs.push_back({{1, 9, 2}, {2}, 3, {.padding = {{2, 1}}, .input_dilation = {2}, .kernel_dilation = {3}}});
  cs.push_back({{2, 5, 6, 3}, {3, 3}, 4, {}});
  cs.push_back({{1, 7, 6, 4}, {3, 2}, 5, {.strides = {2, 1}, .padding = P::same()}});
  cs.push_back({{2, 6, 7, 2}, {2, 3}, 3, {.padding = {{1, 2}, {0, 1}}, .kernel_dilation = {2}}});
  cs.push_back(
      {{1, 4, 5, 3}, {3, 3}, 2, {.strides = {2}, .padding = {{1, 1}, {2, 0}}, .input_dilation = {2}}});
  cs.push_back({{2, 5, 5, 4}, {3, 3}, 6, {.padding = P::same(), .feature_group_size = 2}});
  cs.push_back({{1, 6, 5, 3}, {2, 2}, 6, {.strides = {2}, .feature_group_size = 3}});
  cs.push_back({{1, 4, 5, 3, 2}, {2, 3, 2}, 3, {.strides = {1, 2, 1}, .padding = P::same()}});
  cs.push_back({{2, 5, 4, 4, 4},
                {2, 2, 2},
                4,
                {.input_dilation = {1, 2, 1}, .kernel_dilation = {2, 1, 1}, .feature_group_size = 2}});
  cs.push_back({{2, 3, 4, 5}, {1, 1}, 3, {}});
  cs.push_back({{1, 7, 7, 2}, {2, 2}, 2, {.padding = {{-1, 0}, {0, -2}}}});
  cs.push_back({{1, 10, 11, 3}, {4, 5}, 3, {.strides = {3}, .padding = P::same()}});
  cs.push_back({{2, 5, 5, 3}, {1, 1}, 2, {.strides = {2}}});
  cs.push_back({{1, 3, 3, 2}, {3, 3}, 1, {.padding = P::same(), .kernel_dilation = {2}}});
  // Depthwise (one input channel per group), multiplier 1 and 3, with every option.
  cs.push_back({{2, 5, 6, 4},
                {3, 3},
                4,
                {.strides = {1, 2},
                 .padding = {{2, 0}, {1, 1}},
                 .input_dilation = {2, 1},
                 .kernel_dilation = {1, 2},
                 .feature_group_size = 4}});
  cs.push_back({{3, 9, 2}, {4}, 6, {.padding = P::same(), .feature_group_size = 2}});
  cs.push_back(
      {{1, 3, 4, 3, 3}, {2, 2, 2}, 3, {.strides = {2, 1, 1}, .padding = P::same(), .feature_group_size = 3}});
  return cs;
}

// Channels-last layouts to channels-first ones (views: the conv sees non-contiguous operands).
Tensor first_input(const Tensor& x) {
  std::vector<int64_t> order{0, x.dim() - 1};
  for (int64_t d = 1; d < x.dim() - 1; ++d) order.push_back(d);
  return x.permute(order);
}
Tensor last_output(const Tensor& y) {
  std::vector<int64_t> order{0};
  for (int64_t d = 2; d < y.dim(); ++d) order.push_back(d);
  order.push_back(1);
  return y.permute(order);
}
Tensor first_kernel(const Tensor& w) {
  const int64_t nd = w.dim() - 2;
  std::vector<int64_t> order{nd + 1, nd};
  for (int64_t d = 0; d < nd; ++d) order.push_back(d);
  return w.permute(order);
}

test::Tol conv_tol(DType dt) {
  switch (dt) {
    case DType::f64:
      return {1e-10, 1e-12};
    case DType::f32:
      return {1e-4, 1e-5};
    case DType::bf16:
      return {2e-2, 2e-2};
    default:
      return {4e-3, 4e-3};
  }
}

ConvOptions with_channels(ConvOptions o, Channels ch) {
  o.channels = ch;
  return o;
}

// f(x, w, options) for each grid case with at most max_numel input values, channels last and first,
// on random values of dtype dt (seed advanced for each tensor).
template <class F>
void for_each_problem(DType dt, uint64_t& seed, F f, int64_t max_numel = INT64_MAX) {
  for (const Case& c : grid()) {
    if (numel(c.x) > max_numel) continue;
    for (Channels ch : {Channels::last, Channels::first}) {
      INFO(describe_case(c) << " " << dtype_name(dt) << (ch == Channels::first ? " channels first" : ""));
      Tensor x = random_tensor(c.x, dt, -1, 1, ++seed);
      Tensor w = random_tensor(kernel_shape(c), dt, -1, 1, ++seed);
      if (ch == Channels::first) {
        x = first_input(x).contiguous();
        w = first_kernel(w).contiguous();
      }
      f(x, w, with_channels(c.o, ch));
    }
  }
}

}  // namespace

TEST_CASE("conv matches a float64 loop reference across the option grid", "[layers][ops]") {
  uint64_t seed = 100;
  for (const Case& c : grid()) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      INFO(describe_case(c) << " " << dtype_name(dt));
      Tensor x = random_tensor(c.x, dt, -1, 1, ++seed);
      Tensor w = random_tensor(kernel_shape(c), dt, -1, 1, ++seed);
      Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), c.o);
      test::check_close(conv(x, w, c.o), r.v, r.shape, conv_tol(dt));
      // Channels first: permuted (non-contiguous) views of the same values.
      Tensor yf = conv(first_input(x), first_kernel(w), with_channels(c.o, Channels::first));
      test::check_close(last_output(yf), r.v, r.shape, conv_tol(dt));
    }
  }
}

// Sizes where the CPU kernels cut the rows into many chunks (several per thread, boundaries inside
// an image), so that the per-thread column buffers, the accumulation of dw across chunks and its sum
// over threads are all exercised, forward and both adjoints against float64 loops.
TEST_CASE("conv and its adjoints on problems split into many chunks match float64 loops", "[layers][ops]") {
  using P = Padding;
  const std::vector<Case> cases = {
      {{2, 32, 32, 128}, {3, 3}, 8, {.padding = P::same()}},
      {{16, 28, 28, 1}, {3, 3}, 32, {.padding = P::same()}},  // W2's first layer
      {{3, 17, 19, 96}, {3, 2}, 12, {.strides = {1, 2}, .padding = {{2, 0}, {1, 1}}, .feature_group_size = 3}},
      {{1, 40, 40, 64}, {5, 5}, 16, {.padding = P::same(), .kernel_dilation = {2}}},
      {{2, 9, 300, 48}, {3}, 10, {.strides = {2}, .padding = P::same()}},  // 1-D over [2 * 9, 300]
  };
  uint64_t seed = 4000;
  for (Case c : cases) {
    if (c.k.size() == 1) c.x = {c.x[0] * c.x[1], c.x[2], c.x[3]};
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(describe_case(c) << " " << dtype_name(dt));
      Tensor x = random_tensor(c.x, dt, -1, 1, ++seed);
      Tensor w = random_tensor(kernel_shape(c), dt, -1, 1, ++seed);
      const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
      Ref r = ref_conv(xv, x.shape(), wv, w.shape(), c.o);
      Tensor dy = random_tensor(r.shape, dt, -1, 1, ++seed);
      RefGrads rg = ref_conv_grads(xv, x.shape(), wv, w.shape(), dy.to_vector<double>(), c.o);
      // Sums of up to 10^4 products of values in [-1, 1].
      const test::Tol tol = dt == DType::f64 ? test::Tol{1e-10, 1e-9} : test::Tol{1e-4, 2e-3};
      test::check_close(conv(x, w, c.o), r.v, r.shape, tol);
      test::check_close(conv_backward_data(dy, w, x.shape(), c.o), rg.dx, x.shape(), tol);
      test::check_close(conv_backward_filter(x, dy, w.shape(), c.o), rg.dw, w.shape(), tol);
    }
  }
}

TEST_CASE("conv on sliced and transposed inputs", "[layers][ops]") {
  Tensor big = random_tensor({2, 9, 8, 5}, DType::f64, -1, 1, 7);
  Tensor x = big.slice(1, 1, 8, 2).slice(3, 1, 4);                                // [2, 4, 8, 3], strided
  Tensor xt = random_tensor({2, 8, 4, 3}, DType::f64, -1, 1, 8).transpose(1, 2);  // [2, 4, 8, 3]
  Tensor w = random_tensor({3, 2, 3, 4}, DType::f64, -1, 1, 9);
  ConvOptions o{.strides = {1, 2}, .padding = Padding::same()};
  for (const Tensor& in : {x, xt}) {
    Ref r = ref_conv(in.to_vector<double>(), in.shape(), w.to_vector<double>(), w.shape(), o);
    test::check_close(conv(in, w, o), r.v, r.shape, conv_tol(DType::f64));
  }
  Tensor wt = random_tensor({4, 3, 2, 3}, DType::f64, -1, 1, 10).permute({1, 2, 3, 0});
  Ref r = ref_conv(x.to_vector<double>(), x.shape(), wt.to_vector<double>(), wt.shape(), o);
  test::check_close(conv(x, wt, o), r.v, r.shape, conv_tol(DType::f64));
}

TEST_CASE("conv with empty tensors", "[layers][ops]") {
  Tensor w = random_tensor({3, 3, 2, 4}, DType::f32, -1, 1, 1);
  Tensor y = conv(zeros({0, 5, 5, 2}), w);
  CHECK(y.shape() == Shape{0, 3, 3, 4});
  // No input channels: every output is an empty sum.
  Tensor y0 = conv(ones({2, 4, 4, 0}), zeros({3, 3, 0, 5}));
  test::check_close(y0, std::vector<double>(2 * 2 * 2 * 5, 0.0), {2, 2, 2, 5}, conv_tol(DType::f32));
  Tensor y1 = conv(ones({2, 4, 4, 2}), zeros({3, 3, 2, 0}));
  CHECK(y1.shape() == Shape{2, 2, 2, 0});
  auto [v, gs] = value_and_grad([&](const std::vector<Tensor>& p) { return sum(conv(p[0], p[1])); },
                                std::vector<Tensor>{zeros({0, 5, 5, 2}), w});
  CHECK(gs[0].shape() == Shape{0, 5, 5, 2});
  test::check_close(gs[1], std::vector<double>(3 * 3 * 2 * 4, 0.0), w.shape(), conv_tol(DType::f32));
}

TEST_CASE("conv adjoints: <conv(x w) dy> equals <x bwd_data(dy w)> and <w bwd_filter(x dy)>",
          "[layers][ops]") {
  uint64_t seed = 500;
  for_each_problem(DType::f64, seed, [&](const Tensor& x, const Tensor& w, const ConvOptions& o) {
    Tensor y = conv(x, w, o);
    Tensor dy = random_tensor(y.shape(), DType::f64, -1, 1, ++seed);
    const double lhs = sum(mul(y, dy)).item<double>();
    Tensor dx = conv_backward_data(dy, w, x.shape(), o);
    Tensor dw = conv_backward_filter(x, dy, w.shape(), o);
    REQUIRE(dx.shape() == x.shape());
    REQUIRE(dw.shape() == w.shape());
    CHECK(std::abs(sum(mul(x, dx)).item<double>() - lhs) <= 1e-9 * (1 + std::abs(lhs)));
    CHECK(std::abs(sum(mul(w, dw)).item<double>() - lhs) <= 1e-9 * (1 + std::abs(lhs)));
  });
}

TEST_CASE("conv gradients match finite differences", "[layers][autograd]") {
  uint64_t seed = 900;
  // Inputs of at most 300 values: the finite differences stay small.
  for_each_problem(DType::f64, seed, [](const Tensor& x, const Tensor& w, const ConvOptions& o) {
    test::check_grad([o](const std::vector<Tensor>& p) { return conv(p[0], p[1], o); }, {x, w});
  }, 300);
}

TEST_CASE("conv gradients are differentiable again", "[layers][autograd]") {
  const std::vector<ConvOptions> opts = {
      {.strides = {2, 1}, .padding = Padding::same()},
      {.padding = {{1, 0}, {0, 1}}, .input_dilation = {2, 1}, .kernel_dilation = {1, 2}},
      {.feature_group_size = 2, .channels = Channels::first},
  };
  for (const ConvOptions& o : opts) {
    const bool first = o.channels == Channels::first;
    Shape xs = first ? Shape{1, 4, 4, 3} : Shape{1, 4, 3, 2};
    Shape ws = first ? Shape{2, 2, 2, 2} : Shape{2, 2, 2, 3};
    // d/dw sum(conv(x, w) * r), squared: second derivatives of conv in x and w.
    auto dw_sq = [o](const std::vector<Tensor>& p) {
      Tensor y = conv(p[0], p[1], o);
      Tensor r = random_tensor(y.shape(), p[0].dtype(), 0.5, 1.5, 3, p[0].device());
      Tensor g = grad([&](const Tensor& w) { return sum(mul(conv(p[0], w, o), r)); }, p[1]);
      return mul(g, g);
    };
    auto dx_sq = [o](const std::vector<Tensor>& p) {
      Tensor y = conv(p[0], p[1], o);
      Tensor r = random_tensor(y.shape(), p[0].dtype(), 0.5, 1.5, 4, p[0].device());
      Tensor g = grad([&](const Tensor& x) { return sum(mul(conv(x, p[1], o), r)); }, p[0]);
      return mul(g, g);
    };
    Tensor x = random_tensor(xs, DType::f64, -1, 1, 11), w = random_tensor(ws, DType::f64, -1, 1, 12);
    test::check_grad(dw_sq, {x, w});
    test::check_grad(dx_sq, {x, w});
  }
}

TEST_CASE("conv on CUDA matches the CPU across the option grid", "[layers][ops]") {
  uint64_t seed = 1300;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for_each_problem(dt, seed, [&](const Tensor& x, const Tensor& w, const ConvOptions& o) {
      test::check_cuda_matches_cpu([o](const std::vector<Tensor>& p) { return conv(p[0], p[1], o); }, {x, w},
                                   conv_tol(dt));
      Tensor y = conv(x, w, o);
      Tensor dy = random_tensor(y.shape(), dt, -1, 1, ++seed);
      Shape xs = x.shape(), wsh = w.shape();
      test::check_cuda_matches_cpu(
          [o, xs](const std::vector<Tensor>& p) { return conv_backward_data(p[0], p[1], xs, o); }, {dy, w},
          conv_tol(dt));
      test::check_cuda_matches_cpu(
          [o, wsh](const std::vector<Tensor>& p) { return conv_backward_filter(p[0], p[1], wsh, o); }, {x, dy},
          test::Tol{conv_tol(dt).rtol * 4, conv_tol(dt).atol * 4});
    });
}

TEST_CASE("conv on CUDA: ResNet-sized NHWC shapes through cuDNN in f32 TF32 and bf16", "[layers][cuda]") {
  AXON_REQUIRE_CUDA();
  for (DType dt : {DType::f32, DType::bf16}) {
    for (bool tf32 : {false, true}) {
      set_allow_tf32(tf32);
      Tensor x = random_tensor({4, 14, 14, 64}, dt, -1, 1, 21);
      Tensor w = random_tensor({3, 3, 64, 64}, dt, -0.1, 0.1, 22);
      ConvOptions o{.padding = Padding::same()};
      test::Tol tol = dt == DType::bf16 ? test::Tol{3e-2, 3e-2}
                      : tf32            ? test::Tol{1e-2, 1e-2}
                                        : test::Tol{1e-4, 1e-4};
      test::check_cuda_matches_cpu([o](const std::vector<Tensor>& p) { return conv(p[0], p[1], o); }, {x, w},
                                   tol);
    }
  }
  set_allow_tf32(false);
}

TEST_CASE("conv layer adds the bias along the channel axis", "[layers]") {
  Tensor x = random_tensor({2, 5, 4, 3}, DType::f64, -1, 1, 31);
  Tensor w = random_tensor({3, 2, 3, 4}, DType::f64, -1, 1, 32);
  Tensor b = random_tensor({4}, DType::f64, -1, 1, 33);
  ConvOptions o{.padding = Padding::same()};
  Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), o);
  const auto bv = b.to_vector<double>();
  for (size_t i = 0; i < r.v.size(); ++i) r.v[i] += bv[i % 4];
  test::check_close(layers::conv(x, w, b, o), r.v, r.shape, conv_tol(DType::f64));
  Tensor yf = layers::conv(first_input(x), first_kernel(w), b, with_channels(o, Channels::first));
  test::check_close(last_output(yf), r.v, r.shape, conv_tol(DType::f64));
  test::check_grad([o](const std::vector<Tensor>& p) { return layers::conv(p[0], p[1], p[2], o); },
                   {x, w, b});
}

namespace {
// Transposed convolution as a scatter (PyTorch's definition with the kernel flipped), 1-D or 2-D,
// channels last: full[n, i * s + j * kd, co] += x[n, i, ci] * w[K - 1 - j, ci, co]; then the window
// [crop, crop + out) of `full` is returned.
Ref ref_conv_transpose(const Tensor& xt, const Tensor& wt, const std::vector<int64_t>& s,
                       const std::vector<int64_t>& kd, const std::vector<int64_t>& crop, const Shape& out) {
  const auto x = xt.to_vector<double>(), w = wt.to_vector<double>();
  const Shape& xs = xt.shape();
  const Shape& ws = wt.shape();
  const bool two = xs.size() == 4;
  const int64_t N = xs[0], H = xs[1], W = two ? xs[2] : 1, C = xs.back(), Co = ws.back();
  const int64_t KH = ws[0], KW = two ? ws[1] : 1;
  const int64_t sh = s[0], sw = two ? s[1] : 1, dh = kd[0], dw = two ? kd[1] : 1;
  const int64_t FH = (H - 1) * sh + (KH - 1) * dh + 1 + 64, FW = (W - 1) * sw + (KW - 1) * dw + 1 + 64;
  std::vector<double> full(static_cast<size_t>(N * FH * FW * Co), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j)
        for (int64_t a = 0; a < KH; ++a)
          for (int64_t b = 0; b < KW; ++b)
            for (int64_t ci = 0; ci < C; ++ci)
              for (int64_t co = 0; co < Co; ++co) {
                const double xv = x[static_cast<size_t>(((n * H + i) * W + j) * C + ci)];
                const double wv =
                    w[static_cast<size_t>((((KH - 1 - a) * KW + (KW - 1 - b)) * C + ci) * Co + co)];
                full[static_cast<size_t>(((n * FH + i * sh + a * dh) * FW + j * sw + b * dw) * Co + co)] +=
                    xv * wv;
              }
  Ref r;
  r.shape = out;
  const int64_t OH = out[1], OW = two ? out[2] : 1;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j)
        for (int64_t co = 0; co < Co; ++co) {
          const int64_t fi = i + crop[0], fj = j + (two ? crop[1] : 0);
          r.v.push_back(fi < 0 || fj < 0 ? 0.0
                                         : full[static_cast<size_t>(((n * FH + fi) * FW + fj) * Co + co)]);
        }
  return r;
}
}  // namespace

TEST_CASE("conv_transpose follows Axon's padding rules and is a flipped-kernel transposed conv", "[layers]") {
  struct T {
    Shape x, k;
    int64_t cout;
    std::vector<int64_t> s, kd;
  };
  const std::vector<T> cases = {{{2, 5, 3}, {3}, 2, {2}, {1}},
                                {{1, 4, 2}, {2}, 3, {3}, {1}},  // k < s
                                {{1, 4, 2}, {3}, 2, {1}, {2}},
                                {{2, 3, 4, 2}, {3, 2}, 3, {2, 1}, {1, 1}},
                                {{1, 4, 3, 2}, {2, 3}, 2, {2, 3}, {2, 1}},
                                {{1, 3, 3, 1}, {1, 1}, 2, {2, 2}, {1, 1}}};
  uint64_t seed = 40;
  for (const T& c : cases) {
    for (PaddingMode mode : {PaddingMode::valid, PaddingMode::same}) {
      INFO("x " << to_string(c.x) << " k " << to_string(c.k)
                << (mode == PaddingMode::same ? " same" : " valid"));
      Tensor x = random_tensor(c.x, DType::f64, -1, 1, ++seed);
      Shape ks = c.k;
      ks.push_back(c.x.back());
      ks.push_back(c.cout);
      Tensor w = random_tensor(ks, DType::f64, -1, 1, ++seed);
      Shape out{c.x[0]};
      std::vector<int64_t> crop;
      for (size_t d = 0; d < c.k.size(); ++d) {
        const int64_t k = (c.k[d] - 1) * c.kd[d] + 1, s = c.s[d];
        // valid: output in * s + max(k - s, 0) starting at the full transposed conv's origin;
        // same: output in * s, shifted by the difference of the low paddings.
        if (mode == PaddingMode::valid) {
          out.push_back(c.x[1 + d] * s + std::max<int64_t>(k - s, 0));
          crop.push_back(0);
        } else {
          out.push_back(c.x[1 + d] * s);
          const int64_t lo = s > k - 1 ? k - 1 : (k + s - 1) / 2;
          crop.push_back(k - 1 - lo);
        }
      }
      out.push_back(c.cout);
      Ref r = ref_conv_transpose(x, w, c.s, c.kd, crop, out);
      layers::ConvTransposeOptions o{.strides = c.s, .padding = Padding(mode), .kernel_dilation = c.kd};
      test::check_close(layers::conv_transpose(x, w, Tensor(), o), r.v, r.shape, conv_tol(DType::f64));
      o.channels = Channels::first;
      Tensor yf = layers::conv_transpose(first_input(x), first_kernel(w), Tensor(), o);
      test::check_close(last_output(yf), r.v, r.shape, conv_tol(DType::f64));
    }
  }
  // Explicit padding goes to the conv as it is.
  Tensor x = random_tensor({1, 4, 2}, DType::f64, -1, 1, 3),
         w = random_tensor({3, 2, 2}, DType::f64, -1, 1, 4);
  layers::ConvTransposeOptions o{.strides = {2}, .padding = {{1, 0}}};
  ConvOptions co{.padding = {{1, 0}}, .input_dilation = {2}};
  test::check_close(layers::conv_transpose(x, w, Tensor(), o), conv(x, w, co), conv_tol(DType::f64));
  test::check_grad([o](const std::vector<Tensor>& p) { return layers::conv_transpose(p[0], p[1], p[2], o); },
                   {x, w, random_tensor({2}, DType::f64, -1, 1, 5)});
}

namespace {
// Runs `f` on CUDA and returns how many cuDNN calls of each direction it made (zeros without cuDNN).
template <class F>
kernels::cudnn::Runs cudnn_runs_of(F&& f) {
#ifdef AXON_HAS_CUDA
  const kernels::cudnn::Runs before = cuda::backend().cudnn_runs();
  f();
  const kernels::cudnn::Runs after = cuda::backend().cudnn_runs();
  return {after.forward - before.forward, after.backward_data - before.backward_data,
          after.backward_filter - before.backward_filter};
#else
  f();
  return {};
#endif
}
bool cudnn_compiled_in() {
#ifdef AXON_HAS_CUDA
  const cuda::Backend* b = cuda::find_backend();
  return b && b->cudnn_available();
#else
  return false;
#endif
}

// The CUDA forward, input and kernel gradients of f(x, w) against the CPU's, and whether CUDA ran
// its three directions through cuDNN (when cuDNN is compiled in).
void check_cuda_conv_directions(const std::function<Tensor(const Tensor&, const Tensor&)>& f, const Tensor& x,
                                const Tensor& w, test::Tol tol) {
  auto fwd = [&](const std::vector<Tensor>& p) { return f(p[0], p[1]); };
  // sum(f(x, w) * r) differentiated to x (which = 0) or w (which = 1).
  auto grad_of = [&](int which) {
    return [&f, which](const std::vector<Tensor>& p) {
      Tensor r = random_tensor(f(p[0], p[1]).shape(), p[0].dtype(), 0.5, 1.5, 77, p[0].device());
      auto g = grad([&](const std::vector<Tensor>& q) { return sum(mul(f(q[0], q[1]), r)); },
                    std::vector<Tensor>{p[0], p[1]});
      return g[static_cast<size_t>(which)];
    };
  };
  test::check_cuda_matches_cpu(fwd, {x, w}, tol);
  test::check_cuda_matches_cpu(grad_of(0), {x, w}, tol);
  test::check_cuda_matches_cpu(grad_of(1), {x, w}, test::Tol{tol.rtol * 4, tol.atol * 4});
  if (!cudnn_compiled_in()) return;
  const Tensor xc = x.to(Device::cuda(0)), wc = w.to(Device::cuda(0));
  const auto r = cudnn_runs_of([&] {
    (void)grad([&](const std::vector<Tensor>& q) { return sum(f(q[0], q[1])); }, std::vector<Tensor>{xc, wc});
  });
  INFO("cuDNN calls: forward " << r.forward << ", backward data " << r.backward_data << ", backward filter "
                               << r.backward_filter);
  CHECK(r.forward + r.backward_data >= 2);
  CHECK(r.backward_filter >= 1);
}
}  // namespace

TEST_CASE("conv_transpose with strides on CUDA runs on cuDNN and matches the CPU", "[layers][cuda]") {
  AXON_REQUIRE_CUDA();
  struct T {
    Shape x, k;
    int64_t cout;
    std::vector<int64_t> s, kd;
    Padding padding;
  };
  // 2-D and 1-D, valid and same, k < s, kernel dilation, and explicit paddings whose high side is
  // longer (PyTorch's output_padding) or shorter (cuDNN's output cropped) than the low one.
  const std::vector<T> cases = {{{2, 5, 4, 3}, {3, 3}, 4, {2, 2}, {1, 1}, Padding::valid()},
                                {{2, 5, 4, 3}, {3, 3}, 4, {2, 2}, {1, 1}, Padding::same()},
                                {{1, 4, 6, 2}, {2, 3}, 3, {3, 2}, {1, 2}, Padding::same()},
                                {{2, 9, 3}, {4}, 5, {3}, {1}, Padding::valid()},
                                {{2, 9, 3}, {2}, 5, {3}, {1}, Padding::same()},
                                {{3, 6, 4}, {3}, 2, {2}, {2}, Padding::valid()},
                                {{2, 7, 3}, {3}, 4, {2}, {1}, Padding{{2, 3}}},
                                {{2, 7, 3}, {3}, 4, {2}, {1}, Padding{{2, 0}}},
                                {{1, 5, 5, 2}, {3, 3}, 2, {2, 2}, {1, 1}, Padding{{1, 2}, {2, 2}}}};
  uint64_t seed = 900;
  for (const T& c : cases) {
    for (DType dt : {DType::f32, DType::f64}) {
      for (Channels ch : {Channels::last, Channels::first}) {
        INFO("x " << to_string(c.x) << " k " << to_string(c.k) << " s " << c.s[0] << " " << dtype_name(dt)
                  << (ch == Channels::first ? " channels first" : ""));
        Shape ks = c.k;
        ks.insert(ks.end(), {c.x.back(), c.cout});
        Tensor x = random_tensor(c.x, dt, -1, 1, ++seed), w = random_tensor(ks, dt, -1, 1, ++seed);
        if (ch == Channels::first) {
          x = first_input(x).contiguous();
          w = first_kernel(w).contiguous();
        }
        layers::ConvTransposeOptions o{.strides = c.s, .padding = c.padding, .kernel_dilation = c.kd, .channels = ch};
        check_cuda_conv_directions(
            [o](const Tensor& a, const Tensor& b) { return layers::conv_transpose(a, b, Tensor(), o); }, x, w,
            conv_tol(dt));
      }
    }
  }
  // A conv with input dilation and feature groups: the kernel's groups map onto cuDNN's channels.
  ConvOptions o{.padding = {{1, 2}}, .input_dilation = {3}, .feature_group_size = 2};
  check_cuda_conv_directions([o](const Tensor& a, const Tensor& b) { return conv(a, b, o); },
                             random_tensor({2, 6, 4}, DType::f32, -1, 1, 951),
                             random_tensor({3, 2, 6}, DType::f32, -1, 1, 952), conv_tol(DType::f32));
}

TEST_CASE("f64 conv on CUDA runs on cuDNN and matches the CPU, forward and both adjoints", "[layers][cuda]") {
  AXON_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {{2, 9, 9, 8}, {3, 3}, 16, {.strides = {2}, .padding = Padding::same()}},
      {{3, 17, 4}, {5}, 6, {.padding = {{3, 1}}}},
      {{1, 5, 6, 5, 2}, {3, 3, 2}, 3, {.kernel_dilation = {1, 2, 1}}},
      {{2, 8, 8, 4}, {3, 3}, 6, {.padding = Padding::same(), .feature_group_size = 2}}};
  uint64_t seed = 960;
  for (const Case& c : cases) {
    INFO(describe_case(c));
    const ConvOptions o = c.o;
    check_cuda_conv_directions([o](const Tensor& a, const Tensor& b) { return conv(a, b, o); },
                               random_tensor(c.x, DType::f64, -1, 1, ++seed),
                               random_tensor(kernel_shape(c), DType::f64, -1, 1, ++seed), conv_tol(DType::f64));
  }
}

TEST_CASE("depthwise_conv convolves each channel with its own filters", "[layers]") {
  // Kernel [K..., 1, C * m]: output channel c * m + j reads input channel c only.
  const int64_t C = 3, m = 2;
  Tensor x = random_tensor({2, 6, 5, C}, DType::f64, -1, 1, 51);
  Tensor w = random_tensor({3, 2, 1, C * m}, DType::f64, -1, 1, 52);
  Tensor b = random_tensor({C * m}, DType::f64, -1, 1, 53);
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  // strides 2, same padding: out = ceil(6/2) x ceil(5/2) = 3 x 3; pads: rows (1, 1)... computed below
  const int64_t OH = 3, OW = 3, lo_h = 0,
                lo_w = 0;  // total pad rows max((3-1)*2+3-6,0)=1 -> (0,1); cols (0,0)
  std::vector<double> ref;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t q = 0; q < m; ++q) {
            double acc = bv[static_cast<size_t>(c * m + q)];
            for (int64_t a = 0; a < 3; ++a)
              for (int64_t e = 0; e < 2; ++e) {
                const int64_t pi = i * 2 + a - lo_h, pj = j * 2 + e - lo_w;
                if (pi < 0 || pi >= 6 || pj < 0 || pj >= 5) continue;
                acc += xv[static_cast<size_t>(((n * 6 + pi) * 5 + pj) * C + c)] *
                       wv[static_cast<size_t>((a * 2 + e) * C * m + c * m + q)];
              }
            ref.push_back(acc);
          }
  ConvOptions o{.strides = {2}, .padding = Padding::same()};
  test::check_close(layers::depthwise_conv(x, w, b, o), ref, {2, OH, OW, C * m}, conv_tol(DType::f64));
  Tensor yf = layers::depthwise_conv(first_input(x), first_kernel(w), b, with_channels(o, Channels::first));
  test::check_close(last_output(yf), ref, {2, OH, OW, C * m}, conv_tol(DType::f64));
  test::check_grad([o](const std::vector<Tensor>& p) { return layers::depthwise_conv(p[0], p[1], p[2], o); },
                   {x.slice(1, 0, 3), w, b});
}

TEST_CASE("separable_conv2d and separable_conv3d are chained depthwise convs", "[layers]") {
  Tensor x = random_tensor({1, 5, 6, 2}, DType::f64, -1, 1, 61);
  Tensor k1 = random_tensor({3, 1, 1, 4}, DType::f64, -1, 1, 62),
         b1 = random_tensor({4}, DType::f64, -1, 1, 63);
  Tensor k2 = random_tensor({1, 3, 1, 8}, DType::f64, -1, 1, 64),
         b2 = random_tensor({8}, DType::f64, -1, 1, 65);
  ConvOptions o{.padding = Padding::same()};
  ConvOptions g1 = o, g2 = o;
  g1.feature_group_size = 2;
  g2.feature_group_size = 4;
  Ref r1 = ref_conv(x.to_vector<double>(), x.shape(), k1.to_vector<double>(), k1.shape(), g1);
  for (size_t i = 0; i < r1.v.size(); ++i) r1.v[i] += b1.to_vector<double>()[i % 4];
  Ref r2 = ref_conv(r1.v, r1.shape, k2.to_vector<double>(), k2.shape(), g2);
  for (size_t i = 0; i < r2.v.size(); ++i) r2.v[i] += b2.to_vector<double>()[i % 8];
  test::check_close(layers::separable_conv2d(x, k1, b1, k2, b2, o), r2.v, r2.shape, conv_tol(DType::f64));
  test::check_grad(
      [o](const std::vector<Tensor>& p) { return layers::separable_conv2d(p[0], p[1], p[2], p[3], p[4], o); },
      {x, k1, b1, k2, b2});

  Tensor x3 = random_tensor({1, 3, 4, 3, 1}, DType::f64, -1, 1, 71);
  Tensor q1 = random_tensor({2, 1, 1, 1, 2}, DType::f64, -1, 1, 72),
         c1 = random_tensor({2}, DType::f64, -1, 1, 73);
  Tensor q2 = random_tensor({1, 2, 1, 1, 2}, DType::f64, -1, 1, 74),
         c2 = random_tensor({2}, DType::f64, -1, 1, 75);
  Tensor q3 = random_tensor({1, 1, 2, 1, 2}, DType::f64, -1, 1, 76),
         c3 = random_tensor({2}, DType::f64, -1, 1, 77);
  ConvOptions v3{};
  Ref s1 = ref_conv(x3.to_vector<double>(), x3.shape(), q1.to_vector<double>(), q1.shape(), v3);
  for (size_t i = 0; i < s1.v.size(); ++i) s1.v[i] += c1.to_vector<double>()[i % 2];
  ConvOptions v3g = v3;
  v3g.feature_group_size = 2;
  Ref s2 = ref_conv(s1.v, s1.shape, q2.to_vector<double>(), q2.shape(), v3g);
  for (size_t i = 0; i < s2.v.size(); ++i) s2.v[i] += c2.to_vector<double>()[i % 2];
  Ref s3 = ref_conv(s2.v, s2.shape, q3.to_vector<double>(), q3.shape(), v3g);
  for (size_t i = 0; i < s3.v.size(); ++i) s3.v[i] += c3.to_vector<double>()[i % 2];
  test::check_close(layers::separable_conv3d(x3, q1, c1, q2, c2, q3, c3, v3), s3.v, s3.shape,
                    conv_tol(DType::f64));
}

TEST_CASE("conv layers reject bad shapes and options with the layer's name", "[layers][errors]") {
  Tensor x = zeros({2, 5, 5, 3});
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 2, 4})), "conv: input [2, 5, 5, 3] has 3 channels");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({7, 3, 3, 4})), "larger than the padded input");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 4})),
                           "kernel [3, 3, 4] must have the input's rank 4");
  AXON_REQUIRE_THROWS_WITH(layers::conv(zeros({5, 3}), zeros({3, 3})), "must have rank 3, 4 or 5");
  AXON_REQUIRE_THROWS_WITH(
      layers::conv(zeros({1, 4, 4, 4}), zeros({3, 3, 2, 3}), Tensor(), ConvOptions{.feature_group_size = 2}),
      "feature_group_size 2 does not divide");
  AXON_REQUIRE_THROWS_WITH(
      layers::conv(x, zeros({3, 3, 1, 4}), Tensor(), ConvOptions{.feature_group_size = 2}),
      "3 channels but kernel [3, 3, 1, 4] expects 2");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 3, 4}), zeros({3})),
                           "bias f32[3] on cpu must have shape [4]");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 3, 4}, DType::f64)), "must have the same dtype");
  AXON_REQUIRE_THROWS_WITH(layers::conv(zeros({2, 5, 5, 3}, DType::i32), zeros({3, 3, 3, 4}, DType::i32)),
                           "must be floating point");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 3, 4}), Tensor(), ConvOptions{.strides = {1, 2, 3}}),
                           "strides has 3 values for 2 spatial dimensions");
  AXON_REQUIRE_THROWS_WITH(
      layers::conv(x, zeros({3, 3, 3, 4}), Tensor(), ConvOptions{.kernel_dilation = {0}}),
      "kernel_dilation must be positive");
  AXON_REQUIRE_THROWS_WITH(layers::conv(x, zeros({3, 3, 3, 4}), Tensor(), ConvOptions{.padding = {{1, 1}}}),
                           "explicit padding has 1 (lo, hi) pairs");
  AXON_REQUIRE_THROWS_WITH(
      layers::conv(x, zeros({3, 3, 3, 4}), Tensor(), ConvOptions{.channels = Channels::first}),
      "channels first");
  AXON_REQUIRE_THROWS_WITH(layers::depthwise_conv(x, zeros({3, 3, 2, 6})),
                           "depthwise_conv: input [2, 5, 5, 3] has 3");
  AXON_REQUIRE_THROWS_WITH(layers::conv_transpose(x, zeros({3, 3, 4})), "conv_transpose: kernel");
  AXON_REQUIRE_THROWS_WITH(
      layers::separable_conv2d(zeros({1, 4, 2}), zeros({3, 1, 2}), Tensor(), zeros({1, 3, 2}), Tensor()),
      "separable_conv2d: input f32[1, 4, 2] on cpu must have rank 4");
  AXON_REQUIRE_THROWS_WITH(conv_backward_data(zeros({2, 2, 2, 4}), zeros({3, 3, 3, 4}), {2, 5, 5, 3}),
                           "conv_backward_data: grad_output f32[2, 2, 2, 4] on cpu does not match");
}
