// fused_conv (conv, then bias + activation in one pass over its output; the backward's act' and bias
// gradient in one pass) against float64 loops, the unfused conv + add + activation, finite
// differences and the CPU on CUDA; and a model's conv + activation pair run as one fused_conv by
// apply().
#include <cmath>

#include <axon/layers/conv.hpp>

#include "conv_reference.hpp"
#include "fused_act_reference.hpp"
#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;
using namespace axon::test::conv_ref;
using namespace axon::test::fused_act;

namespace {
// conv + add + activation as separate ops, channels last or first.
Tensor unfused(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& o, FusedActivation a) {
  Tensor z = conv(x, w, o);
  if (b.defined()) z = add(z, o.channels == Channels::last ? b : b.reshape({b.size(0), 1, 1}));
  return activate(a, z);
}
// The error message that anomaly detection gives when the backward of the first op swept (the
// output's producer) returns a NaN gradient: it names that op.
std::string first_swept_op(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                           const std::vector<Tensor>& params, const Shape& out_shape) {
  autograd::DetectAnomaly guard;
  try {
    autograd::value_and_grad_flat(f, params, full(out_shape, std::nan("")));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("fused_conv forward against float64 loops: activations, bias, strides, padding", "[fused_conv]") {
  const std::vector<Case> cases{{{2, 7, 6, 3}, {3, 3}, 5, {.padding = Padding::same()}},
                                {{1, 9, 8, 2}, {3, 2}, 4, {.strides = {2, 1}, .padding = {{1, 0}, {0, 1}}}},
                                {{2, 9, 4}, {3}, 6, {.kernel_dilation = {2}}}};
  for (const Case& c : cases)
    for (FusedActivation a : kActs)
      for (DType dt : {DType::f32, DType::f64}) {
        INFO(act_name(a) << " " << dtype_name(dt) << " input " << to_string(c.x));
        Tensor x = random_tensor(c.x, dt, -1, 1, 11), w = random_tensor(kernel_shape(c), dt, -1, 1, 12);
        Tensor b = random_tensor({c.cout}, dt, -1, 1, 13);
        Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), c.o);
        const std::vector<double> bv = b.to_vector<double>();
        std::vector<double> with_bias(r.v.size()), plain(r.v.size());
        for (size_t i = 0; i < r.v.size(); ++i) {
          with_bias[i] = act_ref(a, r.v[i] + bv[i % bv.size()]);
          plain[i] = act_ref(a, r.v[i]);
        }
        const test::Tol tol = dt == DType::f32 ? test::Tol{1e-5, 1e-5} : test::Tol{1e-12, 1e-12};
        check_close(fused_conv(x, w, b, c.o, a), with_bias, r.shape, tol);
        check_close(fused_conv(x, w, Tensor(), c.o, a), plain, r.shape, tol);
      }
}

TEST_CASE("fused_conv matches conv + add + activation, values and gradients, both layouts", "[fused_conv]") {
  // 9 x 16 x 16 x 16 outputs: past the CPU epilogue's parallel split (2^15 elements).
  for (Channels ch : {Channels::last, Channels::first}) {
    const bool last = ch == Channels::last;
    Tensor x = random_tensor(last ? Shape{9, 16, 16, 3} : Shape{9, 3, 16, 16}, DType::f32, -1, 1, 21);
    Tensor w = random_tensor(last ? Shape{3, 3, 3, 16} : Shape{16, 3, 3, 3}, DType::f32, -1, 1, 22);
    Tensor b = random_tensor({16}, DType::f32, -1, 1, 23);
    Tensor t = random_tensor(last ? Shape{9, 16, 16, 16} : Shape{9, 16, 16, 16}, DType::f32, -1, 1, 24);
    const ConvOptions o{.padding = Padding::same(), .channels = ch};
    for (FusedActivation a : kActs) {
      INFO(act_name(a) << (last ? " channels last" : " channels first"));
      check_close(fused_conv(x, w, b, o, a), unfused(x, w, b, o, a), {1e-6, 1e-6});
      auto loss = [&](bool fused) {
        return [&, fused](const std::vector<Tensor>& p) {
          return sum(mul(fused ? fused_conv(p[0], p[1], p[2], o, a) : unfused(p[0], p[1], p[2], o, a), t));
        };
      };
      auto [v1, g1] = axon::value_and_grad(loss(true), std::vector<Tensor>{x, w, b});
      auto [v2, g2] = axon::value_and_grad(loss(false), std::vector<Tensor>{x, w, b});
      check_close(v1, v2, {1e-5, 1e-3});
      for (size_t i = 0; i < 3; ++i) check_close(g1[i], g2[i], {1e-4, 1e-4});
    }
  }
}

TEST_CASE("fused_conv gradients against finite differences, and grad of grad", "[fused_conv][grad]") {
  Tensor x = random_tensor({2, 5, 4, 3}, DType::f64, -1, 1, 31), w = random_tensor({3, 2, 3, 4}, DType::f64, -1, 1, 32);
  Tensor b = random_tensor({4}, DType::f64, -1, 1, 33);
  const ConvOptions o{.strides = {1, 2}, .padding = Padding::same()};
  const ConvOptions of{.strides = {1, 2}, .padding = Padding::same(), .channels = Channels::first};
  Tensor xf = x.permute({0, 3, 1, 2}).contiguous(), wf = w.permute({3, 2, 0, 1}).contiguous();
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    check_grad([&](const std::vector<Tensor>& in) { return fused_conv(in[0], in[1], in[2], o, a); }, {x, w, b});
    check_grad([&](const std::vector<Tensor>& in) { return fused_conv(in[0], in[1], Tensor(), o, a); }, {x, w});
    check_grad([&](const std::vector<Tensor>& in) { return fused_conv(in[0], in[1], in[2], of, a); }, {xf, wf, b});
    // The gradient itself differentiated (the backward's composite formulas): d/dx of sum(dL/dw * c).
    Tensor c = random_tensor(w.shape(), DType::f64, -1, 1, 34);
    auto inner = [&](bool fused) {
      return [&, fused](const std::vector<Tensor>& p) {
        Tensor gw = axon::grad(
            [&](const Tensor& wv) {
              Tensor y = fused ? fused_conv(p[0], wv, p[1], o, a) : unfused(p[0], wv, p[1], o, a);
              return sum(mul(y, y));
            },
            w);
        return sum(mul(gw, c));
      };
    };
    auto g1 = axon::grad(inner(true), std::vector<Tensor>{x, b});
    auto g2 = axon::grad(inner(false), std::vector<Tensor>{x, b});
    for (size_t i = 0; i < 2; ++i) check_close(g1[i], g2[i], {1e-10, 1e-10});
  }
}

TEST_CASE("fused_conv: 16-bit dtypes through the composite ops, empty batches, bad input", "[fused_conv]") {
  Tensor x = random_tensor({2, 5, 5, 3}, DType::bf16, -1, 1, 41), w = random_tensor({3, 3, 3, 2}, DType::bf16, -1, 1, 42);
  Tensor b = random_tensor({2}, DType::bf16, -1, 1, 43);
  check_close(fused_conv(x, w, b, {}, FusedActivation::relu), unfused(x, w, b, {}, FusedActivation::relu), {0, 0});
  CHECK(fused_conv(zeros({0, 5, 5, 3}), zeros({3, 3, 3, 2}), ones({2}), {}, FusedActivation::relu).shape() ==
        Shape{0, 3, 3, 2});
  // No input channels: the conv is zeros, so the output is act(bias).
  check_close(fused_conv(zeros({1, 2, 2, 0}), zeros({1, 1, 0, 2}), full({2}, -1.0), {}, FusedActivation::relu),
              std::vector<double>(8, 0.0), {1, 2, 2, 2}, {0, 0});
  check_close(fused_conv(zeros({1, 2, 2, 0}), zeros({1, 1, 0, 2}), full({2}, -1.0)), std::vector<double>(8, -1.0),
              {1, 2, 2, 2}, {0, 0});

  const Tensor x4 = zeros({2, 5, 5, 3}), w4 = zeros({3, 3, 3, 2});
  AXON_REQUIRE_THROWS_WITH(fused_conv(x4, w4, zeros({3})), "fused_conv: bias must have shape [2]");
  AXON_REQUIRE_THROWS_WITH(fused_conv(x4, w4, zeros({2}, DType::f64)), "fused_conv: bias must have the input's dtype");
  AXON_REQUIRE_THROWS_WITH(fused_conv(x4, zeros({3, 3, 4, 2}), Tensor()), "fused_conv: input [2, 5, 5, 3] has 3 channels");
  AXON_REQUIRE_THROWS_WITH(fused_conv(x4, zeros({3, 3, 3, 2}, DType::f64), Tensor()), "fused_conv");
  AXON_REQUIRE_THROWS_WITH(fused_conv(Tensor(), w4, Tensor()), "fused_conv");
  AXON_REQUIRE_THROWS_WITH(fused_conv(zeros({2, 5, 5, 3}, DType::i32), zeros({3, 3, 3, 2}, DType::i32), Tensor()),
                           "fused_conv: input");
  // The layer names itself.
  AXON_REQUIRE_THROWS_WITH(layers::conv(x4, w4, zeros({3}), {}, FusedActivation::relu), "conv: bias must have shape");
}

TEST_CASE("a model's conv + relu/tanh/sigmoid pair runs as one fused_conv with the unfused results",
          "[fused_conv][model]") {
  for (const char* act : {"relu", "tanh", "sigmoid", "softplus"}) {
    INFO(act);
    Model m = input("x", {-1, 8, 8, 2}) | conv(4, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = act}) |
              conv(3, {.kernel_size = {3}, .activation = act});
    Params p = init(m, {.seed = 7});
    Tensor x = random_tensor({5, 8, 8, 2}, DType::f32, -2, 2, 51);
    const ConvOptions same{.padding = Padding::same()};
    auto composite = [&](const Params& q) {
      Tensor h = activations::activate(act, add(conv(x, q.at("conv_0").at("kernel"), same), q.at("conv_0").at("bias")));
      return activations::activate(act, add(conv(h, q.at("conv_1").at("kernel")), q.at("conv_1").at("bias")));
    };
    check_close(apply(m, p, x).output, composite(p), {1e-5, 1e-5});
    check_close(predict(m, p, x), composite(p), {1e-5, 1e-5});
    auto [v1, g1] = axon::value_and_grad([&](const Params& q) { return sum(apply(m, q, x).output); }, p);
    auto [v2, g2] = axon::value_and_grad([&](const Params& q) { return sum(composite(q)); }, p);
    check_close(v1, v2, {1e-5, 1e-3});
    for (const auto& [layer, ps] : g2)
      for (const auto& [name, g] : ps) check_close(g1.at(layer).at(name), g, {1e-4, 1e-4});
    // What the tape holds: the model's last op is one fused_conv where the activation fuses, else the
    // activation's own op.
    std::vector<std::string> names;
    std::vector<Tensor> flat;
    for (const auto& [layer, ps] : p)
      for (const auto& [name, t] : ps) flat.push_back(t);
    auto f = [&](const std::vector<Tensor>& q) {
      Params pp;
      size_t k = 0;
      for (const auto& [layer, ps] : p)
        for (const auto& [name, t] : ps) pp[layer][name] = q[k++];
      return apply(m, pp, x).output;
    };
    const std::string first = first_swept_op(f, flat, Shape{5, 6, 6, 3});
    if (std::string(act) == "softplus")
      CHECK(first.find("fused_conv") == std::string::npos);
    else
      CHECK(first.find("fused_conv") != std::string::npos);
  }
}

TEST_CASE("fused_conv on CUDA matches the CPU, values and gradients", "[fused_conv][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  Tensor x = random_tensor({9, 16, 16, 3}, DType::f32, -1, 1, 61), w = random_tensor({3, 3, 3, 16}, DType::f32, -1, 1, 62);
  Tensor b = random_tensor({16}, DType::f32, -1, 1, 63), t = random_tensor({9, 16, 16, 16}, DType::f32, -1, 1, 64);
  const ConvOptions o{.padding = Padding::same()};
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    auto loss = [&](const Tensor& tt) {
      return [&, tt](const std::vector<Tensor>& p) { return sum(mul(fused_conv(p[0], p[1], p[2], o, a), tt)); };
    };
    check_close(fused_conv(x.to(gpu), w.to(gpu), b.to(gpu), o, a).to(Device::cpu()), fused_conv(x, w, b, o, a),
                {1e-4, 1e-4});
    auto gc = axon::grad(loss(t), std::vector<Tensor>{x, w, b});
    auto gg = axon::grad(loss(t.to(gpu)), std::vector<Tensor>{x.to(gpu), w.to(gpu), b.to(gpu)});
    for (size_t i = 0; i < 3; ++i) check_close(gg[i].to(Device::cpu()), gc[i], {1e-3, 1e-3});
  }
}

TEST_CASE("fused_conv on oneDNN (bias and relu in the primitive) and on im2col match float64 loops",
          "[fused_conv][onednn]") {
  if (!cpu_conv_has_onednn()) AXON_SKIP("built without oneDNN: skipped");
  // W2's two layers (batches that split unevenly over the threads), a strided one with odd sizes.
  const std::vector<Case> cases{{{5, 28, 28, 1}, {3, 3}, 32, {.padding = Padding::same()}},
                                {{3, 14, 14, 32}, {3, 3}, 64, {.padding = Padding::same()}},
                                {{2, 13, 11, 4}, {3, 3}, 8, {.strides = {2, 3}}}};
  uint64_t seed = 800;
  for (const Case& c : cases) {
    Tensor x = random_tensor(c.x, DType::f32, -1, 1, ++seed), w = random_tensor(kernel_shape(c), DType::f32, -1, 1, ++seed);
    Tensor b = random_tensor({c.cout}, DType::f32, -1, 1, ++seed);
    const Ref r = ref_conv(x.to_vector<double>(), x.shape(), w.to_vector<double>(), w.shape(), c.o);
    const std::vector<double> bv = b.to_vector<double>();
    for (CpuConvPath path : {CpuConvPath::onednn, CpuConvPath::im2col})
      for (FusedActivation a : kActs)
        for (bool with_bias : {true, false}) {
          INFO(to_string(c.x) << (path == CpuConvPath::onednn ? " oneDNN " : " im2col ") << act_name(a)
                              << (with_bias ? " bias" : ""));
          std::vector<double> expected(r.v.size());
          for (size_t i = 0; i < r.v.size(); ++i) expected[i] = act_ref(a, r.v[i] + (with_bias ? bv[i % bv.size()] : 0));
          test::ConvPathScope scope(path);
          const CpuConvRuns runs0 = cpu_conv_runs();
          Tensor y = fused_conv(x, w, with_bias ? b : Tensor(), c.o, a);
          const CpuConvRuns runs1 = cpu_conv_runs();
          CHECK((path == CpuConvPath::onednn ? runs1.onednn - runs0.onednn : runs1.im2col - runs0.im2col) == 1);
          check_close(y, expected, r.shape, {1e-4, 2e-4});
        }
  }
}

TEST_CASE("fused_conv's backward on a tall output (blocks of rows) matches conv + add + activation",
          "[fused_conv]") {
  // W2's first layer at batch 24: 18816 output rows of 32 channels, the CPU backward's row blocks.
  Tensor x = random_tensor({24, 28, 28, 1}, DType::f32, -1, 1, 71), w = random_tensor({3, 3, 1, 32}, DType::f32, -1, 1, 72);
  Tensor b = random_tensor({32}, DType::f32, -0.5, 0.5, 73), t = random_tensor({24, 28, 28, 32}, DType::f32, -1, 1, 74);
  const ConvOptions o{.padding = Padding::same()};
  for (FusedActivation a : {FusedActivation::relu, FusedActivation::none}) {
    INFO(act_name(a));
    auto loss = [&](bool fused) {
      return [&, fused](const std::vector<Tensor>& p) {
        return sum(mul(fused ? fused_conv(p[0], p[1], p[2], o, a) : unfused(p[0], p[1], p[2], o, a), t));
      };
    };
    auto g1 = axon::grad(loss(true), std::vector<Tensor>{x, w, b});
    auto g2 = axon::grad(loss(false), std::vector<Tensor>{x, w, b});
    for (size_t i = 0; i < 3; ++i) check_close(g1[i], g2[i], {1e-4, 1e-3});
  }
}
