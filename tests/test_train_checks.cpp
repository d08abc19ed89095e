// NaN and nonsense caught in training (issue 15): stop_on_nan halts at the first non-finite loss
// and names its epoch and batch; handler wiring errors surface when run() starts, before any step;
// losses and metrics by name take options (sparse integer labels, logits).
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {

constexpr int64_t kBatches = 8, kBatch = 4;

// Class = argmax(x·A) for x in [-1, 1)^4, with the labels as integer class ids (i64 [N], as
// data::load_fashion_mnist gives them) and one-hot.
struct Data {
  Tensor x, ids, onehot;
};
Data separable(int64_t n, uint64_t seed) {
  std::vector<double> xs = test::random_values(n * 4, -1, 1, seed);
  const double a[4][3] = {{1.0, -0.5, 0.2}, {-0.7, 1.0, 0.3}, {0.4, 0.6, -1.0}, {0.9, -0.2, 0.8}};
  std::vector<int64_t> ids;
  std::vector<float> onehot(size_t(n * 3), 0.0f), xf(xs.begin(), xs.end());
  for (int64_t r = 0; r < n; ++r) {
    double best = -1e9;
    int64_t k = 0;
    for (int c = 0; c < 3; ++c) {
      double z = 0;
      for (int j = 0; j < 4; ++j) z += xs[size_t(r * 4 + j)] * a[j][c];
      if (z > best) {
        best = z;
        k = c;
      }
    }
    ids.push_back(k);
    onehot[size_t(r * 3 + k)] = 1.0f;
  }
  return {from_vector(xf, {n, 4}), from_vector(ids, {n}), from_vector(onehot, {n, 3})};
}

Model logits_mlp() { return input("input", {-1, 4}) | dense(8, {.activation = "relu"}) | dense(3); }

// kBatches batches per epoch of a fixed regression problem whose targets are NaN in batch
// `bad_batch` of epoch `bad_epoch` only (so the loss turns NaN exactly there).
Dataset poisoned(int64_t bad_epoch, int64_t bad_batch, Device dev = Device::cpu()) {
  Data d = separable(kBatches * kBatch, 5);
  Tensor xs = d.x.to(dev), ys = d.onehot.to(dev);
  return Dataset(kBatches, [xs, ys, dev, bad_epoch, bad_batch](int64_t epoch, int64_t i) {
    Tensor x = xs.slice(0, i * kBatch, (i + 1) * kBatch), y = ys.slice(0, i * kBatch, (i + 1) * kBatch);
    if (epoch == bad_epoch && i == bad_batch)
      y = full({kBatch, 3}, std::numeric_limits<double>::quiet_NaN(), DType::f32, dev);
    return Batch{x, y};
  });
}

// Counts the batches a loop ran.
std::shared_ptr<int64_t> count_batches(Loop& loop) {
  auto n = std::make_shared<int64_t>(0);
  loop.handle(Event::iteration_started, [n](LoopState&) {
    ++*n;
    return Action::continue_;
  });
  return n;
}

}  // namespace

TEST_CASE("trainer halts at the first NaN loss, naming its epoch and batch, checked at epoch ends", "[train][nan]") {
  for (Device dev : test::devices()) {
    INFO(dev.str());
    std::ostringstream out;
    Loop loop = trainer(logits_mlp(), "mean_squared_error", optim::sgd(0.05), {.log = 0, .out = &out});
    auto ran = count_batches(loop);
    LoopState s = loop.run(poisoned(1, 3, dev), {}, {.epochs = 4});
    CHECK(s.status == Status::halted);
    CHECK(s.halt_reason.find("stop_on_nan: the loss is not finite (NaN or infinite) from epoch 1, batch 3") !=
          std::string::npos);
    CHECK(s.handler_metadata.at("stop_on_nan/epoch") == 1);
    CHECK(s.handler_metadata.at("stop_on_nan/batch") == 3);
    CHECK(out.str().find("from epoch 1, batch 3") != std::string::npos);
    // Read back only at the end of epoch 1: its remaining batches ran, epoch 2 never started.
    CHECK(*ran == 2 * kBatches);
    CHECK(s.epoch_metrics.size() == 2);
    CHECK(std::isfinite(metric_values(s.epoch_metrics.at(0)).at("loss")));
    CHECK(std::isnan(metric_values(s.epoch_metrics.at(1)).at("loss")));
    CHECK(s.event_counts[Event::halted].total == 1);
  }
}

TEST_CASE("with a log interval, stop_on_nan halts at the next logged batch", "[train][nan]") {
  std::ostringstream out;
  Loop loop = trainer(logits_mlp(), "mean_squared_error", optim::sgd(0.05), {.log = 2, .out = &out, .terminal = true});
  auto ran = count_batches(loop);
  LoopState s = loop.run(poisoned(1, 3), {}, {.epochs = 4});
  CHECK(s.status == Status::halted);
  CHECK(s.halt_reason.find("from epoch 1, batch 3 ") != std::string::npos);
  // Logged (and checked) batches are 0, 2, 4, ... of each epoch: batch 4 of epoch 1 finds it.
  CHECK(*ran == kBatches + 5);
  CHECK(s.epoch_metrics.size() == 1);
  // The log line of batch 4 printed before the halt message, which sits on its own line.
  const std::string text = out.str();
  size_t line = text.find("\rEpoch 2/4 5/" + std::to_string(kBatches) + " [");
  REQUIRE(line != std::string::npos);
  size_t nan = text.find("loss: NaN", line), halt = text.find("\nstop_on_nan:", line);
  CHECK(nan < halt);
  CHECK(halt != std::string::npos);
  CHECK(text.find('\r', line + 1) > halt);

  // NaN in the very first batch.
  LoopState first = trainer(logits_mlp(), "mean_squared_error", "sgd", {.log = 1, .out = nullptr})
                        .run(poisoned(0, 0), {}, {.epochs = 2});
  CHECK(first.status == Status::halted);
  CHECK(first.halt_reason.find("from epoch 0, batch 0 ") != std::string::npos);
  CHECK(first.iteration == 1);
}

TEST_CASE("a normal run is unaffected by stop_on_nan, and it can be turned off", "[train][nan]") {
  Loop loop = trainer(logits_mlp(), "mean_squared_error", optim::sgd(0.05), {.log = 3, .out = nullptr});
  auto ran = count_batches(loop);
  LoopState s = loop.run(poisoned(-1, -1), {}, {.epochs = 3});
  CHECK(s.status == Status::completed);
  CHECK(s.halt_reason.empty());
  CHECK(s.handler_metadata.count("stop_on_nan/epoch") == 0);
  CHECK(*ran == 3 * kBatches);

  // Off: the NaN run goes to the end.
  Loop off = trainer(logits_mlp(), "mean_squared_error", optim::sgd(0.05), {.log = 0, .stop_on_nan = false});
  LoopState r = off.run(poisoned(0, 2), {}, {.epochs = 2});
  CHECK(r.status == Status::completed);
  CHECK(std::isnan(metric_values(r.epoch_metrics.at(1)).at("loss")));
}

TEST_CASE("stop_on_nan on a plain loop: any metric, infinite values, a halted epoch", "[train][nan]") {
  std::vector<double> values{1, 2, std::numeric_limits<double>::infinity(), 4, 5, 6};
  Dataset data(3, [&](int64_t epoch, int64_t i) { return Batch{scalar_tensor(values[size_t(epoch * 3 + i)], DType::f64), {}}; });
  auto make = [](StopOnNanOptions o) {
    Loop loop([](const Batch& b, const StepState& s) {
      StepState n = s;
      n["value"] = b.x;
      return n;
    });
    metric(loop, "value", [](const StepState& s) { return s.at("value"); }, {.accumulate = Accumulate::running_sum});
    stop_on_nan(loop, o);
    return loop;
  };
  LoopState s = make({.metric = "value", .out = nullptr}).run(data, {}, {.epochs = 2});
  CHECK(s.status == Status::halted);
  CHECK(s.halt_reason.find("the value is not finite (NaN or infinite) from epoch 0, batch 2") != std::string::npos);
  // every = 1: halts right after the bad batch.
  LoopState now = make({.metric = "value", .every = 1, .out = nullptr}).run(data, {}, {.epochs = 2});
  CHECK(now.iteration == 3);
  CHECK(now.status == Status::halted);

  AXON_REQUIRE_THROWS_WITH(make({.metric = "loss"}).run(data), "stop_on_nan: metric 'loss' is produced by nothing");
  AXON_REQUIRE_THROWS_WITH(make({.every = -1}), "stop_on_nan: every must be non-negative");
}

TEST_CASE("handler wiring errors are found when run() starts, before any step", "[train][errors]") {
  Data d = separable(32, 7);
  Dataset data = tensor_dataset(d.x, d.onehot, {.batch_size = 8});
  Model m = logits_mlp();
  auto fresh = [&] { return trainer(m, "mean_squared_error", optim::sgd(0.05), {.log = 0}); };
  {
    Loop loop = fresh();
    auto ran = count_batches(loop);
    early_stop(loop, "validation_loss");
    AXON_REQUIRE_THROWS_WITH(loop.run(data, {}, {.epochs = 2}),
                             "early_stop: metric 'validation_loss' is produced by nothing in this loop (its metrics: loss)");
    CHECK(*ran == 0);
  }
  {
    Loop loop = fresh();
    auto ran = count_batches(loop);
    checkpoint(loop, {.path = test::fresh_dir("criteria"), .criteria = "accuracy"});
    AXON_REQUIRE_THROWS_WITH(loop.run(data), "checkpoint: metric 'accuracy' is produced by nothing");
    CHECK(*ran == 0);
    CHECK(!std::filesystem::exists(test::fresh_dir("criteria")));
  }
  {
    Loop loop = fresh();
    monitor(loop, "val_acc", [](LoopState&) { return Action::continue_; });
    AXON_REQUIRE_THROWS_WITH(loop.run(data), "monitor: metric 'val_acc'");
    reduce_lr_on_plateau(loop, "lossy");
    AXON_REQUIRE_THROWS_WITH(loop.run(data), "metric 'val_acc'");
  }
  {
    // A scheduled learning rate has no 'scale' to reduce: found at `started`, not at the plateau.
    Loop loop = trainer(m, "mean_squared_error", optim::sgd(optim::schedules::constant(0.1)), {.log = 0});
    auto ran = count_batches(loop);
    reduce_lr_on_plateau(loop, "loss");
    AXON_REQUIRE_THROWS_WITH(loop.run(data), "no learning-rate entry ('scale')");
    CHECK(*ran == 0);
  }
  {
    // early_stop attached before validate on the same event would read validation_loss before it
    // is written.
    Loop early = fresh();
    auto ran = count_batches(early);
    early_stop(early, "validation_loss");
    validate(early, m, data);
    AXON_REQUIRE_THROWS_WITH(early.run(data), "early_stop: metric 'validation_loss' is written by validate, attached "
                                              "after early_stop on the same event (epoch_completed)");
    AXON_REQUIRE_THROWS_WITH(early.run(data), "attach validate first");
    CHECK(*ran == 0);
    // validate on another event (every 2nd batch) may come later: not judged.
    Loop other = fresh();
    early_stop(other, "validation_loss");
    validate(other, m, data, {.event = Event::iteration_completed, .filter = {.every = 2}});
    CHECK(other.run(data).status == Status::completed);
  }
  {
    // validate provides validation_loss; a handler's own metric is declared with produces().
    Loop loop = fresh();
    validate(loop, m, data);
    early_stop(loop, "validation_loss", {.patience = 10});
    loop.handle(Event::epoch_completed, [](LoopState& s) {
      s.metrics["twice_loss"] = mul(s.metrics.at("loss"), 2.0);
      return Action::continue_;
    });
    checkpoint(loop, {.path = test::fresh_dir("ok"), .criteria = "twice_loss"});
    AXON_REQUIRE_THROWS_WITH(loop.run(data), "checkpoint: metric 'twice_loss'");
    loop.produces("twice_loss");
    LoopState s = loop.run(data, {}, {.epochs = 2});
    CHECK(s.status == Status::completed);
    CHECK(metric_values(s.epoch_metrics.at(1)).count("validation_loss") == 1);
    std::filesystem::remove_all(test::fresh_dir("ok"));
  }
}

TEST_CASE("losses and metrics by name take options: sparse integer labels and logits", "[train]") {
  Data d = separable(16, 9);
  Tensor logits = test::random_tensor({16, 3}, DType::f32, -2, 2, 11);
  losses::CrossEntropyOptions ref_o;
  ref_o.from_logits = true;
  ref_o.sparse = true;
  ref_o.reduction = losses::Reduction::mean;
  double ref = losses::categorical_cross_entropy(d.ids, logits, ref_o).item<float>();
  Loss sparse_logits("categorical_cross_entropy", {.from_logits = true, .sparse = true});
  CHECK(sparse_logits(d.ids, logits).item<float>() == Catch::Approx(ref).epsilon(1e-6));
  CHECK(Loss("sparse_categorical_cross_entropy", {.from_logits = true})(d.ids, logits).item<float>() ==
        Catch::Approx(ref).epsilon(1e-6));
  // u8 labels, as an IDX file holds them, and [N, 1] labels.
  CHECK(sparse_logits(d.ids.to(DType::u8), logits).item<float>() == Catch::Approx(ref).epsilon(1e-6));
  CHECK(sparse_logits(d.ids.reshape({16, 1}), logits).item<float>() == Catch::Approx(ref).epsilon(1e-6));
  // The dense one-hot form of the same labels agrees.
  CHECK(Loss("categorical_cross_entropy", {.from_logits = true})(d.onehot, logits).item<float>() ==
        Catch::Approx(ref).epsilon(1e-5));

  AXON_REQUIRE_THROWS_WITH(Loss("categorical_cross_entropy")(d.ids, logits),
                           "categorical_cross_entropy: y_true i64[16]");
  AXON_REQUIRE_THROWS_WITH(Loss("categorical_cross_entropy")(d.ids, logits),
                           "holds integer class ids for y_pred f32[16, 3]");
  AXON_REQUIRE_THROWS_WITH(Loss("categorical_cross_entropy")(d.ids, logits),
                           "name the loss with sparse labels, Loss(\"categorical_cross_entropy\", {.sparse = true})");
  AXON_REQUIRE_THROWS_WITH(Loss("hinge", {.sparse = true}), "loss 'hinge' takes no option sparse");
  AXON_REQUIRE_THROWS_WITH(Loss("mean_squared_error", {.from_logits = true}),
                           "loss 'mean_squared_error' takes no option from_logits");
  AXON_REQUIRE_THROWS_WITH(Loss("sparse_categorical_cross_entropy", {.sparse = true}), "sparse already");

  metrics::AccuracyOptions acc_o;
  acc_o.sparse = true;
  double acc = metrics::accuracy(d.ids, logits, acc_o).item<float>();
  CHECK(metric_by_name("accuracy", {.sparse = true})(d.ids, logits).item<float>() == Catch::Approx(acc));
  CHECK(metric_by_name("accuracy", {.sparse = true})(d.ids.to(DType::u8), logits).item<float>() == Catch::Approx(acc));
  CHECK(metric_by_name("top_k_categorical_accuracy", {.sparse = true, .k = 3})(d.ids, logits).item<float>() == 1.0f);
  AXON_REQUIRE_THROWS_WITH(metric_by_name("precision", {.sparse = true}), "metric 'precision' takes no option sparse");
  AXON_REQUIRE_THROWS_WITH(metric_by_name("accuracy", {.k = 2}), "metric 'accuracy' takes no option k");
  AXON_REQUIRE_THROWS_WITH(metric_by_name("mean_absolute_error", {.threshold = 0.3}), "takes no option threshold");
  Tensor yb = from_vector(std::vector<float>{1, 0, 1, 1}, {4, 1}), pb = from_vector(std::vector<float>{0.4, 0.2, 0.9, 0.35}, {4, 1});
  CHECK(metric_by_name("true_positives", {.threshold = 0.3})(yb, pb).item<int64_t>() == 3);
  CHECK(metric_by_name("true_positives")(yb, pb).item<int64_t>() == 1);
}

TEST_CASE("trainer by name with sparse logits trains on the readers' integer labels", "[train]") {
  Data tr = separable(512, 1), te = separable(256, 2);
  Model m = logits_mlp();
  Loop loop = trainer(m, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, optim::adam(0.02),
                      {.log = 0});
  metric(loop, "accuracy", {.sparse = true});
  validate(loop, m, tensor_dataset(te.x, te.ids, {.batch_size = 256}));
  LoopState s = loop.run(tensor_dataset(tr.x, tr.ids, {.batch_size = 32, .shuffle = true, .seed = 3}), {}, {.epochs = 6});
  CHECK(s.status == Status::completed);
  auto last = metric_values(s.epoch_metrics.at(5));
  CHECK(last.at("accuracy") > 0.85);
  CHECK(last.at("validation_accuracy") > 0.85);
  CHECK(last.at("loss") < metric_values(s.epoch_metrics.at(0)).at("loss"));
}
