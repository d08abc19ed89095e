// predict()'s inference conv and max-pool steps (kernels/cpu/dnnl_conv_infer.cpp through
// layers/src/model/predict_plan.cpp): each split of the work (one part, batch slices, output-row
// slices, forced with AXON_CPU_INFER_PARTS) against apply() in float64, and plans of conv models
// against apply() call after call, as the batch, the params and the input change.
#include <cstdlib>
#include <string>
#include <thread>

#include <axon/axon.hpp>
#include <axon/out.hpp>

#include "harness.hpp"

using namespace axon;

namespace {

const test::Tol kTol{1e-5, 1e-5};

// AXON_CPU_INFER_PARTS for a scope (read when a plan is built).
struct Parts {
  explicit Parts(int n) { ::setenv("AXON_CPU_INFER_PARTS", std::to_string(n).c_str(), 1); }
  ~Parts() { ::unsetenv("AXON_CPU_INFER_PARTS"); }
};

// init()'s kernels with random biases (they start at zero).
Params random_params(const Model& m, uint64_t seed) {
  Params p = init(m, {.seed = seed});
  Generator g(seed);
  for (auto& [layer, map] : p)
    if (map.count("bias")) map["bias"] = mul(randn(map["bias"].shape(), g), 0.5);
  return p;
}

Params to_f64(const Params& p) {
  Params q;
  for (const auto& [layer, map] : p)
    for (const auto& [name, t] : map) q[layer][name] = t.to(DType::f64);
  return q;
}

int64_t conv_runs() {
  const CpuConvRuns r = cpu_conv_runs();
  return r.im2col + r.onednn;
}

// A build with oneDNN runs predict's conv steps on inference primitives: no conv op runs once the
// plan is built (its first call runs apply() once). (A 2x2 kernel: one the Winograd kernel, which
// runs in builds without oneDNN too, does not take even when AXON_CPU_WINOGRAD=on.)
bool has_infer_steps() {
  const Model m = input("x", {-1, 6, 6, 2}) | conv(3, {.kernel_size = {2}});
  const Params p = init(m, {.seed = 1});
  const Tensor x = randn({1, 6, 6, 2});
  predict(m, p, x);
  const int64_t before = conv_runs();
  predict(m, p, x);
  return conv_runs() == before;
}

// predict (f32) against apply in float64 for each forced split; `parts` the splits to force.
void check_splits(const Model& m, const Shape& x_shape, std::initializer_list<int> parts) {
  const Params p = random_params(m, 11);
  const Params p64 = to_f64(p);
  const Tensor x = randn(x_shape);
  const Tensor ref = apply(m, p64, x.to(DType::f64)).output.to(DType::f32);
  for (int n : parts) {
    INFO("parts " << n);
    Parts forced(n);
    const Params own = p;  // a new Params object: a new plan, built with this split
    for (int call = 0; call < 2; ++call) test::check_close(predict(m, own, x), ref, kTol);
  }
}

Model small_cnn() {
  return input("images", {-1, 28, 28, 1}) |
         conv(8, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) |
         conv(16, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) | flatten() | dense(16, {.activation = "relu"}) | dense(10);
}

}  // namespace

TEST_CASE("predict's conv steps run no conv op once planned (builds with oneDNN)", "[model][predict][conv]") {
  set_cpu_conv_path(CpuConvPath::onednn);
  const int64_t before = cpu_conv_runs().onednn;
  (void)conv(randn({1, 6, 6, 2}), randn({3, 3, 2, 3}));
  const bool onednn = cpu_conv_runs().onednn > before;
  set_cpu_conv_path(CpuConvPath::automatic);
  CHECK(has_infer_steps() == onednn);
}

TEST_CASE("predict's conv step: one part, batch slices, output-row slices equal float64 apply", "[model][predict][conv]") {
  // W2's first layer (one input channel) at batch 1: whole, in 2 and 3 row slices.
  check_splits(input("x", {-1, 28, 28, 1}) | conv(32, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}),
               {1, 28, 28, 1}, {1, 2, 3});
  // Strides, dilation and asymmetric padding: row slices whose windows start in the padding, end in
  // it or skip input rows. Batch 3: 2 batch slices, 6 row slices (2 per item), 4 -> 3 (one per item).
  const ConvLayerOptions odd{.kernel_size = {3, 2}, .strides = {2, 1}, .padding = Padding({{2, 0}, {0, 1}}),
                             .kernel_dilation = {2, 1}};
  check_splits(input("x", {-1, 11, 9, 5}) | conv(7, odd), {3, 11, 9, 5}, {1, 2, 4, 6});
  ConvLayerOptions odd_relu = odd;
  odd_relu.activation = "relu";
  odd_relu.use_bias = false;
  check_splits(input("x", {-1, 11, 9, 5}) | conv(7, odd_relu), {3, 11, 9, 5}, {1, 2, 6});
  // 1-D and 3-D convs, and a 'same' strided one.
  check_splits(input("x", {-1, 17, 4}) | conv(6, {.kernel_size = {5}, .padding = Padding({{2, 2}})}), {2, 17, 4},
               {1, 4});
  check_splits(input("x", {-1, 5, 6, 4, 3}) |
                   conv(8, {.kernel_size = {3}, .strides = {1, 2, 1}, .padding = PaddingMode::same, .activation = "relu"}),
               {1, 5, 6, 4, 3}, {1, 2});
  check_splits(input("x", {-1, 13, 12, 3}) | conv(6, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}),
               {1, 13, 12, 3}, {1, 2, 3});
  // Windows that never reach an item's last row (ResNet's 1x1 stride-2 shortcut on 16 rows reads 15;
  // a 3x3 stride 2 on 8 rows reads 7): several items in one piece still lie a whole item apart.
  check_splits(input("x", {-1, 16, 16, 4}) | conv(8, {.kernel_size = {1}, .strides = {2}, .use_bias = false}),
               {3, 16, 16, 4}, {1, 2, 3});
  check_splits(input("x", {-1, 8, 8, 3}) | conv(5, {.kernel_size = {3}, .strides = {2}}), {4, 8, 8, 3}, {1, 2});
}

TEST_CASE("predict's conv models in one part, split by items and split by rows equal float64 apply",
          "[model][predict][conv]") {
  // Batch 1 in two or three parts splits the convs by output rows; batch 3, by items.
  for (int64_t rows : {1, 3}) {
    check_splits(fashion_mnist_cnn(), {rows, 28, 28, 1}, {1, 2});
    check_splits(small_cnn(), {rows, 28, 28, 1}, {1, 2, 3});
  }
  // Channels that are not a multiple of 8; a pool followed by a pool.
  check_splits(input("x", {-1, 12, 12, 3}) | conv(12, {.kernel_size = {3}, .activation = "relu"}) |
                   max_pool({.kernel_size = {2}}) | max_pool({.kernel_size = {2}, .strides = {1}}) |
                   conv(5, {.kernel_size = {2}, .activation = "relu"}) | max_pool({.kernel_size = {2}}),
               {2, 12, 12, 3}, {1, 2});
}

TEST_CASE("predict's max-pool step: parts over the batch equal apply", "[model][predict][conv]") {
  // 2x2 windows (the last odd row and column dropped), 3x3 at stride 2 'same', explicit padding.
  for (const PoolLayerOptions& o :
       {PoolLayerOptions{.kernel_size = {2}}, PoolLayerOptions{.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same},
        PoolLayerOptions{.kernel_size = {3, 2}, .strides = {2, 1}, .padding = Padding({{1, 1}, {1, 0}})}}) {
    const Model m = input("x", {-1, 9, 7, 6}) | max_pool(o);
    const Tensor x = randn({5, 9, 7, 6});
    const Tensor ref = apply(m, {}, x).output;
    for (int n : {1, 2, 3}) {
      Parts forced(n);
      const Model fresh = input("x", {-1, 9, 7, 6}) | max_pool(o);  // a new graph: a new plan
      test::check_close(predict(fresh, {}, x), ref, {0, 0});
    }
  }
}

TEST_CASE("predict of conv models equals apply as the batch changes between calls", "[model][predict][conv]") {
  for (const Model& m : {fashion_mnist_cnn(), small_cnn()}) {
    const Params p = random_params(m, 3);
    for (int64_t rows : {1, 64, 3, 1, 2}) {
      Generator g(static_cast<uint64_t>(rows));
      const Tensor x = randn({rows, 28, 28, 1}, g);
      const Tensor ref = apply(m, p, x).output;
      test::check_close(predict(m, p, x), ref, kTol);
      Tensor out = empty({rows, 10});
      CHECK(predict(m, p, x, {.out = out}).data_ptr() == out.data_ptr());
      test::check_close(out, ref, kTol);
    }
  }
}

TEST_CASE("predict's conv steps: a conv last, a relu not absorbed, non-contiguous input, params, errors",
          "[model][predict][conv]") {
  // A padded pool; a conv without bias last (written into `out`).
  const Model a = input("x", {-1, 13, 11, 3}) |
                  conv(6, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same, .activation = "relu"}) |
                  max_pool({.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}) |
                  conv(5, {.kernel_size = {2}, .use_bias = false});
  // A relu with two consumers: the conv before it keeps its own output.
  const Model x = input("x", {-1, 10, 10, 2});
  const Model r = relu(conv(x, 4, {.kernel_size = {3}}));
  const Model b = concatenate(r, conv(r, 4, {.kernel_size = {1}}));
  for (const Model& m : {a, b}) {
    Params p = random_params(m, 4);
    const Shape s = m.input_shapes().begin()->second;
    for (int64_t rows : {1, 4}) {
      const Tensor in = randn({rows, s[1], s[2], s[3]});
      const Tensor ref = apply(m, p, in).output;
      test::check_close(predict(m, p, in), ref, kTol);
      Tensor out = empty(ref.shape());
      predict(m, p, in, {.out = out});
      test::check_close(out, ref, kTol);
      // The same shape as a transposed view: not contiguous.
      const Tensor t = transpose(randn({rows, s[2], s[1], s[3]}), 1, 2);
      REQUIRE(!t.is_contiguous());
      test::check_close(predict(m, p, t), apply(m, p, t).output, kTol);
    }
    // Kernels changed in place are read (reordered on every call); replaced ones build a new plan.
    const Tensor in = randn({2, s[1], s[2], s[3]});
    const Tensor before = predict(m, p, in);
    for (auto& [layer, map] : p)
      if (map.count("kernel")) copy_into(map["kernel"], mul(map["kernel"], 0.5));
    test::check_close(predict(m, p, in), apply(m, p, in).output, kTol);
    CHECK(max(abs(sub(predict(m, p, in), before))).item<float>() > 1e-4f);
    for (auto& [layer, map] : p)
      if (map.count("kernel")) map["kernel"] = mul(map["kernel"], -3.0);
    test::check_close(predict(m, p, in), apply(m, p, in).output, kTol);
    // Bad input: apply()'s error, not a crash.
    AXON_REQUIRE_THROWS_WITH(predict(m, p, randn({2, s[1], s[2], s[3] + 1})), "input \"x\"");
    AXON_REQUIRE_THROWS_WITH(predict(m, p, randn({2, s[1], s[2]})), "input \"x\"");
  }
}

TEST_CASE("predict of a conv model from several threads at once gives each its own result", "[model][predict][conv]") {
  const Model m = small_cnn();
  const Params p = random_params(m, 6);
  std::vector<Tensor> xs, refs(4), got(4);
  for (int t = 0; t < 4; ++t) xs.push_back(randn({1 + 2 * t, 28, 28, 1}));
  for (int t = 0; t < 4; ++t) refs[t] = apply(m, p, xs[t]).output;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 30; ++k) got[t] = predict(m, p, xs[t]);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) test::check_close(got[t], refs[t], kTol);
}
