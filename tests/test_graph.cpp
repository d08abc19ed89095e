// compile(): whole functions captured as CUDA graphs and replayed (axon/graph.hpp). On the CPU the
// compiled function is the eager one behind the same input checks; the [cuda] cases check the
// graph against eager calls: elementwise chains, matmul + softmax, training steps, dropout masks
// from the generator's state at each replay, host syncs refused during the capture, deferred range
// checks, donation and what it leaves to the caller.
#include <axon/cuda_context.hpp>
#include <axon/graph.hpp>
#include <axon/model.hpp>
#include <axon/train.hpp>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;
using axon::test::check_close;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {

// One output per input of a small elementwise chain, and an eager reference in float64 on the host.
std::vector<Tensor> chain(const std::vector<Tensor>& in) {
  return {mul(exp(neg(in[0])), add(in[1], 2.0)), sub(in[0], mul(in[1], in[1]))};
}
std::vector<double> chain0_ref(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::exp(-a[i]) * (b[i] + 2.0);
  return r;
}

// One SGD step on the quadratic sum((p - t)^2): the new parameters, and the loss before the step.
std::vector<Tensor> sgd_step(const std::vector<Tensor>& in) {
  auto [loss, g] = value_and_grad([&](const Tensor& p) { return sum(square(sub(p, in[1]))); }, in[0]);
  return {sub(in[0], mul(g, 0.1)), loss};
}

// x in [-1, 1)^4, one-hot labels of argmax(x·A) over three classes.
std::pair<Tensor, Tensor> separable(int64_t n, uint64_t seed, Device d) {
  std::vector<double> xs = test::random_values(n * 4, -1, 1, seed);
  const double a[4][3] = {{1.0, -0.5, 0.2}, {-0.7, 1.0, 0.3}, {0.4, 0.6, -1.0}, {0.9, -0.2, 0.8}};
  std::vector<float> onehot(size_t(n * 3), 0.0f), xf(xs.begin(), xs.end());
  for (int64_t r = 0; r < n; ++r) {
    int k = 0;
    double best = -1e9;
    for (int c = 0; c < 3; ++c) {
      double z = 0;
      for (int j = 0; j < 4; ++j) z += xs[size_t(r * 4 + j)] * a[j][c];
      if (z > best) best = z, k = c;
    }
    onehot[size_t(r * 3 + k)] = 1.0f;
  }
  return {from_vector(xf, {n, 4}, d), from_vector(onehot, {n, 3}, d)};
}

Model dropout_mlp() {
  return input("input", {-1, 4}) | dense(16, {.activation = "relu"}) | dropout({.rate = 0.25}) |
         dense(3, {.activation = "softmax"});
}

void check_params_close(const Params& a, const Params& b, test::Tol tol) {
  REQUIRE(a.size() == b.size());
  for (const auto& [layer, ps] : b)
    for (const auto& [name, t] : ps) {
      INFO(layer << "/" << name);
      check_close(a.at(layer).at(name), t, tol);
    }
}

}  // namespace

TEST_CASE("compile on the CPU calls the function eagerly behind the compiled signature", "[graph]") {
  Tensor a = random_tensor({3, 5}, DType::f64, -1, 1, 1), b = random_tensor({3, 5}, DType::f64, -1, 1, 2);
  int calls = 0;
  CompiledFn f = compile(
      [&calls](const std::vector<Tensor>& in) {
        ++calls;
        return chain(in);
      },
      {a, b});
  CHECK(calls == 0);  // no warmup and no capture on the CPU
  CHECK_FALSE(f.captured());
  CHECK(f.device() == Device::cpu());
  CHECK(f.num_inputs() == 2);
  for (uint64_t seed = 3; seed < 6; ++seed) {
    Tensor x = random_tensor({3, 5}, DType::f64, -1, 1, seed), y = random_tensor({3, 5}, DType::f64, -1, 1, seed + 10);
    std::vector<Tensor> out = f({x, y});
    REQUIRE(out.size() == 2);
    check_close(out[0], chain0_ref(x.to_vector<double>(), y.to_vector<double>()), {3, 5}, {1e-12, 1e-12});
    check_close(out[1], sub(x, mul(y, y)), {0, 0});
  }
  CHECK(calls == 3);
  f.check();  // nothing deferred on the CPU
  CHECK_FALSE(cuda::capturing());
}

TEST_CASE("compiled functions check their inputs against the examples", "[graph]") {
  Tensor a = zeros({2, 4}), b = zeros({2, 4});
  CompiledFn f = compile(chain, {a, b});
  AXON_REQUIRE_THROWS_WITH(f({a}), "expected 2 input(s), got 1");
  AXON_REQUIRE_THROWS_WITH(f({a, zeros({3, 4})}),
                           "input 1 is f32[3, 4] on cpu but the function was compiled for f32[2, 4] on cpu");
  AXON_REQUIRE_THROWS_WITH(f({zeros({2, 4}, DType::f64), b}), "input 0 is f64[2, 4] on cpu");
  AXON_REQUIRE_THROWS_WITH(f({Tensor(), b}), "input 0 is undefined");
  // An error inside the function reaches the caller as it is.
  CompiledFn g = compile([](const std::vector<Tensor>& in) { return std::vector<Tensor>{matmul(in[0], in[1])}; },
                         {zeros({2, 3}), zeros({4, 5})});
  AXON_REQUIRE_THROWS_WITH(g({zeros({2, 3}), zeros({4, 5})}), "matmul");
  CompiledFn empty;
  AXON_REQUIRE_THROWS_WITH(empty({}), "empty");
}

TEST_CASE("compile checks its options", "[graph]") {
  Tensor a = zeros({2});
  AXON_REQUIRE_THROWS_WITH(compile(CompiledFn::Fn(), {a}), "the function is empty");
  AXON_REQUIRE_THROWS_WITH(compile(chain, {a, a}, {.warmup = -1}), "warmup must be non-negative, got -1");
  AXON_REQUIRE_THROWS_WITH(compile(chain, {a, Tensor()}), "example input 1 is undefined");
  AXON_REQUIRE_THROWS_WITH(compile(chain, {a, a}, {.donate = {{0, 2}}}), "input 2 is out of range for 2 input(s)");
  AXON_REQUIRE_THROWS_WITH(compile(chain, {a, a}, {.donate = {{0, 0}, {0, 1}}}), "output 0 is donated twice");
  AXON_REQUIRE_THROWS_WITH(compile(chain, {a, a}, {.donate = {{0, 1}, {1, 1}}}), "input 1 receives two outputs");
  // The output side of a donation is known once the function has run.
  CompiledFn f = compile(sgd_step, {zeros({3}), zeros({3})}, {.donate = {{1, 0}}});
  AXON_REQUIRE_THROWS_WITH(f({zeros({3}), zeros({3})}),
                           "output 1 (f32[] on cpu) is donated to input 0 (f32[3] on cpu): their shapes and dtypes must "
                           "match");
  CompiledFn g = compile(sgd_step, {zeros({3}), zeros({3})}, {.donate = {{2, 0}}});
  AXON_REQUIRE_THROWS_WITH(g({zeros({3}), zeros({3})}), "donate {2, 0}: the function returned 2 output(s)");
  // A function without inputs runs on the device the options name (the CPU by default).
  CompiledFn h = compile([](const std::vector<Tensor>&) { return std::vector<Tensor>{arange(4.0)}; }, {});
  check_close(h({})[0], {0, 1, 2, 3}, {4}, {0, 0});
}

TEST_CASE("a donated chain of compiled calls equals the eager chain", "[graph]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor p0 = from_vector<float>({1, -2, 3, 0.5f}, {4}, d), t = from_vector<float>({0, 1, 2, 3}, {4}, d);
    CompiledFn f = compile(sgd_step, {p0, t}, {.donate = {{0, 0}}});
    CHECK(f.captured() == d.is_cuda());
    // Eager reference on the host: p <- p - 0.2 (p - t), loss = sum((p - t)^2) before the step.
    std::vector<double> p = {1, -2, 3, 0.5}, tv = {0, 1, 2, 3};
    std::vector<Tensor> state = {p0, t};
    for (int step = 0; step < 5; ++step) {
      double loss = 0;
      for (size_t i = 0; i < 4; ++i) loss += (p[i] - tv[i]) * (p[i] - tv[i]);
      for (size_t i = 0; i < 4; ++i) p[i] -= 0.2 * (p[i] - tv[i]);
      std::vector<Tensor> out = f(state);
      INFO("step " << step);
      check_close(out[0], p, {4}, {1e-6, 1e-6});
      check_close(out[1], {loss}, {}, {1e-5, 1e-6});
      state = {out[0], t};
    }
    // The examples themselves were only copied in.
    check_close(p0, {1, -2, 3, 0.5}, {4}, {0, 0});
  }
}

TEST_CASE("a compiled train step computes what the eager one does, with dropout and partial batches",
          "[graph][train]") {
  // 80 rows: batches of 32, 32 and a partial 16 (run eagerly); 64: every epoch ends on a replay.
  for (auto [d, rows] : {std::pair{Device::cpu(), 80}, {Device::cpu(), 64}, {Device::cuda(0), 80}, {Device::cuda(0), 64}}) {
    if (d.is_cuda() && !test::has_cuda()) continue;
    INFO(d.str() << ", " << rows << " rows");
    auto [x, y] = separable(rows, 4, d);
    Dataset data = tensor_dataset(x, y, {.batch_size = 32, .shuffle = true, .seed = 1});
    auto run = [&](bool compiled) {
      Loop loop = trainer(dropout_mlp(), "categorical_cross_entropy", optim::adam(0.01),
                          {.log = 0, .seed = 9, .compile = compiled});
      metric(loop, "accuracy");
      return loop.run(data, {}, {.epochs = 3});
    };
    LoopState eager = run(false), graph = run(true);
    const test::Tol tol{d.is_cpu() ? 0.0 : 1e-5, d.is_cpu() ? 0.0 : 1e-6};
    check_params_close(model_state(graph), model_state(eager), tol);
    CHECK(graph.step_state.at("rng/offset").item<int64_t>() == eager.step_state.at("rng/offset").item<int64_t>());
    // Every epoch's metrics, kept by the loop across later steps, are the eager run's.
    for (int64_t e = 0; e < 3; ++e) {
      INFO("epoch " << e);
      auto a = metric_values(graph.epoch_metrics.at(e)), b = metric_values(eager.epoch_metrics.at(e));
      CHECK(a.at("loss") == Catch::Approx(b.at("loss")).epsilon(1e-5));
      CHECK(a.at("accuracy") == Catch::Approx(b.at("accuracy")).epsilon(1e-6));
    }
  }
}

TEST_CASE("five compiled train steps equal five eager steps", "[graph][train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    auto [x, y] = separable(32, 7, d);
    Batch b{x, y};
    Step eager = train_step(dropout_mlp(), "categorical_cross_entropy", optim::adamw(0.01), {.seed = 3});
    Step graph = train_step(dropout_mlp(), "categorical_cross_entropy", optim::adamw(0.01),
                            {.seed = 3, .compile = true});
    StepState se = eager.init(b, {}), sg = graph.init(b, {});
    const test::Tol tol{d.is_cpu() ? 0.0 : 1e-5, d.is_cpu() ? 0.0 : 1e-6};
    for (int k = 0; k < 5; ++k) {
      INFO("step " << k);
      se = eager.step(b, se);
      sg = graph.step(b, sg);
      check_params_close(sg.params("model_state"), se.params("model_state"), tol);
      check_close(sg.at("loss"), se.at("loss"), tol);
      check_close(sg.at("y_pred"), se.at("y_pred"), tol);
      CHECK(sg.at("i").item<int64_t>() == k + 1);
      CHECK(sg.at("rng/offset").item<int64_t>() == se.at("rng/offset").item<int64_t>());
    }
  }
}

TEST_CASE("a compiled elementwise chain replays with new inputs", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor a = random_tensor({64, 33}, DType::f32, -1, 1, 1, d), b = random_tensor({64, 33}, DType::f32, -1, 1, 2, d);
  CompiledFn f = compile(chain, {a, b});
  CHECK(f.captured());
  for (uint64_t seed = 3; seed < 7; ++seed) {
    Tensor x = random_tensor({64, 33}, DType::f32, -1, 1, seed, d);
    // A non-contiguous input is copied into the contiguous buffer.
    Tensor y = random_tensor({33, 64}, DType::f32, -1, 1, seed + 10, d).t();
    std::vector<Tensor> out = f({x, y});
    INFO("seed " << seed);
    check_close(out[0], chain0_ref(x.to_vector<double>(), y.to_vector<double>()), {64, 33}, tol_for(DType::f32));
    check_close(out[1], chain({x, y})[1], {0, 0});
  }
  AXON_REQUIRE_THROWS_WITH(f({a.to(Device::cpu()), b}), "input 0 is f32[64, 33] on cpu");
}

TEST_CASE("a compiled matmul + softmax equals the eager ops", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor w = random_tensor({32, 10}, DType::f32, -1, 1, 5, d);
  auto fn = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{softmax(matmul(in[0], in[1]), -1)}; };
  CompiledFn f = compile(fn, {random_tensor({16, 32}, DType::f32, -1, 1, 1, d), w});
  for (uint64_t seed = 2; seed < 5; ++seed) {
    Tensor a = random_tensor({16, 32}, DType::f32, -1, 1, seed, d);
    Tensor got = f({a, w})[0];
    check_close(got, fn({a, w})[0], {1e-5, 1e-6});
    check_close(sum(got, {-1}), std::vector<double>(16, 1.0), {16}, {1e-5, 1e-6});
  }
}

TEST_CASE("replays of a graphed broadcast batched matmul keep memory flat", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  // A shared by the 8 batches (stride 0): cuBLAS's strided-batched GEMM, not cuBLASLt. Its handle
  // keeps the context's workspace; re-binding the stream at every call would reset it to cuBLAS's
  // own pool, which allocates.
  Tensor a = random_tensor({16, 32}, DType::f32, -1, 1, 60, d), b = random_tensor({8, 32, 24}, DType::f32, -1, 1, 61, d);
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor y = matmul(in[0], in[1]);
    return std::vector<Tensor>{y, sum(mul(y, y))};
  };
  CompiledFn f = compile(fn, {a, b});
  f({a, b});
  synchronize(d);
  const MemoryStats before = memory_stats(d);
  for (int i = 0; i < 100; ++i) f({a, b});
  synchronize(d);
  const MemoryStats after = memory_stats(d);
  CHECK(after.in_use == before.in_use);
  CHECK(after.reserved == before.reserved);
  const std::vector<Tensor> got = f({a, b}), want = fn({a, b});
  check_close(got[0], want[0], {1e-4, 1e-5});
  check_close(got[1], want[1], {1e-4, 1e-5});
}

TEST_CASE("dropout in a compiled function draws fresh masks, the eager ones from the same generator state",
          "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor x = ones({64, 64}, DType::f32, d);
  Generator g(7);
  CompiledFn f = compile(
      [&g](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{layers::dropout(in[0], g, {.rate = 0.5, .training = true})};
      },
      {x});
  std::vector<std::vector<float>> masks;
  for (int rep = 0; rep < 3; ++rep) {
    Generator e(g.seed);
    e.offset = g.offset;
    Tensor expect = layers::dropout(x, e, {.rate = 0.5, .training = true});
    std::vector<float> got = f({x})[0].to_vector<float>();
    INFO("replay " << rep);
    CHECK(got == expect.to_vector<float>());
    CHECK(g.offset == e.offset);  // the replay advanced the generator as the eager call did
    masks.push_back(got);
  }
  CHECK(masks[0] != masks[1]);
  CHECK(masks[1] != masks[2]);
  // A draw from a generator that dies with the call cannot be replayed.
  AXON_REQUIRE_THROWS_WITH(compile(
                               [](const std::vector<Tensor>& in) {
                                 Generator local(3);
                                 return std::vector<Tensor>{layers::dropout(in[0], local, {.rate = 0.5, .training = true})};
                               },
                               {x}),
                           "destroyed during the capture");
}

TEST_CASE("host synchronisation inside a capture throws and leaves the stream usable", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor x = from_vector<float>({1, 2, 3, 4}, {4}, d);
  std::vector<bool> seen;
  CompiledFn ok = compile(
      [&seen](const std::vector<Tensor>& in) {
        seen.push_back(cuda::capturing(0));
        return std::vector<Tensor>{add(in[0], 1.0)};
      },
      {x}, {.warmup = 2});
  CHECK(seen == std::vector<bool>{false, false, true});
  auto one = [](auto body) {
    return [body](const std::vector<Tensor>& in) { return std::vector<Tensor>{body(in[0])}; };
  };
  AXON_REQUIRE_THROWS_WITH(compile(one([](const Tensor& t) { return mul(t, t.sum().item<float>()); }), {x}),
                           "item: reading a CUDA tensor's value on the host cannot run inside a CUDA graph capture");
  AXON_REQUIRE_THROWS_WITH(compile(one([](const Tensor& t) { return t.to(Device::cpu()).to(t.device()); }), {x}),
                           "cannot run inside a CUDA graph capture");
  AXON_REQUIRE_THROWS_WITH(compile(one([](const Tensor& t) {
                                     synchronize(t.device());
                                     return t;
                                   }),
                                   {x}),
                           "synchronize: waiting for the device cannot run inside a CUDA graph capture");
  AXON_REQUIRE_THROWS_WITH(compile(one([](const Tensor& t) {
                                     Tensor host = sum(ones({2}));  // runs on the CPU, once, in the capture
                                     return add(t, 1.0);
                                   }),
                                   {x}),
                           "an op on CPU tensors cannot run inside a CUDA graph capture");
  // The stream works, and so do compiled functions made before and after.
  check_close(add(x, 1.0), {2, 3, 4, 5}, {4}, {0, 0});
  check_close(ok({x})[0], {2, 3, 4, 5}, {4}, {0, 0});
  CompiledFn again = compile(one([](const Tensor& t) { return mul(t, 3.0); }), {x});
  check_close(again({x})[0], {3, 6, 9, 12}, {4}, {0, 0});
  CHECK_FALSE(cuda::capturing());
}

TEST_CASE("range checks inside a graph are deferred and fail the next call", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor logits = random_tensor({4, 3}, DType::f32, -1, 1, 1, d);
  Tensor good = from_vector<int64_t>({0, 1, 2, 1}, {4}, d), bad = from_vector<int64_t>({0, 5, 2, 1}, {4}, d);
  auto fn = [](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{sparse_softmax_cross_entropy(in[0], in[1]), take(in[0], in[1], 1)};
  };
  CompiledFn f = compile(fn, {logits, good});
  check_close(f({logits, good})[0], fn({logits, good})[0], {1e-6, 1e-6});
  f.check();
  f({logits, bad});
  AXON_REQUIRE_THROWS_WITH(f.check(), "class ids must lie in [0, 3)");
  AXON_REQUIRE_THROWS_WITH(f({logits, good}), "failed during an earlier replay");  // and every later call
}

TEST_CASE("donated results are consumed when passed back alone and keep their value when held", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor p = from_vector<float>({1, 2, 3}, {3}, d);
  auto twice = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{mul(in[0], 2.0)}; };
  CompiledFn f = compile(twice, {p}, {.donate = {{0, 0}}});
  std::vector<Tensor> o1 = f({p});
  check_close(p, {1, 2, 3}, {3}, {0, 0});  // an input from outside is copied in, never changed
  check_close(o1[0], {2, 4, 6}, {3}, {0, 0});
  std::vector<Tensor> o2 = f(o1);  // o1 alone holds the result: consumed in place
  check_close(o2[0], {4, 8, 12}, {3}, {0, 0});
  Tensor kept = o2[0], view = o2[0].reshape({3, 1});
  std::vector<Tensor> o3 = f(o2);  // held elsewhere too: it keeps its value
  check_close(o3[0], {8, 16, 24}, {3}, {0, 0});
  check_close(kept, {4, 8, 12}, {3}, {0, 0});
  check_close(view, {4, 8, 12}, {3, 1}, {0, 0});
  // A view of a result passed as an input is read before the buffer changes.
  std::vector<Tensor> o4 = f({o3[0].reshape({3, 1}).reshape({3})});
  check_close(o4[0], {16, 32, 48}, {3}, {0, 0});
  // Results outlive the compiled function.
  Tensor last = o4[0];
  f = CompiledFn();
  check_close(last, {16, 32, 48}, {3}, {0, 0});
}

TEST_CASE("a captured call must not keep its tensors beyond the call", "[graph][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device d = Device::cuda(0);
  Tensor x = ones({8}, DType::f32, d);
  Tensor stash;
  AXON_REQUIRE_THROWS_WITH(compile(
                               [&stash](const std::vector<Tensor>& in) {
                                 Tensor y = add(in[0], 1.0);
                                 stash = y;
                                 return std::vector<Tensor>{y};
                               },
                               {x}),
                           "still referenced after it returned");
  stash = Tensor();
  check_close(mul(x, 2.0), std::vector<double>(8, 2.0), {8}, {0, 0});
}
