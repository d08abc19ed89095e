// axon::onnx::import_model on small hand-built ONNX graphs: each operator against values computed here
// (by hand or by a direct formula in ONNX's own layout), parameters and training, unsupported
// operators and hostile files. The five torch.onnx exports are checked against PyTorch by .ci/onnx-import.
#include <cmath>
#include <functional>
#include <fstream>

#include <axon/onnx.hpp>

#include "harness.hpp"
#include "onnx_proto_builder.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::OnnxGraph;
using axon::test::set_attr;
using Proto = ::onnx::TensorProto;

namespace {

constexpr test::Tol kTol{1e-5, 1e-6};

axon::onnx::Imported load(const OnnxGraph& g, const std::string& tag) { return axon::onnx::import_model(g.save(tag)); }

Tensor run(const OnnxGraph& g, const std::string& tag, const Tensor& x) {
  const axon::onnx::Imported m = load(g, tag);
  return predict(m.model, m.params, x);
}

std::vector<float> values(const Tensor& t) { return t.contiguous().to_vector<float>(); }

std::vector<double> as_double(const Tensor& t) {
  const std::vector<float> v = values(t);
  return {v.begin(), v.end()};
}

Tensor tensor(const std::vector<float>& v, const Shape& s) { return from_vector<float>(v, s); }

}  // namespace

TEST_CASE("onnx import: Gemm with transB, alpha, beta and Relu", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 3}).output("y");
  g.init("w", {1, 0, -1, 2, 1, 0}, {2, 3}).init("b", {0.5f, -4}, {2});
  auto& gemm = g.node("Gemm", {"x", "w", "b"}, {"h"});
  set_attr(gemm, "transB", int64_t{1});
  set_attr(gemm, "alpha", 2.f);
  set_attr(gemm, "beta", 0.5f);
  g.node("Relu", {"h"}, {"y"});
  // h = 2 x W^T + 0.5 b: row (1, 2, 3) -> 2 (1 - 3, 2 + 2) + (0.25, -2) = (-3.75, 6)
  const Tensor y = run(g, "gemm", tensor({1, 2, 3, 0, 0, 1}, {2, 3}));
  check_close(y, {0, 6, 0, 0}, {2, 2}, kTol);  // row 2: 2 (-1, 0) + (0.25, -2) -> relu 0, 0
}

TEST_CASE("onnx import: MatMul and Add keep a symbolic batch dim", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 2}).output("y");
  g.init("w", {1, 2, 3, 4, 5, 6}, {2, 3}).init("b", {1, 1, 1}, {3});
  g.node("MatMul", {"x", "w"}, {"h"});
  g.node("Add", {"b", "h"}, {"y"});  // the initializer first, as torch.onnx writes Linear
  const axon::onnx::Imported m = load(g, "matmul");
  CHECK(m.model.output_shape() == Shape{-1, 3});
  const Tensor y = predict(m.model, m.params, tensor({1, 0, 0, 1, 1, 1, 2, 0, 0, 2}, {5, 2}));
  check_close(y, {2, 3, 4, 5, 6, 7, 6, 8, 10, 3, 5, 7, 9, 11, 13}, {5, 3}, kTol);
}

// Direct cross-correlation in NCHW with groups, strides, dilations and (lo, hi) padding.
static std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t group,
                                      std::array<int64_t, 2> stride, std::array<int64_t, 2> dil,
                                      std::array<int64_t, 4> pads, Shape& out_shape) {
  const auto xv = values(x), wv = values(w), bv = values(b);
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
  const int64_t m = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  const int64_t oh = (h + pads[0] + pads[2] - (kh - 1) * dil[0] - 1) / stride[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - (kw - 1) * dil[1] - 1) / stride[1] + 1;
  out_shape = {n, m, oh, ow};
  std::vector<double> out;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = bv[o];
          const int64_t grp = o / (m / group);
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t bb = 0; bb < kw; ++bb) {
                const int64_t r = i * stride[0] - pads[0] + a * dil[0], q = j * stride[1] - pads[1] + bb * dil[1];
                if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                s += xv[((in * c + grp * cg + ci) * h + r) * wd + q] * wv[((o * cg + ci) * kh + a) * kw + bb];
              }
          out.push_back(s);
        }
  (void)c;
  return out;
}

TEST_CASE("onnx import: Conv with groups, strides, dilations, pads and auto_pad", "[onnx][import]") {
  const Tensor x = test::random_tensor({2, 4, 7, 6}, DType::f32, -1, 1, 3);
  const Tensor w = test::random_tensor({6, 2, 3, 2}, DType::f32, -1, 1, 4);
  const Tensor b = test::random_tensor({6}, DType::f32, -1, 1, 5);
  SECTION("explicit pads") {
    OnnxGraph g;
    g.input("x", {-1, 4, 7, 6}).output("y").init("w", values(w), {6, 2, 3, 2}).init("b", values(b), {6});
    auto& c = g.node("Conv", {"x", "w", "b"}, {"y"});
    set_attr(c, "group", int64_t{2});
    set_attr(c, "strides", std::vector<int64_t>{2, 1});
    set_attr(c, "dilations", std::vector<int64_t>{1, 2});
    set_attr(c, "pads", std::vector<int64_t>{1, 0, 2, 1});
    Shape s;
    const auto want = naive_conv(x, w, b, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}, s);
    check_close(run(g, "conv", x), want, s, {1e-5, 1e-5});
  }
  SECTION("SAME_UPPER puts the odd padding cell at the end") {
    OnnxGraph g;
    g.input("x", {-1, 4, 7, 6}).output("y").init("w", values(w), {6, 2, 3, 2}).init("b", values(b), {6});
    auto& c = g.node("Conv", {"x", "w", "b"}, {"y"});
    set_attr(c, "group", int64_t{2});
    set_attr(c, "auto_pad", std::string("SAME_UPPER"));
    Shape s;
    const auto want = naive_conv(x, w, b, 2, {1, 1}, {1, 1}, {1, 0, 1, 1}, s);  // kernel 3x2: (1, 1) and (0, 1)
    check_close(run(g, "conv_same", x), want, s, {1e-5, 1e-5});
  }
}

TEST_CASE("onnx import: MaxPool ceil_mode and AveragePool count_include_pad", "[onnx][import]") {
  const Tensor x = tensor({1, 2, 3, 4, 5}, {1, 1, 5});
  for (int64_t ceil : {0, 1}) {
    OnnxGraph g;
    g.input("x", {1, 1, 5}).output("y");
    auto& p = g.node("MaxPool", {"x"}, {"y"});
    set_attr(p, "kernel_shape", std::vector<int64_t>{2});
    set_attr(p, "strides", std::vector<int64_t>{2});
    set_attr(p, "ceil_mode", ceil);
    if (ceil)
      check_close(run(g, "maxpool_ceil", x), {2, 4, 5}, {1, 1, 3}, kTol);
    else
      check_close(run(g, "maxpool", x), {2, 4}, {1, 1, 2}, kTol);
  }
  const Tensor x3 = tensor({1, 2, 3}, {1, 1, 3});
  for (int64_t include : {0, 1}) {
    OnnxGraph g;
    g.input("x", {1, 1, 3}).output("y");
    auto& p = g.node("AveragePool", {"x"}, {"y"});
    set_attr(p, "kernel_shape", std::vector<int64_t>{2});
    set_attr(p, "pads", std::vector<int64_t>{1, 1});
    set_attr(p, "count_include_pad", include);
    const Tensor y = run(g, "avgpool", x3);
    if (include)
      check_close(y, {0.5, 1.5, 2.5, 1.5}, {1, 1, 4}, kTol);
    else
      check_close(y, {1, 1.5, 2.5, 3}, {1, 1, 4}, kTol);
  }
}

TEST_CASE("onnx import: GlobalAveragePool, Flatten, Softmax", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 2, 2, 2}).output("y");
  g.node("GlobalAveragePool", {"x"}, {"p"});  // [N, 2, 1, 1]
  auto& f = g.node("Flatten", {"p"}, {"f"});
  set_attr(f, "axis", int64_t{1});
  g.node("Softmax", {"f"}, {"y"});
  const Tensor y = run(g, "gap", tensor({1, 1, 1, 1, 2, 2, 2, 2}, {1, 2, 2, 2}));
  const double e = std::exp(1.0);
  check_close(y, {1 / (1 + e), e / (1 + e)}, {1, 2}, kTol);
}

TEST_CASE("onnx import: BatchNormalization in inference and train mode", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 2, 2}).output("y");
  g.init("scale", {1, 2}, {2}).init("bias", {0, 1}, {2}).init("mean", {1, -1}, {2}).init("var", {4, 1}, {2});
  auto& bn = g.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
  set_attr(bn, "epsilon", 0.f);
  set_attr(bn, "momentum", 0.75f);
  const axon::onnx::Imported m = load(g, "bn");
  CHECK(is_state(m.model, "BatchNormalization_1", "mean"));
  CHECK_FALSE(is_state(m.model, "BatchNormalization_1", "scale"));
  const Tensor x = tensor({3, 5, 0, 2}, {1, 2, 2});
  // channel 0: (x - 1) / 2; channel 1: 2 (x + 1) + 1
  check_close(predict(m.model, m.params, x), {1, 2, 3, 7}, {1, 2, 2}, kTol);
  const ForwardResult r = apply(m.model, m.params, x, {.mode = Mode::train});
  // batch means 4 and 1 with unbiased variances 2 and 2: running = 0.75 old + 0.25 batch
  check_close(r.state.at("BatchNormalization_1").at("mean"), {1.75, -0.5}, {2}, kTol);
  check_close(r.state.at("BatchNormalization_1").at("var"), {3.5, 1.25}, {2}, kTol);
}

TEST_CASE("onnx import: LayerNormalization over one and over several trailing axes", "[onnx][import]") {
  for (int64_t axis : {-1, 1}) {
    OnnxGraph g;
    g.input("x", {-1, 2, 2}).output("y");
    const bool several = axis == 1;
    g.init("s", several ? std::vector<float>{1, 2, 3, 4} : std::vector<float>{1, 2}, several ? std::vector<int64_t>{2, 2} : std::vector<int64_t>{2});
    auto& ln = g.node("LayerNormalization", {"x", "s"}, {"y"});
    set_attr(ln, "axis", axis);
    set_attr(ln, "epsilon", 0.f);
    const Tensor y = run(g, "ln", tensor({1, 3, 5, 7}, {1, 2, 2}));
    if (several)  // mean 4, variance 5 over all four
      check_close(y, {-3 / std::sqrt(5.0), -2 / std::sqrt(5.0), 3 / std::sqrt(5.0), 12 / std::sqrt(5.0)}, {1, 2, 2}, kTol);
    else  // per row: (-1, 1) scaled by (1, 2)
      check_close(y, {-1, 2, -1, 2}, {1, 2, 2}, kTol);
  }
}

TEST_CASE("onnx import: Reshape, Transpose, Concat, Squeeze, Unsqueeze, Slice, Gather", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 6}).output("y");
  g.init_i64("shape", {0, 3, -1}, {3}).init_i64("perm", {}, {0});
  g.init_i64("starts", {-2, 0}, {2}).init_i64("ends", {1000, 3}, {2}).init_i64("axes", {1, 2}, {2});
  g.init_i64("steps", {1, 2}, {2}).init_i64("idx", {-1, 0}, {2}).init_i64("ax0", {0}, {1});
  g.node("Reshape", {"x", "shape"}, {"r"});  // [N, 3, 2]
  auto& t = g.node("Transpose", {"r"}, {"t"});
  set_attr(t, "perm", std::vector<int64_t>{0, 2, 1});  // [N, 2, 3]
  g.node("Slice", {"t", "starts", "ends", "axes", "steps"}, {"s"});  // [N, 2, 2]: columns 0 and 2
  auto& ga = g.node("Gather", {"s", "idx"}, {"ga"});  // rows -1 and 0 swapped
  set_attr(ga, "axis", int64_t{1});
  g.node("Unsqueeze", {"ga", "ax0"}, {"u"});  // [1, N, 2, 2]
  g.node("Squeeze", {"u", "ax0"}, {"q"});
  auto& c = g.node("Concat", {"q", "ga"}, {"y"});
  set_attr(c, "axis", int64_t{-1});
  // x = 0..5: r = [[0, 1], [2, 3], [4, 5]], t = [[0, 2, 4], [1, 3, 5]], s = [[0, 4], [1, 5]],
  // ga = [[1, 5], [0, 4]]
  const Tensor y = run(g, "shape_ops", tensor({0, 1, 2, 3, 4, 5}, {1, 6}));
  check_close(y, {1, 5, 1, 5, 0, 4, 0, 4}, {1, 2, 4}, kTol);
}

TEST_CASE("onnx import: shapes computed from Shape run for every batch size", "[onnx][import]") {
  // torch.onnx's dynamic-batch flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])).
  OnnxGraph g;
  g.input("x", {-1, 2, 3}).output("y");
  g.init_i64("zero", {0}, {}).init_i64("ax0", {0}, {1}).init_i64("minus1", {-1}, {1});
  g.node("Shape", {"x"}, {"s"});
  auto& ga = g.node("Gather", {"s", "zero"}, {"n"});
  set_attr(ga, "axis", int64_t{0});
  g.node("Unsqueeze", {"n", "ax0"}, {"n1"});
  auto& c = g.node("Concat", {"n1", "minus1"}, {"shape"});
  set_attr(c, "axis", int64_t{0});
  g.node("Reshape", {"x", "shape"}, {"y"});
  const axon::onnx::Imported m = load(g, "dyn_shape");
  CHECK(m.model.output_shape() == Shape{-1, 6});
  for (int64_t n : {1, 4}) {
    const Tensor x = arange(0, static_cast<double>(6 * n)).reshape({n, 2, 3});
    CHECK(predict(m.model, m.params, x).shape() == Shape{n, 6});
  }
  SECTION("a static shape folds to a constant") {
    OnnxGraph s;
    s.input("x", {2, 3}).output("y");
    s.node("Shape", {"x"}, {"sh"});
    s.node("Reshape", {"x", "sh"}, {"y"});
    const axon::onnx::Imported f = load(s, "static_shape");
    CHECK(get_op_counts(f.model).count("onnx.Shape") == 0);
  }
}

// ONNX's LSTM equations in its own layout (gates i, o, f, c), one direction, zero initial state.
static Tensor lstm_reference(const Tensor& x, const Tensor& w, const Tensor& r, const Tensor& b, int64_t h, bool reverse,
                             Tensor* last) {
  const int64_t steps = x.shape()[0];
  Tensor ht = zeros({x.shape()[1], h}), ct = zeros({x.shape()[1], h});
  std::vector<Tensor> ys(steps);
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? steps - 1 - k : k;
    const Tensor gates = add(add(matmul(x.select(0, t), w.t()), matmul(ht, r.t())),
                             add(b.slice(0, 0, 4 * h), b.slice(0, 4 * h, 8 * h)));
    auto gate = [&](int64_t g) { return gates.slice(1, g * h, (g + 1) * h); };
    ct = add(mul(sigmoid(gate(2)), ct), mul(sigmoid(gate(0)), tanh(gate(3))));
    ht = mul(sigmoid(gate(1)), tanh(ct));
    ys[t] = ht;
  }
  *last = ht;
  return stack(ys, 0);
}

// ONNX's GRU with linear_before_reset = 1 (gates z, r, h).
static Tensor gru_reference(const Tensor& x, const Tensor& w, const Tensor& r, const Tensor& b, int64_t h) {
  const int64_t steps = x.shape()[0];
  Tensor ht = zeros({x.shape()[1], h});
  std::vector<Tensor> ys;
  for (int64_t t = 0; t < steps; ++t) {
    const Tensor xi = add(matmul(x.select(0, t), w.t()), b.slice(0, 0, 3 * h));
    const Tensor hi = add(matmul(ht, r.t()), b.slice(0, 3 * h, 6 * h));
    auto part = [&](const Tensor& v, int64_t g) { return v.slice(1, g * h, (g + 1) * h); };
    const Tensor z = sigmoid(add(part(xi, 0), part(hi, 0))), rr = sigmoid(add(part(xi, 1), part(hi, 1)));
    const Tensor n = tanh(add(part(xi, 2), mul(rr, part(hi, 2))));
    ht = add(mul(rsub(1.0, z), n), mul(z, ht));
    ys.push_back(ht);
  }
  return stack(ys, 0);
}

TEST_CASE("onnx import: LSTM (bidirectional) and GRU map ONNX's gate order", "[onnx][import]") {
  const int64_t steps = 4, batch = 2, in = 3, h = 5;
  const Tensor x = test::random_tensor({steps, batch, in}, DType::f32, -1, 1, 11);
  SECTION("LSTM") {
    const Tensor w = test::random_tensor({2, 4 * h, in}, DType::f32, -0.5, 0.5, 12);
    const Tensor r = test::random_tensor({2, 4 * h, h}, DType::f32, -0.5, 0.5, 13);
    const Tensor b = test::random_tensor({2, 8 * h}, DType::f32, -0.5, 0.5, 14);
    OnnxGraph g;
    g.input("x", {steps, -1, in}).output("yh");
    g.init("w", values(w), {2, 4 * h, in}).init("r", values(r), {2, 4 * h, h}).init("b", values(b), {2, 8 * h});
    auto& n = g.node("LSTM", {"x", "w", "r", "b"}, {"y", "yh"});
    set_attr(n, "hidden_size", h);
    set_attr(n, "direction", std::string("bidirectional"));
    g.node("Add", {"yh", "yh"}, {"twice"});  // keeps Y_h used by a layer too
    const axon::onnx::Imported m = load(g, "lstm");
    Tensor last_f, last_b;
    const Tensor yf = lstm_reference(x, w.select(0, 0), r.select(0, 0), b.select(0, 0), h, false, &last_f);
    const Tensor yb = lstm_reference(x, w.select(0, 1), r.select(0, 1), b.select(0, 1), h, true, &last_b);
    check_close(predict(m.model, m.params, x), stack({last_f, last_b}, 0), kTol);
    // Y through a second graph output is not possible (one output): check it through a model cut at the node.
    OnnxGraph gy = g;
    gy.proto().mutable_graph()->mutable_output(0)->set_name("y");
    const axon::onnx::Imported my = load(gy, "lstm_y");
    check_close(predict(my.model, my.params, x), stack({yf, yb}, 1), kTol);
  }
  SECTION("GRU") {
    const Tensor w = test::random_tensor({1, 3 * h, in}, DType::f32, -0.5, 0.5, 15);
    const Tensor r = test::random_tensor({1, 3 * h, h}, DType::f32, -0.5, 0.5, 16);
    const Tensor b = test::random_tensor({1, 6 * h}, DType::f32, -0.5, 0.5, 17);
    OnnxGraph g;
    g.input("x", {steps, -1, in}).output("y");
    g.init("w", values(w), {1, 3 * h, in}).init("r", values(r), {1, 3 * h, h}).init("b", values(b), {1, 6 * h});
    auto& n = g.node("GRU", {"x", "w", "r", "b"}, {"y"});
    set_attr(n, "hidden_size", h);
    set_attr(n, "linear_before_reset", int64_t{1});
    const Tensor want = gru_reference(x, w.select(0, 0), r.select(0, 0), b.select(0, 0), h).unsqueeze(1);
    check_close(run(g, "gru", x), want, kTol);
    auto& attr = *n.mutable_attribute(1);
    attr.set_i(0);
    AXON_REQUIRE_THROWS_WITH(load(g, "gru_lbr0"), "linear_before_reset = 0 is not supported");
  }
}

TEST_CASE("onnx import: Resize's modes and coordinate transformations", "[onnx][import]") {
  const Tensor x = tensor({0, 1, 2, 3}, {1, 1, 1, 4});
  auto resize = [&](const std::string& mode, const std::string& transform, const std::string& tag) {
    OnnxGraph g;
    g.input("x", {1, 1, 1, 4}).output("y").init("scales", {1, 1, 1, 2}, {4});
    auto& n = g.node("Resize", {"x", "", "scales"}, {"y"});
    set_attr(n, "mode", mode);
    set_attr(n, "coordinate_transformation_mode", transform);
    if (mode == "nearest") set_attr(n, "nearest_mode", std::string("floor"));
    if (mode == "cubic") set_attr(n, "cubic_coeff_a", -0.5f);
    return run(g, tag, x);
  };
  // F.interpolate(scale_factor=2) in PyTorch: nearest; linear with align_corners False and True.
  check_close(resize("nearest", "asymmetric", "rs_nearest"), {0, 0, 1, 1, 2, 2, 3, 3}, {1, 1, 1, 8}, kTol);
  check_close(resize("linear", "pytorch_half_pixel", "rs_linear"), {0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3},
              {1, 1, 1, 8}, kTol);
  std::vector<double> corners;
  for (int i = 0; i < 8; ++i) corners.push_back(i * 3.0 / 7.0);
  check_close(resize("linear", "align_corners", "rs_corners"), corners, {1, 1, 1, 8}, kTol);
  // Keys' cubic with a = -0.5 reproduces a linear ramp where all four taps are inside (outputs 3, 4).
  const std::vector<float> cubic = values(resize("cubic", "align_corners", "rs_cubic"));
  for (int i = 3; i < 5; ++i) CHECK(cubic[i] == Catch::Approx(i * 3.0 / 7.0).margin(1e-5));
  CHECK(cubic[0] == Catch::Approx(0).margin(1e-6));
  CHECK(cubic[7] == Catch::Approx(3).margin(1e-6));
}

TEST_CASE("onnx import: Einsum, explicit with an ellipsis and implicit", "[onnx][import]") {
  const Tensor x = test::random_tensor({3, 2, 4}, DType::f32, -1, 1, 21);
  const Tensor w = test::random_tensor({4, 5}, DType::f32, -1, 1, 22);
  for (const std::string eq : {"...i,ij->...j", "abi, ij", "bti,ij->tbj"}) {
    OnnxGraph g;
    g.input("x", {-1, 2, 4}).output("y").init("w", values(w), {4, 5});
    set_attr(g.node("Einsum", {"x", "w"}, {"y"}), "equation", eq);
    const Tensor want = eq == "bti,ij->tbj" ? permute(matmul(x, w), {1, 0, 2}) : matmul(x, w);
    check_close(run(g, "einsum", x), want, kTol);
  }
}

TEST_CASE("onnx import: initializers are trainable params, shared ones tied, Identity copies separate", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 2}).output("y");
  g.init("w", {1, 0, 0, 1}, {2, 2});
  g.node("Identity", {"w"}, {"w_copy"});  // torch.onnx's deduplicated initializer
  g.node("MatMul", {"x", "w"}, {"a"});
  g.node("MatMul", {"a", "w"}, {"b"});  // the same initializer again: tied
  g.node("MatMul", {"b", "w_copy"}, {"y"});
  const axon::onnx::Imported m = load(g, "params");
  size_t entries = 0;
  for (const auto& [layer, ps] : m.params) entries += ps.size();
  CHECK(entries == 2);  // w (owned by the first MatMul) and w_copy
  const Tensor x = tensor({1, 2}, {1, 2});
  const Params trainable = trainable_params(m.model, m.params);
  auto [value, grads] = value_and_grad(
      [&](const Params& p) { return sum(apply(m.model, p, x, {.mode = Mode::train}).output); }, trainable);
  CHECK(value.item<float>() == Catch::Approx(3));
  // d/dw of sum(x w w c) with w = c = I: the two tied uses add up; c's gradient is separate.
  for (const auto& [layer, ps] : grads)
    for (const auto& [name, gt] : ps) CHECK(max(abs(gt)).item<float>() > 0);
  Params stepped = trainable;
  for (auto& [layer, ps] : stepped)
    for (auto& [name, t] : ps) t = sub(t, mul(grads.at(layer).at(name), 0.1));
  CHECK(sum(apply(m.model, stepped, x).output).item<float>() < value.item<float>());
}

TEST_CASE("onnx import: unsupported operators are listed in one error", "[onnx][import]") {
  OnnxGraph g;
  g.input("x", {-1, 2}).output("y");
  g.node("Relu", {"x"}, {"a"});
  g.node("Foo", {"a"}, {"b"});
  g.node("Bar", {"b"}, {"c"});
  g.node("Foo", {"c"}, {"d"});
  g.node("Baz", {"d"}, {"y"}).set_domain("com.example");
  AXON_REQUIRE_THROWS_WITH(load(g, "unsupported"), "unsupported operators: Bar, Foo, com.example.Baz");
}

TEST_CASE("onnx import: hostile files give axon::Error", "[onnx][import]") {
  AXON_REQUIRE_THROWS_WITH(axon::onnx::import_model("/nonexistent/model.onnx"), "cannot open");
  {
    const std::string path = "/tmp/axon_onnx_import_garbage.onnx";
    std::ofstream(path, std::ios::binary) << "\x08\x96\x01 this is not protobuf \xff\xff\xff\xff";
    AXON_REQUIRE_THROWS_WITH(axon::onnx::import_model(path), "not an ONNX model");
  }
  SECTION("an initializer shorter than its dims") {
    OnnxGraph g;
    g.input("x", {-1, 2}).output("y").init("w", {1, 2, 3}, {2, 2});
    g.node("MatMul", {"x", "w"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "short_init"), "holds 12 bytes (16 expected)");
  }
  SECTION("an input that is never defined") {
    OnnxGraph g;
    g.input("x", {-1, 2}).output("y");
    g.node("Add", {"x", "ghost"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "undefined"), "\"ghost\" is not defined before it is used");
  }
  SECTION("an old opset") {
    OnnxGraph g(9);
    g.input("x", {-1, 2}).output("y");
    g.node("Relu", {"x"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "opset9"), "opset 9");
  }
  SECTION("a reshape that cannot fit") {
    OnnxGraph g;
    g.input("x", {-1, 6}).output("y").init_i64("shape", {4, -1, 5}, {3});
    g.node("Reshape", {"x", "shape"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "bad_reshape"), "cannot reshape");
  }
  SECTION("a huge ConstantOfShape") {
    OnnxGraph g;
    g.input("x", {-1, 2}).output("y").init_i64("shape", {1 << 20, 1 << 20, 1 << 10}, {3});
    g.node("ConstantOfShape", {"shape"}, {"c"});
    g.node("Add", {"x", "c"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "huge"), "too many elements");
  }
  SECTION("a name assigned twice") {
    OnnxGraph g;
    g.input("x", {-1, 2}).output("y");
    g.node("Relu", {"x"}, {"y"});
    g.node("Neg", {"x"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(g, "ssa"), "output \"y\" is already defined");
  }
  SECTION("attributes out of range") {
    auto single = [](const std::string& op, const std::function<void(::onnx::NodeProto&)>& attrs) {
      OnnxGraph g;
      g.input("x", {-1, 2, 4, 4}).output("y").init("w", std::vector<float>(2 * 2 * 3 * 3, 0.1f), {2, 2, 3, 3});
      attrs(g.node(op, op == "Conv" || op == "ConvTranspose" ? std::vector<std::string>{"x", "w"} : std::vector<std::string>{"x"}, {"y"}));
      return g;
    };
    AXON_REQUIRE_THROWS_WITH(load(single("Conv", [](auto& n) { set_attr(n, "strides", std::vector<int64_t>{0, 1}); }), "h1"),
                             "strides must be positive");
    AXON_REQUIRE_THROWS_WITH(load(single("Conv", [](auto& n) { set_attr(n, "group", int64_t{0}); }), "h2"), "Conv");
    AXON_REQUIRE_THROWS_WITH(load(single("Softmax", [](auto& n) { set_attr(n, "axis", int64_t{7}); }), "h3"),
                             "axis 7 is out of range");
    AXON_REQUIRE_THROWS_WITH(load(single("Transpose", [](auto& n) { set_attr(n, "perm", std::vector<int64_t>{0, 0, 1, 2}); }), "h4"),
                             "Transpose");
    AXON_REQUIRE_THROWS_WITH(load(single("MaxPool", [](auto& n) { set_attr(n, "kernel_shape", std::vector<int64_t>{9, 9}); }), "h5"),
                             "MaxPool");
    AXON_REQUIRE_THROWS_WITH(
        load(single("ConvTranspose", [](auto& n) { set_attr(n, "strides", std::vector<int64_t>{int64_t{1} << 40, 1}); }), "h6"),
        "too many elements");
    AXON_REQUIRE_THROWS_WITH(load(single("Flatten", [](auto& n) { set_attr(n, "axis", 3.f); }), "h7"),
                             "has type FLOAT, INT expected");
    AXON_REQUIRE_THROWS_WITH(
        load(single("MaxPool",
                    [](auto& n) {
                      set_attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
                      set_attr(n, "pads", std::vector<int64_t>{int64_t{1} << 40, 0, 0, 0});
                    }),
             "h8"),
        "pads are too large");
    OnnxGraph split;
    split.input("x", {-1, 2, 4, 4}).output("y");
    split.node("Split", {"x"}, {});
    split.node("Relu", {"x"}, {"y"});
    AXON_REQUIRE_THROWS_WITH(load(split, "h9"), "the node has no output");
    OnnxGraph outer;
    outer.input("x", {-1, 2, 4, 4}).output("y").init("v", std::vector<float>(1 << 16, 1.f), {1 << 16});
    set_attr(outer.node("Einsum", {"x", "v", "v"}, {"y"}), "equation", std::string("nchw,a,b->nchwab"));
    AXON_REQUIRE_THROWS_WITH(load(outer, "h10"), "too many elements");
  }
  SECTION("every single corrupted byte of a valid model: an error or a model, never a crash") {
    OnnxGraph g;
    g.input("x", {-1, 2}).output("y").init("w", {1, 2, 3, 4}, {2, 2}).init("b", {1, 2}, {2});
    auto& gemm = g.node("Gemm", {"x", "w", "b"}, {"h"});
    set_attr(gemm, "transB", int64_t{1});
    g.node("Softmax", {"h"}, {"y"});
    std::string bytes;
    g.proto().SerializeToString(&bytes);
    const std::string path = "/tmp/axon_onnx_import_flip.onnx";
    int errors = 0, loaded = 0;
    for (size_t k = 0; k < bytes.size(); ++k) {
      std::string bad = bytes;
      bad[k] = static_cast<char>(bad[k] ^ 0x5a);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
      try {
        const axon::onnx::Imported m = axon::onnx::import_model(path);
        (void)predict(m.model, m.params, tensor({1, 2, 3, 4}, {2, 2}));
        ++loaded;
      } catch (const Error&) {
        ++errors;
      }
    }
    CHECK(errors + loaded == static_cast<int>(bytes.size()));
    CHECK(errors > 0);
  }
}

TEST_CASE("onnx import: an imported model runs on CUDA, shapes computed on the host included", "[onnx][import][cuda]") {
  AXON_REQUIRE_CUDA();
  // ConstantOfShape(Shape(x)) is made on the CPU at run time; Add must still run on the GPU.
  OnnxGraph g;
  g.input("x", {-1, 3}).output("y");
  g.init("w", {1, 2, 3, 4, 5, 6}, {2, 3}).init("b", {1, -1}, {2});
  g.node("Shape", {"x"}, {"s"});
  g.node("ConstantOfShape", {"s"}, {"zeros"});
  g.node("Add", {"x", "zeros"}, {"h"});
  set_attr(g.node("Gemm", {"h", "w", "b"}, {"y"}), "transB", int64_t{1});
  const axon::onnx::Imported m = load(g, "cuda");
  const Tensor x = test::random_tensor({4, 3}, DType::f32, -1, 1, 31);
  Params on_gpu = m.params;
  for (auto& [layer, ps] : on_gpu)
    for (auto& [name, t] : ps) t = to_device(t, Device::cuda(0));
  const Tensor y = predict(m.model, on_gpu, to_device(x, Device::cuda(0)));
  CHECK(y.is_cuda());
  check_close(to_device(y, Device::cpu()), predict(m.model, m.params, x), kTol);
}
