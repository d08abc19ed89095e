// predict()'s inference conv and max-pool steps (kernels/cpu/dnnl_conv_infer.cpp through
// layers/src/model/predict_plan.cpp): each split of the work (one part, batch slices, output-row
// slices, forced with AXON_CPU_INFER_PARTS) against apply() in float64, and plans of conv models
// against apply() call after call, as the batch, the params and the input change.
#include <cstdlib>
#include <cmath>
#include <limits>
#include <list>
#include <string>

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

// AXON_CPU_INFER_CHUNK for a scope (read when a plan is built).
struct Chunk {
  explicit Chunk(const char* v) { ::setenv("AXON_CPU_INFER_CHUNK", v, 1); }
  ~Chunk() { ::unsetenv("AXON_CPU_INFER_CHUNK"); }
};

// init()'s kernels with random biases (they start at zero).
Params random_params(const Model& m, uint64_t seed) {
  Params p = init(m, {.seed = seed});
  Generator g(seed);
  for (auto& [layer, map] : p)
    if (map.count("bias")) map["bias"] = mul(randn(map["bias"].shape(), g), 0.5);
  return p;
}

// A copy of p with tensors of its own, kept alive (in `keep`) so that no later Params takes its
// address and tensors: a plan is found by the Params' address and its tensors, so this builds a new
// plan under the settings in force (a copy sharing p's tensors at a reused address finds the old).
const Params& fresh(const Params& p, std::list<Params>& keep) {
  Params& q = keep.emplace_back();
  for (const auto& [layer, map] : p)
    for (const auto& [name, t] : map) q[layer][name] = t.clone();
  return q;
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

// Chunks one chunked call runs: `lanes` shares of the items, each in chunks of `chunk` (0: not
// chunked, as when one lane would run the whole batch in one chunk).
int64_t chunks_of(int64_t rows, int lanes, int64_t chunk) {
  lanes = static_cast<int>(std::min<int64_t>(lanes, rows));
  if (chunk < 1 || (lanes == 1 && rows <= chunk)) return 0;
  int64_t n = 0;
  for (int l = 0; l < lanes; ++l) n += (rows * (l + 1) / lanes - rows * l / lanes + chunk - 1) / chunk;
  return n;
}

// predict (f32) against apply in float64 for each forced split; `parts` the splits to force.
void check_splits(const Model& m, const Shape& x_shape, std::initializer_list<int> parts) {
  const Params p = random_params(m, 11);
  const Params p64 = to_f64(p);
  const Tensor x = randn(x_shape);
  const Tensor ref = apply(m, p64, x.to(DType::f64)).output.to(DType::f32);
  std::list<Params> keep;
  for (int n : parts) {
    INFO("parts " << n);
    Parts forced(n);
    const Params& own = fresh(p, keep);  // a new plan, built with this split
    for (int call = 0; call < 2; ++call) test::check_close(predict(m, own, x), ref, kTol);
  }
}

// predict, and predict into a kept output, against apply.
void check_predict(const Model& m, const Params& p, const Tensor& in) {
  const Tensor ref = apply(m, p, in).output;
  test::check_close(predict(m, p, in), ref, kTol);
  Tensor out = empty(ref.shape());
  predict(m, p, in, {.out = out});
  test::check_close(out, ref, kTol);
}

// predict on `rows` items as p's kernels change in place (halved: read on the next call) and are
// replaced (times -3: a new plan), against apply.
void check_kernel_changes(const Model& m, Params& p, int64_t rows) {
  const Shape s = m.input_shapes().begin()->second;
  const Tensor in = randn({rows, s[1], s[2], s[3]});
  const Tensor before = predict(m, p, in);
  for (auto& [layer, map] : p)
    if (map.count("kernel")) copy_into(map["kernel"], mul(map["kernel"], 0.5));
  test::check_close(predict(m, p, in), apply(m, p, in).output, kTol);
  CHECK(max(abs(sub(predict(m, p, in), before))).item<float>() > 1e-4f);
  for (auto& [layer, map] : p)
    if (map.count("kernel")) map["kernel"] = mul(map["kernel"], -3.0);
  test::check_close(predict(m, p, in), apply(m, p, in).output, kTol);
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
  // A first conv on one channel pooled as it is made (conv_pool_infer.cpp): 16 + 8 channels, a 5x3
  // kernel with asymmetric padding, odd output sizes (the pool drops the last row and column), no
  // bias, no relu; 8 channels with relu and bias; the pool's output read by the model's output. Its
  // AVX2 code and the baseline code of CPUs without AVX2 alike (and the dense layer's).
  for (bool avx2 : {true, false}) {
    INFO("AVX2 kernels " << avx2);
    test::Avx2KernelsScope scope(avx2);
    check_splits(input("x", {-1, 13, 11, 1}) |
                     conv(24, {.kernel_size = {5, 3}, .padding = Padding({{2, 1}, {0, 1}}), .use_bias = false}) |
                     max_pool({.kernel_size = {2}}) | flatten() | dense(5),
                 {3, 13, 11, 1}, {1, 2, 3});
    check_splits(input("x", {-1, 10, 12, 1}) | conv(8, {.kernel_size = {3}, .activation = "relu"}) |
                     max_pool({.kernel_size = {2}}),
                 {2, 10, 12, 1}, {1, 2});
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
      check_predict(m, p, randn({rows, s[1], s[2], s[3]}));
      // The same shape as a transposed view: not contiguous.
      const Tensor t = transpose(randn({rows, s[2], s[1], s[3]}), 1, 2);
      REQUIRE(!t.is_contiguous());
      test::check_close(predict(m, p, t), apply(m, p, t).output, kTol);
    }
    // Kernels changed in place are read (reordered on every call); replaced ones build a new plan.
    check_kernel_changes(m, p, 2);
    // Bad input: apply()'s error, not a crash.
    AXON_REQUIRE_THROWS_WITH(predict(m, p, randn({2, s[1], s[2], s[3] + 1})), "input \"x\"");
    AXON_REQUIRE_THROWS_WITH(predict(m, p, randn({2, s[1], s[2]})), "input \"x\"");
  }
}

TEST_CASE("predict of a conv model from several threads at once gives each its own result", "[model][predict][conv]") {
  const Model m = small_cnn();
  const Params p = random_params(m, 6);
  std::vector<Tensor> xs;
  for (int t = 0; t < 4; ++t) xs.push_back(randn({1 + 2 * t, 28, 28, 1}));
  test::check_predict_from_threads(m, p, xs, 30, kTol);
}

TEST_CASE("predict's chunked conv runs equal float64 apply for each chunk size, split and batch",
          "[model][predict][conv][chunk]") {
  const bool planned = has_infer_steps();  // without oneDNN no conv is a plan's step: nothing chunks
  // The automatic chunk: half of 512 KiB over the largest activation per item, the second conv's
  // (14x14x64 and 14x14x16 f32: the first conv's output is pooled as it is made, never stored).
  const std::pair<Model, int64_t> models[] = {{fashion_mnist_cnn(), 5}, {small_cnn(), 20}};
  for (const auto& [m, automatic] : models) {
    const Params p = random_params(m, 5);
    const Params p64 = to_f64(p);
    std::list<Params> keep;
    for (int64_t rows : {1, 3, 7, 64, 65}) {
      Generator g(static_cast<uint64_t>(rows));
      const Tensor x = randn({rows, 28, 28, 1}, g);
      const Tensor ref = apply(m, p64, x.to(DType::f64)).output.to(DType::f32);
      for (const char* chunk : {"off", "auto", "1", "2", "4"})
        for (int parts : {1, 2, 3}) {
          INFO("batch " << rows << ", AXON_CPU_INFER_CHUNK=" << chunk << ", parts " << parts);
          Chunk c(chunk);
          Parts forced(parts);
          const Params& own = fresh(p, keep);  // a new plan, built with these settings
          const int64_t before = predict_cpu_chunks();
          for (int call = 0; call < 2; ++call) test::check_close(predict(m, own, x), ref, kTol);
          const std::string s = chunk;
          const int64_t size = s == "off" ? 0 : s == "auto" ? automatic : std::stoll(s);
          CHECK(predict_cpu_chunks() - before == (planned ? 2 * chunks_of(rows, parts, size) : 0));
        }
    }
  }
}

TEST_CASE("predict's chunked conv runs as the batch, the kernels' values and the params change",
          "[model][predict][conv][chunk]") {
  Chunk c("2");
  // A pool whose output two convs read ends the chunked run (its buffer is whole); a conv last is
  // not chunked (it writes the result).
  const Model x = input("x", {-1, 12, 12, 3});
  const Model pooled = max_pool(conv(x, 8, {.kernel_size = {3}, .activation = "relu"}), {.kernel_size = {2}});
  const Model branches = concatenate(conv(pooled, 4, {.kernel_size = {3}, .padding = PaddingMode::same}),
                                       conv(pooled, 4, {.kernel_size = {1}}));
  const Model last = input("x", {-1, 12, 12, 3}) | conv(6, {.kernel_size = {3}, .activation = "relu"}) |
                     max_pool({.kernel_size = {2}}) | conv(5, {.kernel_size = {3}});
  for (const Model& m : {fashion_mnist_cnn(), branches, last}) {
    Params p = random_params(m, 8);
    const Shape s = m.input_shapes().begin()->second;
    for (int parts : {1, 2}) {
      Parts forced(parts);
      for (int64_t rows : {65, 1, 7, 64, 3, 65}) {
        INFO("parts " << parts << ", batch " << rows);
        check_predict(m, p, randn({rows, s[1], s[2], s[3]}));
      }
    }
    // Kernels changed in place are read by every lane's primitives; replaced ones build a new plan.
    check_kernel_changes(m, p, 9);
  }
}

TEST_CASE("predict's max-pool step: NaN wins and infinities count, as in apply", "[model][predict][conv]") {
  const Model m = input("x", {-1, 6, 6, 40}) | max_pool({.kernel_size = {2}});
  Tensor x = randn({2, 6, 6, 40});
  float* v = x.data<float>();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Channel 3 (a vector of 32) and 35 (of 8): a NaN first or last in a window, +inf, -inf, and
  // huge values whose sum overflows.
  v[3] = nan;                                  // item 0, cell (0, 0): first cell of its window
  v[(1 * 6 + 1) * 40 + 35] = nan;              // cell (1, 1): last of its window
  v[(2 * 6 + 2) * 40 + 3] = inf;               // window (1, 1)
  v[(4 * 6 + 4) * 40 + 35] = -inf;             // window (2, 2), with finite others
  for (int c = 0; c < 4; ++c) v[36 * 40 + (c / 2 * 6 + c % 2) * 40 + 7] = 3e38f;  // item 1, window (0, 0)
  const Tensor ref = apply(m, {}, x).output;
  const Tensor got = predict(m, {}, x);
  const float* r = ref.data<float>();
  const float* y = got.data<float>();
  CHECK(std::isnan(y[3]));
  CHECK(std::isnan(y[35]));
  CHECK(y[(1 * 3 + 1) * 40 + 3] == inf);
  CHECK(y[36 * 10 + 7] == 3e38f);
  for (int64_t i = 0; i < ref.numel(); ++i) {
    INFO("element " << i);
    if (std::isnan(r[i])) CHECK(std::isnan(y[i]));
    else CHECK(y[i] == r[i]);
  }
}
