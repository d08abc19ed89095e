// Training models with the loop: trainer / evaluator / validate / train() on a small MLP and
// synthetic, linearly separable data; batch_norm's running statistics updated by train steps; the
// logged loss; checkpoints that resume a dropout model into exactly the uninterrupted run.
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {

// x uniform in [-1, 1)^4, class = argmax(x·A): three classes separated by hyperplanes.
struct Data {
  Tensor x, y;              // y one-hot f32
  std::vector<int64_t> ids;
};
Data separable(int64_t n, uint64_t seed, Device d) {
  std::vector<double> xs = test::random_values(n * 4, -1, 1, seed);
  const double a[4][3] = {{1.0, -0.5, 0.2}, {-0.7, 1.0, 0.3}, {0.4, 0.6, -1.0}, {0.9, -0.2, 0.8}};
  Data out;
  std::vector<float> onehot(size_t(n * 3), 0.0f), xf(xs.begin(), xs.end());
  for (int64_t r = 0; r < n; ++r) {
    double best = -1e9;
    int64_t k = 0;
    for (int c = 0; c < 3; ++c) {
      double z = 0;
      for (int j = 0; j < 4; ++j) z += xs[size_t(r * 4 + j)] * a[j][c];
      if (z > best) { best = z; k = c; }
    }
    out.ids.push_back(k);
    onehot[size_t(r * 3 + k)] = 1.0f;
  }
  out.x = from_vector(xf, {n, 4}, d);
  out.y = from_vector(onehot, {n, 3}, d);
  return out;
}
Model mlp() { return input("input", {-1, 4}) | dense(16, {.activation = "relu"}) | dense(3, {.activation = "softmax"}); }

// Accuracy and mean cross-entropy of `params` on `data`, computed on the host in double.
std::pair<double, double> host_scores(const Model& m, const Params& params, const Data& data) {
  std::vector<float> p = predict(m, params, data.x).to_vector<float>();
  int64_t n = int64_t(data.ids.size());
  double correct = 0, ce = 0;
  for (int64_t r = 0; r < n; ++r) {
    int64_t k = 0;
    for (int c = 1; c < 3; ++c)
      if (p[size_t(r * 3 + c)] > p[size_t(r * 3 + k)]) k = c;
    correct += k == data.ids[size_t(r)];
    ce -= std::log(double(p[size_t(r * 3 + data.ids[size_t(r)])]));
  }
  return {correct / double(n), ce / double(n)};
}

}  // namespace

TEST_CASE("trainer fits an MLP on separable data and validate reports the held-out metrics", "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Data tr = separable(512, 1, d), te = separable(256, 2, d);
    Model m = mlp();
    Loop loop = trainer(m, "categorical_cross_entropy", optim::adam(0.01), {.log = 0});
    metric(loop, "accuracy");
    validate(loop, m, tensor_dataset(te.x, te.y, {.batch_size = 256}));
    LoopState s = loop.run(tensor_dataset(tr.x, tr.y, {.batch_size = 32, .shuffle = true, .seed = 3}), {}, {.epochs = 8});
    CHECK(s.status == Status::completed);
    auto first = metric_values(s.epoch_metrics.at(0)), last = metric_values(s.epoch_metrics.at(7));
    CHECK(last.at("accuracy") > 0.9);
    CHECK(last.at("loss") < first.at("loss"));
    Params trained = model_state(s);
    CHECK(trained.at("dense_0").at("kernel").device() == d);
    auto [acc, ce] = host_scores(m, trained, te);
    CHECK(acc > 0.9);
    // validate ran after the last epoch's updates, on the whole test set in one batch.
    CHECK(last.at("validation_accuracy") == Catch::Approx(acc).margin(1e-6));
    CHECK(last.at("validation_loss") == Catch::Approx(ce).epsilon(1e-5));

    // An evaluator with the trained parameters gives the same numbers.
    Loop ev = evaluator(m, {.log = 0});
    metric(ev, "accuracy");
    LoopState e = ev.run(tensor_dataset(te.x, te.y, {.batch_size = 64}), initial_state(trained));
    CHECK(metric_values(e.epoch_metrics.at(0)).at("accuracy") == Catch::Approx(acc).margin(1e-6));
  }
}

TEST_CASE("train() trains a train_step in one call, and losses and optimizers by name", "[train]") {
  Data tr = separable(512, 1, Device::cpu()), te = separable(256, 2, Device::cpu());
  Model m = mlp();
  auto step = train_step(m, losses::categorical_cross_entropy, optim::adamw(0.005));
  Params trained = training::train(step, tr.x, tr.y, {.epochs = 10, .batch_size = 32, .log = 0});
  CHECK(host_scores(m, trained, te).first > 0.9);

  // Starting from given parameters: zero epochs of training return them.
  Params start = init(m, {.seed = 42});
  Params same = training::train(step, tr.x, tr.y, {.epochs = 0, .log = 0, .initial_params = start});
  test::check_close(same.at("dense_1").at("kernel"), start.at("dense_1").at("kernel"), {0, 0});

  // Frozen layers keep their initial values and have no optimizer state (Axon's ModelState.freeze).
  Loop frozen = trainer(m, "categorical_cross_entropy", optim::adam(0.01), {.log = 0, .frozen = freeze_layers({"dense_0"})});
  LoopState fs = frozen.run(tensor_dataset(tr.x, tr.y, {.batch_size = 64}), initial_state(start), {.epochs = 2});
  test::check_close(model_state(fs).at("dense_0").at("kernel"), start.at("dense_0").at("kernel"), {0, 0});
  test::check_close(model_state(fs).at("dense_0").at("bias"), start.at("dense_0").at("bias"), {0, 0});
  CHECK(max(abs(sub(model_state(fs).at("dense_1").at("kernel"), start.at("dense_1").at("kernel")))).item<float>() > 1e-3f);
  for (const auto& [k, v] : fs.step_state.sub("optimizer_state")) CHECK(k.find("dense_0") == std::string::npos);

  LoopState s = trainer(m, "mean_squared_error", "sgd", {.log = 0}).run(tensor_dataset(tr.x, tr.y, {.batch_size = 64}));
  CHECK(s.status == Status::completed);
  AXON_REQUIRE_THROWS_WITH(trainer(m, "no_such_loss", "sgd"), "unknown loss 'no_such_loss'");
  AXON_REQUIRE_THROWS_WITH(trainer(m, "hinge", "no_such_opt"), "unknown optimizer 'no_such_opt'");
  AXON_REQUIRE_THROWS_WITH(evaluator(m).run(tensor_dataset(tr.x, tr.y)), "no model_state in the initial state");
}

TEST_CASE("trainer's progress line starts with the initial model's batch loss", "[train][progress]") {
  Data tr = separable(128, 4, Device::cpu());
  Model m = mlp();
  std::ostringstream out;
  Loop loop = trainer(m, "categorical_cross_entropy", optim::sgd(0.1), {.log = 2, .out = &out, .terminal = true, .seed = 5});
  loop.run(tensor_dataset(tr.x, tr.y, {.batch_size = 32}), {}, {.epochs = 2});
  std::string text = out.str();
  // 4 batches per epoch, redrawn after batches 1 and 3, and each epoch's final line (with its newline).
  size_t lines = 0;
  for (size_t at = text.find("\rEpoch "); at != std::string::npos; at = text.find("\rEpoch ", at + 1)) ++lines;
  CHECK(lines == 6);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  REQUIRE(text.rfind("\rEpoch 1/2 1/4 [", 0) == 0);
  CHECK(text.find("\rEpoch 1/2 3/4 [") != std::string::npos);
  CHECK(text.find("\rEpoch 2/2 4/4 [") != std::string::npos);
  CHECK(text.back() == '\n');
  size_t at = text.find("loss: ");
  REQUIRE(at != std::string::npos);
  std::string number = text.substr(at + 6, 9);
  CHECK(number.size() == 9);  // "%.7f" of a loss below 10
  // The same initial parameters (seed 5), the first 32 rows, no dropout: train mode = inference.
  Params p0 = init(m, {.seed = 5});
  Data first{tr.x.slice(0, 0, 32), tr.y.slice(0, 0, 32), std::vector<int64_t>(tr.ids.begin(), tr.ids.begin() + 32)};
  CHECK(std::stod(number) == Catch::Approx(host_scores(m, p0, first).second).margin(1e-6));
}

TEST_CASE("train steps update batch_norm's running statistics and keep them out of the optimizer", "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    // Two features with means 3 and -2 and spreads 0.5 and 2.
    int64_t n = 64;
    std::vector<double> u = test::random_values(n * 2, -1, 1, 9);
    std::vector<float> xs(size_t(n * 2)), ys(size_t(n * 2), 0.0f);
    double sum[2] = {0, 0}, sq[2] = {0, 0};
    for (int64_t r = 0; r < n; ++r) {
      xs[size_t(2 * r)] = float(3 + 0.5 * u[size_t(2 * r)]);
      xs[size_t(2 * r + 1)] = float(-2 + 2 * u[size_t(2 * r + 1)]);
      ys[size_t(2 * r + (u[size_t(2 * r)] > 0 ? 1 : 0))] = 1.0f;
      for (int j = 0; j < 2; ++j) {
        sum[j] += xs[size_t(2 * r + j)];
        sq[j] += double(xs[size_t(2 * r + j)]) * xs[size_t(2 * r + j)];
      }
    }
    Tensor x = from_vector(xs, {n, 2}, d), y = from_vector(ys, {n, 2}, d);
    Model m = input("x", {-1, 2}) | batch_norm() | dense(2, {.activation = "softmax"});
    Loop loop = trainer(m, "categorical_cross_entropy", optim::adam(0.01), {.log = 0});
    // One step on the whole batch: PyTorch's update with momentum 0.1 from mean 0, var 1, with the
    // unbiased batch variance.
    LoopState one = loop.run(tensor_dataset(x, y, {.batch_size = n}), {}, {.epochs = 1});
    Params p1 = model_state(one);
    std::vector<double> mean_expect, var_expect;
    for (int j = 0; j < 2; ++j) {
      double mu = sum[j] / double(n);
      mean_expect.push_back(0.1 * mu);
      var_expect.push_back(0.9 + 0.1 * (sq[j] - double(n) * mu * mu) / double(n - 1));
    }
    test::check_close(p1.at("batch_norm_0").at("mean"), mean_expect, {2}, {1e-5, 1e-5});
    test::check_close(p1.at("batch_norm_0").at("var"), var_expect, {2}, {1e-4, 1e-4});
    // Trainable entries only in the optimizer state.
    auto opt = one.step_state.sub("optimizer_state");
    bool has_gamma = false, has_state = false;
    for (const auto& [k, v] : opt) {
      has_gamma = has_gamma || k.find("batch_norm_0/gamma") != std::string::npos;
      has_state = has_state || k.find("batch_norm_0/mean") != std::string::npos || k.find("batch_norm_0/var") != std::string::npos;
    }
    CHECK(has_gamma);
    CHECK_FALSE(has_state);
    // Many steps: the running mean approaches the data's.
    LoopState many = loop.run(tensor_dataset(x, y, {.batch_size = 16, .shuffle = true}), {}, {.epochs = 15});
    test::check_close(model_state(many).at("batch_norm_0").at("mean"), {sum[0] / double(n), sum[1] / double(n)}, {2},
                      {0, 0.05});
  }
}

TEST_CASE("a dropout model resumed from a checkpoint continues exactly as the uninterrupted run", "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Data tr = separable(96, 6, d);
    Model m = input("input", {-1, 4}) | dense(8, {.activation = "relu"}) | dropout({.rate = 0.3}) |
              dense(3, {.activation = "softmax"});
    Dataset data = tensor_dataset(tr.x, tr.y, {.batch_size = 32, .shuffle = true, .seed = 2});
    auto make = [&] {
      Loop loop = trainer(m, "categorical_cross_entropy", optim::adam(0.01), {.log = 0, .seed = 11});
      metric(loop, "accuracy");
      return loop;
    };
    LoopState full = make().run(data, {}, {.epochs = 3});

    std::string dir = test::fresh_dir("dropout_" + d.str());
    Loop first = make();
    checkpoint(first, {.path = dir});
    first.run(data, {}, {.epochs = 1});
    Loop second = make();
    second.from_state(load_state(dir + "/checkpoint_epoch_1.safetensors", d));
    LoopState resumed = second.run(data, {}, {.epochs = 2});
    Params a = model_state(resumed), b = model_state(full);
    for (const auto& [layer, ps] : b)
      for (const auto& [name, t] : ps) {
        INFO(layer << "/" << name);
        test::check_close(a.at(layer).at(name), t, {d.is_cpu() ? 0.0 : 1e-6, d.is_cpu() ? 0.0 : 1e-6});
      }
    CHECK(metric_values(resumed.epoch_metrics.at(2)).at("loss") ==
          Catch::Approx(metric_values(full.epoch_metrics.at(2)).at("loss")).epsilon(1e-6));
    // The generator's state is part of what resumes: restarting its offset at 0 draws other masks.
    LoopState reset = load_state(dir + "/checkpoint_epoch_1.safetensors", d);
    CHECK(reset.step_state.at("rng/offset").item<int64_t>() > 0);
    reset.step_state["rng/offset"] = scalar_tensor(0, DType::i64);
    Loop third = make();
    third.from_state(reset);
    Params c = model_state(third.run(data, {}, {.epochs = 2}));
    CHECK(max(abs(sub(c.at("dense_1").at("kernel"), b.at("dense_1").at("kernel")))).item<float>() > 1e-5f);
    std::filesystem::remove_all(dir);
  }
}
