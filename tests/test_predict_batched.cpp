// predict over batches: the same values as one pass, into the caller's tensor when given, and peak
// memory bounded by the batch rather than the number of rows.
#include <axon/axon.hpp>

#include "harness.hpp"

using namespace axon;

namespace {
Model wide_mlp() {
  return input("input", {-1, 64}) | dense(512, {.activation = "relu"}) | batch_norm() | dense(512, {.activation = "tanh"}) |
         dense(10, {.activation = "softmax"});
}
}  // namespace

TEST_CASE("predict in batches equals one pass, for every batch size", "[model][predict]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Model m = wide_mlp();
    Params p = init(m, {.device = d, .seed = 3});
    Tensor x = randn({50, 64}, DType::f32, d);
    Tensor whole = predict(m, p, x, {.batch_size = 0});
    for (int64_t bs : {1, 7, 49, 50, 256}) {
      INFO("batch_size " << bs);
      test::check_close(predict(m, p, x, {.batch_size = bs}), whole, {1e-6, 1e-6});
    }
    // Into a slice of the caller's buffer.
    Tensor buf = full({60, 10}, Scalar(-1.0), DType::f32, d);
    Tensor r = predict(m, p, x, {.batch_size = 16, .out = buf.narrow(0, 5, 50)});
    CHECK(r.data_ptr() == buf.narrow(0, 5, 50).data_ptr());
    test::check_close(buf.narrow(0, 5, 50), whole, {1e-6, 1e-6});
    test::check_close(buf.narrow(0, 0, 5), full({5, 10}, Scalar(-1.0), DType::f32, d), {0, 0});
    test::check_close(buf.narrow(0, 55, 5), full({5, 10}, Scalar(-1.0), DType::f32, d), {0, 0});
  }
}

TEST_CASE("predict's peak memory is bounded by the batch", "[model][predict]") {
  Model m = wide_mlp();
  Params p = init(m, {.seed = 3});
  Tensor x = randn({4096, 64});
  auto peak_of = [&](int64_t bs) {
    reset_peak_memory(Device::cpu());
    size_t before = memory_stats(Device::cpu()).in_use;
    Tensor y = predict(m, p, x, {.batch_size = bs});
    CHECK(y.shape() == Shape{4096, 10});
    return memory_stats(Device::cpu()).peak - before;
  };
  size_t whole = peak_of(0), batched = peak_of(256);
  INFO("one pass " << whole << " bytes, batches of 256 " << batched << " bytes");
  // One pass holds 4096 x 512 activations (8 MiB each); batches of 256 hold 0.5 MiB ones.
  CHECK(whole > size_t(16) << 20);
  CHECK(batched * 8 < whole);
}

TEST_CASE("predict's batching errors name what is wrong", "[model][predict][errors]") {
  Model m = wide_mlp();
  Params p = init(m, {.seed = 3});
  Tensor x = randn({20, 64});
  AXON_REQUIRE_THROWS_WITH(predict(m, p, x, {.batch_size = -2}), "predict: batch_size must be non-negative");
  AXON_REQUIRE_THROWS_WITH(predict(m, p, x, {.batch_size = 8, .out = empty({20, 9})}),
                           "predict: the output tensor f32[20, 9] on cpu does not match the result: shape [20, 10], dtype f32 on cpu");
  AXON_REQUIRE_THROWS_WITH(predict(m, p, x, {.out = empty({20, 10}, DType::f64)}),
                           "copy_into: the output has dtype f64 but the result has dtype f32");
  Model two = add(input("a", {-1, 3}), input("b", {-1, 3}));
  Params none = init(two);
  AXON_REQUIRE_THROWS_WITH(predict(two, none, {{"a", ones({4, 3})}, {"b", ones({5, 3})}}, {.batch_size = 2}),
                           "predict: inputs have different numbers of rows");
  test::check_close(predict(two, none, {{"a", ones({5, 3})}, {"b", ones({5, 3})}}, {.batch_size = 2}),
                    full({5, 3}, Scalar(2.0)), {0, 0});
}
