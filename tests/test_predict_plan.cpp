// predict's compiled plans (layers/src/model/predict_plan.cpp): the values of apply(), plans rebuilt
// when the params, the input shape or the dtype change, no result sharing memory with a later
// call's, no allocations for dense layers into a kept output, and threads that predict at once.
#include <tuple>

#include <axon/axon.hpp>
#include <axon/out.hpp>

#include "harness.hpp"

using namespace axon;

namespace {
Model surrogate() {
  return input("state", {-1, 64}) | dense(256, {.activation = "tanh"}) | dense(256, {.activation = "tanh"}) |
         dense(256, {.activation = "tanh"}) | dense(8);
}
Model cnn() {
  return input("images", {-1, 28, 28, 1}) |
         conv(8, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) | flatten() | dense(16, {.activation = "relu"}) | dense(10);
}
const test::Tol kExact{0, 0};
// Conv layers run on inference primitives in plans (test_predict_conv.cpp): rounding differs.
const test::Tol kConvTol{1e-5, 1e-6};
}  // namespace

TEST_CASE("predict through a plan equals apply, call after call, with and without out", "[model][predict]") {
  for (auto [model, sample, tol] : {std::tuple{surrogate(), Shape{64}, kExact}, std::tuple{cnn(), Shape{28, 28, 1}, kConvTol}}) {
    const Params p = init(model, {.seed = 5});
    for (int64_t rows : {1, 16, 3}) {
      Shape s = sample;
      s.insert(s.begin(), rows);
      Tensor out = empty({rows, model.output_shape().back()});
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        Generator g(seed);
        const Tensor x = randn(s, g);
        const Tensor ref = apply(model, p, x).output;
        test::check_close(predict(model, p, x), ref, tol);
        Tensor r = predict(model, p, x, {.out = out});
        CHECK(r.data_ptr() == out.data_ptr());
        test::check_close(out, ref, tol);
      }
    }
  }
}

TEST_CASE("predict's results stay the caller's: two kept results, a view of a dense layer's output", "[model][predict]") {
  // reshape after the last dense layer: a view of what would be the plan's kept buffer.
  for (Model m : {surrogate(), input("x", {-1, 6}) | dense(6) | dense(6) | reshape({2, 3})}) {
    const Params p = init(m, {.seed = 2});
    const int64_t f = m.input_shapes().begin()->second.back();
    const Tensor x1 = randn({4, f}), x2 = randn({4, f});
    const Tensor y1 = predict(m, p, x1), y2 = predict(m, p, x2);
    test::check_close(y1, apply(m, p, x1).output, kExact);
    test::check_close(y2, apply(m, p, x2).output, kExact);
    CHECK(y1.impl().storage != y2.impl().storage);
  }
}

TEST_CASE("predict's plans follow new params, changed values, input shapes and dtypes", "[model][predict]") {
  const Model m = surrogate();
  Params p = init(m, {.seed = 1});
  const Tensor x = randn({2, 64});
  const Tensor before = predict(m, p, x);
  // A parameter replaced in the same Params object.
  p["dense_1"]["kernel"] = mul(p["dense_1"]["kernel"], 2.0);
  test::check_close(predict(m, p, x), apply(m, p, x).output, kExact);
  CHECK(max(abs(sub(predict(m, p, x), before))).item<float>() > 1e-3f);
  // Values changed in place: the plan reads them.
  copy_into(p["dense_3"]["bias"], full({8}, Scalar(0.5)));
  test::check_close(predict(m, p, x), apply(m, p, x).output, kExact);
  // Another Params object, other rows, another dtype.
  const Params q = init(m, {.seed = 9});
  test::check_close(predict(m, q, x), apply(m, q, x).output, kExact);
  const Tensor x5 = randn({5, 64});
  test::check_close(predict(m, p, x5), apply(m, p, x5).output, kExact);
  const Params p64 = init(m, {.dtype = DType::f64, .seed = 1});
  const Tensor y64 = predict(m, p64, x.to(DType::f64));
  CHECK(y64.dtype() == DType::f64);
  test::check_close(y64, apply(m, p64, x.to(DType::f64)).output, kExact);
  // A parameter of the wrong shape is still apply()'s error, naming the layer.
  p["dense_1"]["kernel"] = zeros({3, 3});
  AXON_REQUIRE_THROWS_WITH(predict(m, p, x), "dense_1");
}

TEST_CASE("predict of dense layers into a kept output allocates no memory after the first call", "[model][predict]") {
  const Model m = input("x", {-1, 64}) | dense(32) | dense(32) | dense(4);
  const Params p = init(m, {.seed = 4});
  const Tensor x = randn({16, 64});
  Tensor out = empty({16, 4});
  predict(m, p, x, {.out = out});
  const size_t before = memory_stats(Device::cpu()).allocations;
  predict(m, p, x, {.out = out});
  CHECK(memory_stats(Device::cpu()).allocations == before);
  test::check_close(out, apply(m, p, x).output, kExact);
}

TEST_CASE("predict from several threads at once gives each its own result", "[model][predict]") {
  const Model m = surrogate();
  const Params p = init(m, {.seed = 6});
  std::vector<Tensor> xs;
  for (int t = 0; t < 4; ++t) xs.push_back(randn({1 + t, 64}));
  test::check_predict_from_threads(m, p, xs, 50, kExact);
}

TEST_CASE("predict inside a layer that predicts with another model", "[model][predict]") {
  const Model inner = input("x", {-1, 4}) | dense(4, {.activation = "tanh"}) | dense(4);
  const Params pin = init(inner, {.seed = 7});
  const Model outer = input("x", {-1, 4}) |
                      layer([&](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
                        return predict(inner, pin, in[0]);
                      }) |
                      dense(3);
  const Params pout = init(outer, {.seed = 8});
  const Tensor x = randn({2, 4});
  for (int k = 0; k < 3; ++k) test::check_close(predict(outer, pout, x), apply(outer, pout, x).output, kExact);
  // A model that is only its input: the input's values.
  const Model bare = input("x", {-1, 4});
  test::check_close(predict(bare, {}, x), x, kExact);
}
