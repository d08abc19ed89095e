// The CPU's f32 convolutions on oneDNN (issue 17): forced onto oneDNN and onto im2col + OpenBLAS
// in turn, forward and both adjoints against float64 loops and against each other, gradients by
// autograd and by exact central differences (conv is linear in each argument), odd shapes (batches
// that split unevenly over the threads, 1-D / 3-D, strides, asymmetric padding, kernel dilation,
// groups), the problems oneDNN cannot run (input dilation, negative padding, f64) falling back to
// im2col, and the automatic choice. The run counters prove which path ran.
#include <axon/conv.hpp>

#include "conv_reference.hpp"
#include "harness.hpp"

using namespace axon;
using namespace test::conv_ref;
using test::random_tensor;
using PathScope = test::ConvPathScope;

namespace {

std::vector<Case> cases() {
  using P = Padding;
  return {
      {{3, 11, 5}, {3}, 7, {.strides = {2}, .padding = P::same()}},
      {{5, 28, 28, 1}, {3, 3}, 32, {.padding = P::same()}},  // W2's first layer, 5 items over the threads
      {{3, 14, 14, 32}, {3, 3}, 64, {.padding = P::same()}},
      {{1, 9, 10, 6}, {3, 2}, 5, {.padding = {{2, 0}, {1, 3}}, .kernel_dilation = {2, 1}}},
      {{2, 13, 11, 4}, {3, 3}, 8, {.strides = {2, 3}}},
      {{2, 7, 7, 12}, {3, 3}, 6, {.padding = P::same(), .feature_group_size = 3}},
      {{2, 32, 32, 3}, {7, 7}, 16, {.strides = {2}, .padding = {{3, 3}, {3, 3}}}},  // a ResNet stem
      {{3, 8, 8, 16}, {1, 1}, 24, {.strides = {2}}},                                // a projection
      {{2, 4, 5, 6, 3}, {2, 3, 2}, 4, {.strides = {1, 2, 1}, .padding = P::same()}},
  };
}

// f32 sums of up to a few hundred products of values in [-1, 1].
const test::Tol kTol{1e-4, 2e-4};

struct Outputs {
  Tensor y, dx, dw;
};
Outputs run_all(const Tensor& x, const Tensor& w, const Tensor& dy, const ConvOptions& o) {
  return {conv(x, w, o), conv_backward_data(dy, w, x.shape(), o), conv_backward_filter(x, dy, w.shape(), o)};
}

}  // namespace

TEST_CASE("oneDNN convolutions match float64 loops and the im2col path, forward and both adjoints",
          "[layers][ops][onednn]") {
  if (!cpu_conv_has_onednn()) AXON_SKIP("built without oneDNN: skipped");
  uint64_t seed = 7100;
  for (const Case& c : cases()) {
    INFO(describe_case(c));
    Tensor x = random_tensor(c.x, DType::f32, -1, 1, ++seed);
    Tensor w = random_tensor(kernel_shape(c), DType::f32, -1, 1, ++seed);
    const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
    const Ref r = ref_conv(xv, x.shape(), wv, w.shape(), c.o);
    Tensor dy = random_tensor(r.shape, DType::f32, -1, 1, ++seed);
    const RefGrads rg = ref_conv_grads(xv, x.shape(), wv, w.shape(), dy.to_vector<double>(), c.o);

    const CpuConvRuns before = cpu_conv_runs();
    Outputs d;
    {
      PathScope p(CpuConvPath::onednn);
      d = run_all(x, w, dy, c.o);
    }
    const CpuConvRuns mid = cpu_conv_runs();
    CHECK(mid.onednn - before.onednn == 3);
    CHECK(mid.im2col == before.im2col);
    test::check_close(d.y, r.v, r.shape, kTol);
    test::check_close(d.dx, rg.dx, x.shape(), kTol);
    test::check_close(d.dw, rg.dw, w.shape(), kTol);

    Outputs i;
    {
      PathScope p(CpuConvPath::im2col);
      i = run_all(x, w, dy, c.o);
    }
    CHECK(cpu_conv_runs().im2col - mid.im2col == 3);
    test::check_close(d.y, i.y, kTol);
    test::check_close(d.dx, i.dx, kTol);
    test::check_close(d.dw, i.dw, kTol);
  }
}

// L(x, w) = sum(conv(x, w) * r) is linear in x and in w, so a central difference with any step is
// its directional derivative up to rounding: (L(x + v) - L(x - v)) / 2 = <dL/dx, v>.
TEST_CASE("oneDNN convolution gradients match float64 loops and central differences", "[layers][autograd][onednn]") {
  if (!cpu_conv_has_onednn()) AXON_SKIP("built without oneDNN: skipped");
  PathScope p(CpuConvPath::onednn);
  uint64_t seed = 7300;
  for (const Case& c : cases()) {
    INFO(describe_case(c));
    Tensor x = random_tensor(c.x, DType::f32, -1, 1, ++seed);
    Tensor w = random_tensor(kernel_shape(c), DType::f32, -1, 1, ++seed);
    const Shape ys = conv(x, w, c.o).shape();
    Tensor r = random_tensor(ys, DType::f32, -1, 1, ++seed);
    auto loss = [&](const std::vector<Tensor>& q) { return sum(mul(conv(q[0], q[1], c.o), r)); };
    const CpuConvRuns before = cpu_conv_runs();
    auto [value, g] = value_and_grad(loss, std::vector<Tensor>{x, w});
    CHECK(cpu_conv_runs().onednn - before.onednn == 3);  // forward, backward data, backward filter
    const RefGrads rg =
        ref_conv_grads(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), r.to_vector<double>(), c.o);
    test::check_close(g[0], rg.dx, x.shape(), kTol);
    test::check_close(g[1], rg.dw, w.shape(), kTol);
    for (int arg = 0; arg < 2; ++arg) {
      const Tensor& t = arg == 0 ? x : w;
      Tensor v = random_tensor(t.shape(), DType::f32, -0.5, 0.5, ++seed);
      std::vector<Tensor> plus{x, w}, minus{x, w};
      plus[arg] = add(t, v);
      minus[arg] = sub(t, v);
      const double diff = (loss(plus).item<double>() - loss(minus).item<double>()) / 2;
      const double dot = sum(mul(cast(g[arg], DType::f64), cast(v, DType::f64))).item<double>();
      INFO("argument " << arg);
      CHECK(diff == Catch::Approx(dot).epsilon(1e-3).margin(1e-3));
    }
  }
}

TEST_CASE("convolutions oneDNN cannot run fall back to im2col when oneDNN is forced", "[layers][ops][onednn]") {
  using P = Padding;
  PathScope p(CpuConvPath::onednn);
  const std::vector<std::pair<Case, DType>> cs = {
      {{{2, 5, 6, 3}, {3, 3}, 4, {.padding = P::same(), .input_dilation = {2, 1}}}, DType::f32},
      {{{1, 7, 7, 2}, {2, 2}, 3, {.padding = {{-1, 0}, {0, -2}}}}, DType::f32},
      {{{2, 6, 6, 3}, {3, 3}, 4, {.padding = P::same()}}, DType::f64},
  };
  uint64_t seed = 7500;
  for (const auto& [c, dt] : cs) {
    INFO(describe_case(c) << " " << dtype_name(dt));
    Tensor x = random_tensor(c.x, dt, -1, 1, ++seed);
    Tensor w = random_tensor(kernel_shape(c), dt, -1, 1, ++seed);
    const Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), c.o);
    const CpuConvRuns before = cpu_conv_runs();
    test::check_close(conv(x, w, c.o), r.v, r.shape, dt == DType::f64 ? test::Tol{1e-10, 1e-12} : kTol);
    const CpuConvRuns after = cpu_conv_runs();
    CHECK(after.onednn == before.onednn);
    CHECK(after.im2col - before.im2col == 1);
  }
}

TEST_CASE("the automatic CPU convolution path times both once per shape and then runs one", "[layers][ops][onednn]") {
  PathScope p(CpuConvPath::automatic);
  const Case c{{3, 10, 9, 8}, {3, 3}, 12, {.strides = {1, 2}, .padding = Padding::same()}};
  Tensor x = random_tensor(c.x, DType::f32, -1, 1, 7701);
  Tensor w = random_tensor(kernel_shape(c), DType::f32, -1, 1, 7702);
  const Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), c.o);
  auto total = [] {
    const CpuConvRuns n = cpu_conv_runs();
    return n.im2col + n.onednn;
  };
  const CpuConvRuns first = cpu_conv_runs();
  test::check_close(conv(x, w, c.o), r.v, r.shape, kTol);
  const CpuConvRuns second = cpu_conv_runs();
  if (cpu_conv_has_onednn()) {
    CHECK(second.onednn - first.onednn >= 2);  // a warm-up and at least one timed call
    CHECK(second.im2col - first.im2col >= 1);
  } else {
    CHECK(second.im2col - first.im2col == 1);
  }
  for (int i = 0; i < 3; ++i) {
    const int64_t t0 = total();
    test::check_close(conv(x, w, c.o), r.v, r.shape, kTol);
    CHECK(total() - t0 == 1);
  }
  // Outputs under 4x4 pixels are left to im2col without timing oneDNN.
  const Case tiny{{4, 2, 2, 16}, {3, 3}, 8, {.padding = Padding::same()}};
  Tensor xt = random_tensor(tiny.x, DType::f32, -1, 1, 7703);
  Tensor wt = random_tensor(kernel_shape(tiny), DType::f32, -1, 1, 7704);
  const Ref rt = ref_conv(xt.to_vector<double>(), xt.shape(), wt.to_vector<double>(), wt.shape(), tiny.o);
  const CpuConvRuns before_tiny = cpu_conv_runs();
  test::check_close(conv(xt, wt, tiny.o), rt.v, rt.shape, kTol);
  CHECK(cpu_conv_runs().onednn == before_tiny.onednn);
  CHECK(cpu_conv_runs().im2col - before_tiny.im2col == 1);
}
