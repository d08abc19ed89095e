// Model graphs: shape inference against the shapes apply() produces, a CNN, multi-input DAGs,
// build-time and run-time errors.
#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::random_tensor;

namespace {

// The inferred shape with unknown dims set to `batch`.
Shape concrete(Shape s, int64_t batch) {
  for (auto& d : s) d = d < 0 ? batch : d;
  return s;
}

// Builds `layer` on an input of `in` ([-1, ...]), runs it on a batch of 2 in both modes, and checks
// that apply's output has the inferred shape.
void check_inferred(const std::string& what, const Shape& in, const Layer& layer, const Shape& expected) {
  INFO(what);
  Model m = input("x", in) | layer;
  CHECK(m.output_shape() == expected);
  Params p = init(m, {.dtype = DType::f64, .seed = 1});
  Tensor x = random_tensor(concrete(in, 2), DType::f64, 0.5, 1.5, 3);
  CHECK(predict(m, p, x).shape() == concrete(expected, 2));
  Generator gen(1);
  CHECK(apply(m, p, x, {.mode = Mode::train, .generator = &gen}).output.shape() == concrete(expected, 2));
}

}  // namespace

TEST_CASE("CNN: conv same relu -> max_pool -> flatten -> dense", "[model]") {
  Model m = input("image", {-1, 28, 28, 1}) |
            conv(8, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
            max_pool({.kernel_size = {2}}) | flatten() | dense(10);
  std::vector<std::pair<std::string, Shape>> expect = {{"image", {-1, 28, 28, 1}}, {"conv_0", {-1, 28, 28, 8}},
                                                       {"relu_0", {-1, 28, 28, 8}}, {"max_pool_0", {-1, 14, 14, 8}},
                                                       {"flatten_0", {-1, 1568}},  {"dense_0", {-1, 10}}};
  auto layers = m.layers();
  REQUIRE(layers.size() == expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    CHECK(layers[i].name == expect[i].first);
    CHECK(layers[i].output_shape == expect[i].second);
  }
  for (Device d : test::devices()) {
    Params p = init(m, {.device = d, .seed = 2});
    CHECK(p["conv_0"]["kernel"].shape() == Shape{3, 3, 1, 8});
    CHECK(p["conv_0"]["bias"].shape() == Shape{8});
    CHECK(p["dense_0"]["kernel"].shape() == Shape{1568, 10});
    Tensor x = random_tensor({2, 28, 28, 1}, DType::f32, -1, 1, 4, d);
    Tensor y = predict(m, p, x);
    CHECK(y.shape() == Shape{2, 10});
    // The same computation through the functional layers.
    Tensor h = activations::relu(layers::conv(x, p["conv_0"]["kernel"], p["conv_0"]["bias"],
                                              {.padding = PaddingMode::same}));
    h = layers::flatten(layers::max_pool(h, {.kernel_size = {2}}));
    Tensor ref = layers::dense(h, p["dense_0"]["kernel"], p["dense_0"]["bias"]);
    check_close(y.to(Device::cpu()), ref.to(Device::cpu()), {1e-5, 1e-6});
  }
}

TEST_CASE("inferred shapes match the shapes apply produces", "[model]") {
  const Shape img{-1, 9, 8, 3};
  check_inferred("conv strides 2 valid", img, conv(4, {.kernel_size = {3, 2}, .strides = {2}}), {-1, 4, 4, 4});
  check_inferred("conv same strides 2", img, conv(4, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}),
                 {-1, 5, 4, 4});
  check_inferred("conv explicit pads, dilations, groups", img,
                 conv(6, {.kernel_size = {2}, .padding = {{1, 0}, {2, 1}}, .input_dilation = {2},
                          .kernel_dilation = {2}, .feature_group_size = 3}),
                 {-1, 16, 16, 6});
  check_inferred("conv channels first", {-1, 3, 9, 8}, conv(5, {.kernel_size = {3}, .channels = Channels::first}),
                 {-1, 5, 7, 6});
  check_inferred("conv 1d", {-1, 10, 2}, conv(3, {.kernel_size = {4}, .strides = {3}}), {-1, 3, 3});
  check_inferred("conv_transpose valid s2", img, conv_transpose(4, {.kernel_size = {3}, .strides = {2}}),
                 {-1, 19, 17, 4});
  check_inferred("conv_transpose same s2", img,
                 conv_transpose(4, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}),
                 {-1, 18, 16, 4});
  check_inferred("depthwise_conv", img, depthwise_conv(2, {.kernel_size = {3}}), {-1, 7, 6, 6});
  check_inferred("separable_conv2d", img, separable_conv2d(2, {.kernel_size = {3, 2}}), {-1, 7, 7, 6});
  check_inferred("separable_conv3d", {-1, 5, 6, 7, 2}, separable_conv3d(3, {.kernel_size = {2}, .strides = {1}}),
                 {-1, 4, 5, 6, 6});
  check_inferred("avg_pool same stride 2", img,
                 avg_pool({.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}), {-1, 5, 4, 3});
  check_inferred("lp_pool dilated", img, lp_pool({.kernel_size = {2}, .strides = {1}, .dilations = {2}}),
                 {-1, 7, 6, 3});
  check_inferred("adaptive_avg_pool", img, adaptive_avg_pool({.output_size = {3, 2}}), {-1, 3, 2, 3});
  check_inferred("adaptive_max_pool", img, adaptive_max_pool({.output_size = {4}}), {-1, 4, 4, 3});
  check_inferred("adaptive_lp_pool", img, adaptive_lp_pool({.output_size = {2}}), {-1, 2, 2, 3});
  check_inferred("global_avg_pool", img, global_avg_pool(), {-1, 3});
  check_inferred("global_max_pool keep_axes", img, global_max_pool({.keep_axes = true}), {-1, 1, 1, 3});
  check_inferred("global_lp_pool", img, global_lp_pool(), {-1, 3});
  check_inferred("blur_pool", img, blur_pool(), img);
  check_inferred("batch_norm", img, batch_norm(), img);
  check_inferred("instance_norm", img, instance_norm(), img);
  check_inferred("layer_norm", img, layer_norm(), img);
  check_inferred("group_norm", {-1, 4, 6}, group_norm(3), {-1, 4, 6});
  check_inferred("rms_norm", img, rms_norm(), img);
  check_inferred("flatten", img, flatten(), {-1, 216});
  check_inferred("reshape", img, reshape({-1, 6}), {-1, 36, 6});
  check_inferred("transpose", {-1, 3, 4}, transpose({0, 2, 1}), {-1, 4, 3});
  check_inferred("pad", img, pad({{1, 2}, {0, 1}}), {-1, 12, 9, 3});
  check_inferred("resize", img, resize({4, 16}, {.method = layers::ResizeMethod::bilinear}), {-1, 4, 16, 3});
  check_inferred("bias", {-1, 5}, bias(), {-1, 5});
  check_inferred("dense rank 3", {-1, 4, 5}, dense(2), {-1, 4, 2});
  check_inferred("dropouts", img,
                 [](const Model& x) {
                   return x | spatial_dropout() | alpha_dropout() | feature_alpha_dropout() | dropout({.rate = 0.1});
                 },
                 img);
  for (const auto& fn : activations::names())
    check_inferred(fn, {-1, 5}, activation(fn), fn == "log_sumexp" ? Shape{-1, 1} : Shape{-1, 5});
  check_inferred("activation fn", {-1, 5}, [](const Model& x) { return activation(x, [](const Tensor& t) { return t * 2.0; }); },
                 {-1, 5});
  check_inferred("nx", {-1, 5}, nx([](const Tensor& t) { return t.sum({1}, true); }), {-1, 1});
}

TEST_CASE("embedding and bilinear", "[model]") {
  Model ids = input("ids", {-1, 7});
  Model e = ids | embedding(11, 4);
  CHECK(e.output_shape() == Shape{-1, 7, 4});
  Params p = init(e);
  auto k = p["embedding_0"]["kernel"];
  CHECK(k.shape() == Shape{11, 4});
  for (double v : k.to_vector<double>()) CHECK(std::abs(v) <= 0.01);  // Axon's uniform: U(-0.01, 0.01)
  Tensor x = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 6, 5, 4}, {2, 7});
  Tensor y = predict(e, p, x);
  check_close(y, layers::embedding(x, k), {0, 0});

  Model a = input("a", {-1, 3}), b = input("b", {-1, 2});
  Model bl = bilinear(a, b, 4);
  CHECK(bl.output_shape() == Shape{-1, 4});
  Params pb = init(bl, {.dtype = DType::f64});
  CHECK(pb["bilinear_0"]["kernel"].shape() == Shape{4, 3, 2});
  Tensor ta = random_tensor({5, 3}, DType::f64, -1, 1, 1), tb = random_tensor({5, 2}, DType::f64, -1, 1, 2);
  check_close(predict(bl, pb, {{"a", ta}, {"b", tb}}),
              layers::bilinear(ta, tb, pb["bilinear_0"]["kernel"], pb["bilinear_0"]["bias"]), {1e-12, 1e-14});
}

TEST_CASE("multi-input DAG: add, concatenate, a node feeding several nodes", "[model]") {
  Model a = input("a", {-1, 3}), b = input("b", {-1, 3});
  Model s = add(a, b);
  Model c = concatenate(s, b);  // b feeds add_0 and concatenate_0
  Model out = c | dense(2, {.use_bias = false});
  CHECK(c.output_shape() == Shape{-1, 6});
  CHECK(out.input_names() == std::vector<std::string>{"a", "b"});
  Model prod = multiply({a, b, a});
  Model diff = a | subtract(b);
  Params p = init(out, {.dtype = DType::f64});
  CHECK(p["dense_0"].count("bias") == 0);
  for (Device d : test::devices()) {
    Tensor ta = random_tensor({4, 3}, DType::f64, -1, 1, 5, d), tb = random_tensor({4, 3}, DType::f64, -1, 1, 6, d);
    Params pd = init(out, {.device = d, .dtype = DType::f64});
    Tensor y = predict(out, pd, {{"a", ta}, {"b", tb}});
    auto av = ta.to(Device::cpu()).to_vector<double>(), bv = tb.to(Device::cpu()).to_vector<double>();
    auto w = pd["dense_0"]["kernel"].to(Device::cpu()).to_vector<double>();
    std::vector<double> ref(8), pr(12), df(12);
    for (int r = 0; r < 4; ++r) {
      double feat[6];
      for (int j = 0; j < 3; ++j) {
        feat[j] = av[r * 3 + j] + bv[r * 3 + j];
        feat[3 + j] = bv[r * 3 + j];
        pr[r * 3 + j] = av[r * 3 + j] * bv[r * 3 + j] * av[r * 3 + j];
        df[r * 3 + j] = av[r * 3 + j] - bv[r * 3 + j];
      }
      for (int o = 0; o < 2; ++o)
        for (int j = 0; j < 6; ++j) ref[r * 2 + o] += feat[j] * w[j * 2 + o];
    }
    check_close(y.to(Device::cpu()), ref, {4, 2}, {1e-12, 1e-14});
    check_close(predict(prod, {}, {{"a", ta}, {"b", tb}}).to(Device::cpu()), pr, {4, 3}, {1e-12, 1e-14});
    check_close(predict(diff, {}, {{"a", ta}, {"b", tb}}).to(Device::cpu()), df, {4, 3}, {1e-12, 1e-14});
  }
  // Broadcasting and split.
  Model wide = input("w", {-1, 4, 3});
  CHECK(add(wide, a).output_shape() == Shape{-1, 4, 3});
  auto parts = split(wide, 3);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].output_shape() == Shape{-1, 4, 1});
  Model joined = concatenate({parts[2], parts[0], parts[1]});
  Tensor tw = random_tensor({2, 4, 3}, DType::f32, -1, 1, 9);
  auto v = tw.to_vector<double>(), j = predict(joined, {}, tw).to_vector<double>();
  for (int i = 0; i < 8; ++i) {
    CHECK(j[i * 3 + 0] == v[i * 3 + 2]);
    CHECK(j[i * 3 + 1] == v[i * 3 + 0]);
    CHECK(j[i * 3 + 2] == v[i * 3 + 1]);
  }

  // Input errors.
  Tensor t3 = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(predict(out, p, {{"a", t3}}), "missing input \"b\"");
  AXON_REQUIRE_THROWS_WITH(predict(out, p, {{"a", t3}, {"b", t3}, {"c", t3}}), "unknown input \"c\"");
  AXON_REQUIRE_THROWS_WITH(predict(out, p, t3), "the model has 2 inputs");
  AXON_REQUIRE_THROWS_WITH(predict(out, p, {{"a", t3}, {"b", zeros({2, 4})}}), "declared with shape [-1, 3]");
  AXON_REQUIRE_THROWS_WITH(predict(out, Params{}, {{"a", t3}, {"b", t3}}), "no parameters for layer \"dense_0\"");
  Params wrong = p;
  wrong["dense_0"]["kernel"] = zeros({5, 2}, DType::f64);
  AXON_REQUIRE_THROWS_WITH(predict(out, wrong, {{"a", t3}, {"b", t3}}), "should be [6, 2]");
}

TEST_CASE("bad layers fail at build time naming the layer and the shapes", "[model]") {
  Model v = input("v", {5});
  Model x = input("x", {-1, 3});
  Model img = input("img", {-1, 8, 8, 6});
  AXON_REQUIRE_THROWS_WITH(v | dense(3), "dense_0 (dense): input shape [5] must have rank >= 2");
  AXON_REQUIRE_THROWS_WITH(input("u", {-1, -1}) | dense(3), "[-1, -1]");
  AXON_REQUIRE_THROWS_WITH(img | conv(4, {.kernel_size = {3, 3, 3}}), "conv_0 (conv): kernel_size [3, 3, 3] has 3 values");
  AXON_REQUIRE_THROWS_WITH(x | conv(4), "conv_0 (conv): input shape [-1, 3] must have rank 3, 4 or 5");
  AXON_REQUIRE_THROWS_WITH(img | conv(4, {.feature_group_size = 4}),
                           "feature_group_size 4 must divide the input channels 6");
  AXON_REQUIRE_THROWS_WITH(img | conv(4, {.padding = {{1, 1}}}), "padding has 1 (lo, hi) pairs");
  AXON_REQUIRE_THROWS_WITH(img | conv(4, {.kernel_size = {9}}), "larger than spatial dim 0");
  AXON_REQUIRE_THROWS_WITH(img | max_pool({.kernel_size = {9}}), "max_pool_0 (max_pool)");
  AXON_REQUIRE_THROWS_WITH(img | depthwise_conv(2, {.feature_group_size = 2}), "not an option");
  AXON_REQUIRE_THROWS_WITH(img | separable_conv3d(2), "must have rank 5");
  AXON_REQUIRE_THROWS_WITH(concatenate(input("a", {-1, 3, 4}), input("b", {-1, 5, 4})),
                           "concatenate_0 (concatenate): input shapes [-1, 3, 4] and [-1, 5, 4] must agree");
  AXON_REQUIRE_THROWS_WITH(add(x, input("y", {-1, 4})), "add_0 (add): input shapes [-1, 3] and [-1, 4] do not broadcast");
  AXON_REQUIRE_THROWS_WITH(img | group_norm(4), "num_groups 4 must divide the 6 channels");
  AXON_REQUIRE_THROWS_WITH(x | activation("rleu"), "unknown activation \"rleu\"");
  AXON_REQUIRE_THROWS_WITH(x | dropout({.rate = 1.0}), "rate must be in [0, 1)");
  AXON_REQUIRE_THROWS_WITH(x | reshape({2, 2}), "cannot reshape input shape [-1, 3]");
  AXON_REQUIRE_THROWS_WITH(x | transpose({0, 0}), "must permute");
  AXON_REQUIRE_THROWS_WITH(split(x, 2), "does not split into 2 equal parts");
  AXON_REQUIRE_THROWS_WITH(x | adaptive_avg_pool({.output_size = {2}}), "rank 3, 4 or 5");
  AXON_REQUIRE_THROWS_WITH(x | dense(2, {.name = "fc"}) | dense(2, {.name = "fc"}), "two layers are named \"fc\"");
  AXON_REQUIRE_THROWS_WITH(add(x, input("x", {-1, 3})), "two layers are named \"x\"");
  AXON_REQUIRE_THROWS_WITH(input("z", {-1, 0}), "dims must be positive or -1");
  AXON_REQUIRE_THROWS_WITH(Model() | dense(2), "the model is empty");
  AXON_REQUIRE_THROWS_WITH(img | layer([](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
                             return matmul(in[0], zeros({2, 2}));
                           }),
                           "custom_0 (custom): finding the output shape");
}
