// The generic training loop (Axon.Loop): events and their counts, filters, halting, metric
// accumulation and printing, early stopping, learning-rate reduction, checkpoints that resume into
// exactly the uninterrupted run, and datasets. Steps here are plain functions (a least-squares
// problem under optim::sgd / adam), not models.
#include <axon/optim.hpp>
#include <axon/train/checkpoint.hpp>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {

// Batches whose x is one scalar value, the same every epoch.
Dataset scalar_batches(const std::vector<double>& values) {
  std::vector<Batch> b;
  for (double v : values) b.push_back({scalar_tensor(v, DType::f64), Tensor()});
  return from_batches(b);
}

// A step that counts its calls and keeps the batch's x as "value".
Loop counting_loop(int* calls) {
  return Loop([calls](const Batch& b, const StepState& s) {
    ++*calls;
    StepState n = s;
    n["value"] = b.x;
    return n;
  });
}

// ---- least squares: y = X w* + b*, minimised over {"lin": {"w", "b"}} by an optimizer.
struct Problem {
  Tensor x, y;
};
Problem least_squares(Device d, int64_t rows = 16, uint64_t seed = 3) {
  Tensor x = test::random_tensor({rows, 3}, DType::f64, -1, 1, seed, d);
  Tensor w = from_vector(std::vector<double>{0.5, -1.0, 2.0}, {3, 1}, d);
  Tensor y = add(matmul(x, w), 0.25);
  return {x, y};
}
Tensor predict_linear(const Params& p, const Tensor& x) { return add(matmul(x, p.at("lin").at("w")), p.at("lin").at("b")); }

Step least_squares_step(const optim::GradientTransformation& opt) {
  StepInit init = [opt](const Batch& b, const StepState& given) {
    StepState s = given;
    if (!s.has_prefix("params"))
      s.set_params("params", Params{{"lin", {{"w", zeros({3, 1}, DType::f64, b.x.device())},
                                             {"b", zeros({1}, DType::f64, b.x.device())}}}});
    s.set_sub("optimizer_state", opt.init(s.params("params")));
    return s;
  };
  StepFn step = [opt](const Batch& b, const StepState& s) {
    Params p = s.params("params");
    Tensor pred;
    auto [loss, g] = value_and_grad(
        [&](const Params& q) {
          pred = predict_linear(q, b.x);
          return mean(square(sub(pred, b.y)));
        },
        p);
    auto [u, os] = opt.update(g, s.sub("optimizer_state"), p);
    StepState n = s;
    n.set_params("params", optim::apply_updates(p, u));
    n.set_sub("optimizer_state", os);
    n["batch_loss"] = loss;
    n["y_true"] = b.y;
    n["y_pred"] = pred;
    return n;
  };
  return {init, step};
}
Loop least_squares_loop(const optim::GradientTransformation& opt) {
  Loop loop(least_squares_step(opt));
  metric(loop, "loss", [](const StepState& s) { return s.at("batch_loss"); });
  return loop;
}
double full_loss(const Params& p, const Problem& pr) {
  NoGrad ng;
  return mean(square(sub(predict_linear(p, pr.x), pr.y))).item<double>();
}
void check_same_params(const Params& a, const Params& b, bool exact) {
  for (const auto& [l, m] : a)
    for (const auto& [n, t] : m) {
      INFO(l << "/" << n);
      if (exact) test::check_equal(t, b.at(l).at(n).to_vector<double>(), t.shape());
      else test::check_close(t, b.at(l).at(n), {1e-12, 1e-12});
    }
}

}  // namespace

TEST_CASE("loop fires its events in order with the right counts and counters", "[train]") {
  int calls = 0;
  Loop loop = counting_loop(&calls);
  std::vector<std::string> seen;
  loop.handle(all_events(), [&](LoopState& s) {
    seen.push_back(std::string(event_name(s.event)) + " " + std::to_string(s.epoch) + ":" + std::to_string(s.epoch_iteration) +
                   ":" + std::to_string(s.iteration));
    return Action::continue_;
  });
  LoopState s = loop.run(scalar_batches({1, 2}), {}, {.epochs = 2});
  std::vector<std::string> expect{"started 0:0:0",
                                  "epoch_started 0:0:0",
                                  "iteration_started 0:0:0",
                                  "iteration_completed 0:0:0",
                                  "iteration_started 0:1:1",
                                  "iteration_completed 0:1:1",
                                  "epoch_completed 0:2:2",
                                  "epoch_started 1:0:2",
                                  "iteration_started 1:0:2",
                                  "iteration_completed 1:0:2",
                                  "iteration_started 1:1:3",
                                  "iteration_completed 1:1:3",
                                  "epoch_completed 1:2:4",
                                  "completed 2:0:4"};
  CHECK(seen == expect);
  CHECK(calls == 4);
  CHECK(s.status == Status::completed);
  CHECK(s.epoch == 2);
  CHECK(s.iteration == 4);
  CHECK(s.event_counts[Event::iteration_completed].total == 4);
  CHECK(s.event_counts[Event::iteration_completed].epoch == 2);
  CHECK(s.event_counts[Event::epoch_started].total == 2);
  CHECK(s.event_counts[Event::halted].total == 0);
  CHECK(s.epoch_metrics.size() == 2);
  CHECK(s.step_state.at("value").item<double>() == 2);

  // `iterations` caps the batches of each epoch.
  calls = 0;
  LoopState capped = counting_loop(&calls).run(scalar_batches({1, 2, 3, 4}), {}, {.epochs = 3, .iterations = 2});
  CHECK(calls == 6);
  CHECK(capped.step_state.at("value").item<double>() == 2);
}

TEST_CASE("handler filters: every (total / per epoch), first, before, after, once, predicates, combined", "[train]") {
  int calls = 0;
  Loop loop = counting_loop(&calls);
  std::map<std::string, std::vector<int64_t>> fired;  // name -> iteration totals (1-based) where it ran
  auto rec = [&](const std::string& name, Filter f) {
    loop.handle(Event::iteration_completed, [&fired, name](LoopState& s) {
      fired[name].push_back(s.iteration + 1);
      return Action::continue_;
    }, std::move(f));
  };
  rec("always", {});
  rec("every2", {.every = 2});
  rec("every2_epoch", {.every = 2, .counts = Count::epoch});
  rec("first", {.first = true});
  rec("before3", {.before = 3});
  rec("after4", {.after = 4});
  rec("once5", {.once = 5});
  rec("when", {.when = [](const LoopState& s, Event e) {
        return e == Event::iteration_completed && s.epoch == 1 && s.epoch_iteration == 0;
      }});
  rec("every2_after2", {.every = 2, .after = 2});
  int epoch_first = 0;
  loop.handle(Event::epoch_started, [&](LoopState&) { ++epoch_first; return Action::continue_; }, {.first = true});
  loop.run(scalar_batches({1, 2, 3}), {}, {.epochs = 2});
  using V = std::vector<int64_t>;
  CHECK(fired["always"] == V{1, 2, 3, 4, 5, 6});
  CHECK(fired["every2"] == V{1, 3, 5});
  CHECK(fired["every2_epoch"] == V{1, 3, 4, 6});
  CHECK(fired["first"] == V{1});
  CHECK(fired["before3"] == V{1, 2});
  CHECK(fired["after4"] == V{5, 6});
  CHECK(fired["once5"] == V{5});
  CHECK(fired["when"] == V{4});
  CHECK(fired["every2_after2"] == V{3, 5});
  CHECK(epoch_first == 1);
}

TEST_CASE("handlers halt the epoch or the loop, and stop later handlers of the same event", "[train]") {
  int calls = 0;
  Loop loop = counting_loop(&calls);
  int later = 0, halted_epochs = 0, completed_epochs = 0;
  loop.handle(Event::iteration_completed,
              [](LoopState& s) { return s.epoch == 0 && s.epoch_iteration == 1 ? Action::halt_epoch : Action::continue_; });
  loop.handle(Event::iteration_completed, [&](LoopState&) { ++later; return Action::continue_; });
  loop.handle(Event::epoch_halted, [&](LoopState&) { ++halted_epochs; return Action::continue_; });
  loop.handle(Event::epoch_completed, [&](LoopState&) { ++completed_epochs; return Action::continue_; });
  LoopState s = loop.run(scalar_batches({1, 2, 3}), {}, {.epochs = 2});
  CHECK(calls == 5);  // epoch 0 stops after its 2nd batch, epoch 1 runs all 3
  CHECK(later == 4);  // not after the halting handler
  CHECK(halted_epochs == 1);
  CHECK(completed_epochs == 1);
  CHECK(s.status == Status::completed);
  CHECK(s.epoch == 2);
  CHECK(s.epoch_metrics.size() == 2);

  calls = 0;
  Loop stop = counting_loop(&calls);
  int halted = 0, completed = 0;
  stop.handle(Event::iteration_started, [](LoopState& s) { return s.iteration == 4 ? Action::halt_loop : Action::continue_; });
  stop.handle(Event::halted, [&](LoopState&) { ++halted; return Action::continue_; });
  stop.handle(Event::completed, [&](LoopState&) { ++completed; return Action::continue_; });
  LoopState t = stop.run(scalar_batches({1, 2, 3}), {}, {.epochs = 5});
  CHECK(calls == 4);
  CHECK(t.status == Status::halted);
  CHECK(halted == 1);
  CHECK(completed == 0);
  CHECK(t.epoch == 1);

  calls = 0;
  Loop never = counting_loop(&calls);
  never.handle(Event::started, [](LoopState&) { return Action::halt_loop; });
  CHECK(never.run(scalar_batches({1}), {}, {.epochs = 3}).status == Status::halted);
  CHECK(calls == 0);
}

TEST_CASE("metrics accumulate per epoch as running averages, sums or custom functions", "[train]") {
  // Batches of (y_true, y_pred) with known accuracies 1, 1/2, 0 and one "score" per batch.
  Tensor eye2 = eye(2);
  std::vector<Batch> b{
      {from_vector(std::vector<double>{1}), from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2})},
      {from_vector(std::vector<double>{2}), from_vector(std::vector<float>{1, 0, 1, 0}, {2, 2})},
      {from_vector(std::vector<double>{6}), from_vector(std::vector<float>{0, 1, 1, 0}, {2, 2})}};
  Loop loop([&](const Batch& batch, const StepState& s) {
    StepState n = s;
    n["score"] = batch.x.reshape({});
    n["y_true"] = eye2;
    n["y_pred"] = batch.y;
    return n;
  });
  auto score = [](const StepState& s) { return s.at("score"); };
  metric(loop, "avg", score);
  metric(loop, "sum", score, {.accumulate = Accumulate::running_sum});
  metric(loop, "max", score, {.accumulate_fn = [](const Tensor& acc, const Tensor& obs, int64_t i) {
           return i == 0 ? obs : maximum(acc, obs);
         }});
  metric(loop, "accuracy");
  metric(loop, "tp", [](const Tensor& y, const Tensor& p) { return metrics::true_positives(y.slice(1, 0, 1), p.slice(1, 0, 1)); },
         {.accumulate = Accumulate::running_sum});
  std::vector<std::map<std::string, double>> per_iteration;
  loop.handle(Event::iteration_completed, [&](LoopState& s) {
    per_iteration.push_back(metric_values(s.metrics));
    return Action::continue_;
  });
  LoopState s = loop.run(from_batches(b), {}, {.epochs = 2});
  REQUIRE(per_iteration.size() == 6);
  CHECK(per_iteration[0].at("avg") == 1.0);
  CHECK(per_iteration[1].at("avg") == 1.5);
  CHECK(per_iteration[2].at("avg") == 3.0);
  CHECK(per_iteration[3].at("avg") == 1.0);  // reset at the next epoch
  CHECK(per_iteration[1].at("accuracy") == 0.75);
  auto m = metric_values(s.epoch_metrics.at(1));
  CHECK(m.at("avg") == 3.0);
  CHECK(m.at("sum") == 9.0);
  CHECK(m.at("max") == 6.0);
  CHECK(std::abs(m.at("accuracy") - 0.5) < 1e-7);
  // tp over column 0 (threshold 0.5): batch 1: y (1,0) p (1,0) -> 1; batch 2: p (1,1) -> 1; batch 3: p (0,1) -> 0.
  CHECK(m.at("tp") == 2.0);
  CHECK(s.epoch_metrics.at(1).at("tp").dtype() == DType::i64);
  CHECK(s.epoch_metrics.at(1).at("avg").dtype() == DType::f64);

  AXON_REQUIRE_THROWS_WITH(metric(loop, "no_such_metric"), "unknown metric 'no_such_metric'");
}

TEST_CASE("metrics print as Axon prints them and log writes the supervised line", "[train]") {
  CHECK(format_metric(scalar_tensor(0.75)) == "0.7500000");
  CHECK(format_metric(scalar_tensor(-1.0 / 3.0, DType::f64)) == "-0.3333333");
  CHECK(format_metric(scalar_tensor(0.375, DType::bf16)) == "0.375");
  CHECK(format_metric(scalar_tensor(42, DType::i64)) == "42");
  CHECK(format_metric(scalar_tensor(std::nan(""))) == "NaN");
  CHECK(format_metric(scalar_tensor(-INFINITY)) == "-Inf");
  CHECK(format_metrics({{"loss", scalar_tensor(0.5)}, {"accuracy", scalar_tensor(1.0)}}) ==
        "accuracy: 1.0000000 loss: 0.5000000");

  int calls = 0;
  Loop loop = counting_loop(&calls);
  metric(loop, "loss", [](const StepState& s) { return s.at("value"); });
  std::ostringstream out;
  log(loop, [](const LoopState& s) { return supervised_log_message(s); }, {.filter = {.every = 2, .counts = Count::epoch}, .out = &out});
  log(loop, [](const LoopState&) { return std::string("\n"); }, {.event = Event::epoch_completed, .out = &out});
  log(loop, [](const LoopState&) { return std::string("never"); }, {.out = nullptr});  // silenced
  loop.run(scalar_batches({1, 2, 3}), {}, {.epochs = 2});
  CHECK(out.str() ==
        "\rEpoch: 0, Batch: 0, loss: 1.0000000\rEpoch: 0, Batch: 2, loss: 2.0000000\n"
        "\rEpoch: 1, Batch: 0, loss: 1.0000000\rEpoch: 1, Batch: 2, loss: 2.0000000\n");

  // A message function that throws halts the loop instead of escaping.
  Loop bad = counting_loop(&calls);
  log(bad, [](const LoopState&) -> std::string { throw std::runtime_error("boom"); }, {.out = &out});
  CHECK(bad.run(scalar_batches({1, 2}), {}, {.epochs = 1}).status == Status::halted);
}

TEST_CASE("early_stop halts after exactly patience + 1 epochs without improvement", "[train]") {
  // The monitored metric is the batch value, one per epoch: best 4 at epoch 1, then 4.5, 4 (equal is
  // not better) and 6: with patience 2 the third non-improving epoch (epoch 4) halts.
  std::vector<double> per_epoch{5, 4, 4.5, 4, 6, 1, 1};
  Dataset data(1, [&](int64_t epoch, int64_t) { return Batch{scalar_tensor(per_epoch[size_t(epoch)], DType::f64), {}}; });
  int calls = 0;
  Loop loop = counting_loop(&calls);
  metric(loop, "val", [](const StepState& s) { return s.at("value"); });
  early_stop(loop, "val", {.patience = 2});
  LoopState s = loop.run(data, {}, {.epochs = 7});
  CHECK(s.status == Status::halted);
  CHECK(calls == 5);
  CHECK(s.epoch_metrics.size() == 5);
  CHECK(s.epoch == 5);
  CHECK(s.halt_reason == "early_stop: 'val' did not improve for 3 events in a row");

  // mode max: 1, 3 (better), 2, 2, 2 -> with patience 1 halts at the 2nd non-improving epoch (epoch 3).
  std::vector<double> up{1, 3, 2, 2, 2, 2};
  Dataset data2(1, [&](int64_t epoch, int64_t) { return Batch{scalar_tensor(up[size_t(epoch)], DType::f64), {}}; });
  calls = 0;
  Loop loop2 = counting_loop(&calls);
  metric(loop2, "val", [](const StepState& s) { return s.at("value"); });
  early_stop(loop2, "val", {.mode = MonitorMode::max, .patience = 1});
  CHECK(loop2.run(data2, {}, {.epochs = 6}).epoch_metrics.size() == 4);

  // A metric nothing produces is an error when run() starts, before any step.
  calls = 0;
  Loop missing = counting_loop(&calls);
  early_stop(missing, "validation_loss");
  AXON_REQUIRE_THROWS_WITH(missing.run(scalar_batches({1})),
                           "early_stop: metric 'validation_loss' is produced by nothing in this loop");
  CHECK(calls == 0);
}

TEST_CASE("reduce_lr_on_plateau scales the optimizer's learning-rate state", "[train]") {
  Params p{{"lin", {{"w", zeros({2})}}}};
  for (auto [name, opt] : {std::pair{"adam", optim::adam(0.1)}, std::pair{"sgd", optim::sgd(0.1, {.momentum = 0.9})}}) {
    INFO(name);
    StepState init;
    init.set_sub("optimizer_state", opt.init(p));
    CHECK(learning_rate(init) == Catch::Approx(0.1));
    int calls = 0;
    Loop loop = counting_loop(&calls);
    metric(loop, "val", [](const StepState& s) { return s.at("value"); });
    std::vector<double> lrs;
    reduce_lr_on_plateau(loop, "val", {.patience = 1, .factor = 0.5});
    loop.handle(Event::epoch_completed, [&](LoopState& s) {
      lrs.push_back(learning_rate(s.step_state));
      return Action::continue_;
    });
    // A flat metric: epoch 0 sets the best; every 2nd epoch after it reaches the patience.
    loop.run(scalar_batches({5}), init, {.epochs = 6});
    std::vector<double> expect{0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    REQUIRE(lrs.size() == expect.size());
    for (size_t i = 0; i < lrs.size(); ++i) CHECK(lrs[i] == Catch::Approx(expect[i]).epsilon(1e-12));
  }
  // A scheduled learning rate has no knob to turn.
  StepState sched;
  sched.set_sub("optimizer_state", optim::sgd(optim::schedules::constant(0.1)).init(p));
  int calls = 0;
  Loop loop = counting_loop(&calls);
  metric(loop, "val", [](const StepState& s) { return s.at("value"); });
  reduce_lr_on_plateau(loop, "val");
  AXON_REQUIRE_THROWS_WITH(loop.run(scalar_batches({1}), sched), "no learning-rate entry ('scale')");
}

TEST_CASE("least squares converges in a loop with sgd and adam on every device", "[train]") {
  for (Device d : test::devices()) {
    Problem pr = least_squares(d);
    for (auto [name, opt] : {std::pair{"sgd", optim::sgd(0.2, {.momentum = 0.5})}, std::pair{"adam", optim::adam(0.05)}}) {
      INFO(d.str() << " " << name);
      Loop loop = least_squares_loop(opt);
      LoopState s = loop.run(tensor_dataset(pr.x, pr.y, {.batch_size = 4, .shuffle = true, .seed = 1}), {}, {.epochs = 60});
      Params p = s.step_state.params("params");
      CHECK(p.at("lin").at("w").device() == d);
      CHECK(full_loss(p, pr) < 1e-4);
      test::check_close(p.at("lin").at("w"), {0.5, -1.0, 2.0}, {3, 1}, {0, 0.02});
      // The epoch loss metric is the mean of the batch losses: it falls.
      CHECK(metric_values(s.epoch_metrics.at(59)).at("loss") < metric_values(s.epoch_metrics.at(0)).at("loss"));
    }
  }
}

TEST_CASE("validate runs an evaluator with the training metrics and merges validation_ metrics", "[train]") {
  Problem pr = least_squares(Device::cpu());
  Problem val = least_squares(Device::cpu(), 8, 11);
  auto opt = optim::sgd(0.1);
  Loop loop = least_squares_loop(opt);
  metric(loop, "mae", [](const Tensor& y, const Tensor& p) { return metrics::mean_absolute_error(y, p); });
  // An evaluator: predictions with the training loop's parameters (its init receives the training
  // step state).
  Loop evaluator([](const Batch& b, const StepState& s) {
    StepState n = s;
    n["y_true"] = b.y;
    n["y_pred"] = predict_linear(s.params("params"), b.x);
    n["batch_loss"] = mean(square(sub(n["y_pred"], b.y)));
    return n;
  });
  validate(loop, evaluator, tensor_dataset(val.x, val.y, {.batch_size = 8}));
  metric(loop, "not_validated", [](const StepState& s) { return s.at("batch_loss"); });
  LoopState s = loop.run(tensor_dataset(pr.x, pr.y, {.batch_size = 4}), {}, {.epochs = 3});
  auto m = metric_values(s.epoch_metrics.at(2));
  CHECK(m.count("validation_loss"));
  CHECK(m.count("validation_mae"));
  CHECK_FALSE(m.count("validation_not_validated"));
  // The handler ran at the end of the last epoch, with the final parameters: one batch of 8.
  Params p = s.step_state.params("params");
  CHECK(m.at("validation_loss") == Catch::Approx(full_loss(p, val)).epsilon(1e-12));
  NoGrad ng;
  double mae = mean(abs(sub(predict_linear(p, val.x), val.y))).item<double>();
  CHECK(m.at("validation_mae") == Catch::Approx(mae).epsilon(1e-12));
}

TEST_CASE("checkpoints resume into exactly the uninterrupted run (epoch and mid-epoch)", "[train]") {
  for (Device d : test::devices()) {
    Problem pr = least_squares(d);
    for (auto [name, opt] : {std::pair{"adam", optim::adam(0.05)}, std::pair{"sgd", optim::sgd(0.1, {.momentum = 0.9})}}) {
      INFO(d.str() << " " << name);
      Dataset data = tensor_dataset(pr.x, pr.y, {.batch_size = 5, .shuffle = true, .seed = 7});  // 4 batches, last of 1
      LoopState full = least_squares_loop(opt).run(data, {}, {.epochs = 4});

      // Interrupted after epoch 1, resumed for the 2 remaining epochs.
      std::string dir = test::fresh_dir(std::string(name) + "_epoch");
      Loop first = least_squares_loop(opt);
      checkpoint(first, {.path = dir});
      first.run(data, {}, {.epochs = 2});
      CHECK(std::filesystem::exists(dir + "/checkpoint_epoch_1.safetensors"));
      REQUIRE(std::filesystem::exists(dir + "/checkpoint_epoch_2.safetensors"));
      LoopState saved = load_state(dir + "/checkpoint_epoch_2.safetensors", d);
      CHECK(saved.epoch == 2);
      CHECK(saved.epoch_iteration == 0);
      CHECK(saved.iteration == 8);
      CHECK_FALSE(saved.step_state.contains("y_pred"));
      CHECK(saved.step_state.params("params").at("lin").at("w").device() == d);
      Loop second = least_squares_loop(opt);
      second.from_state(saved);
      LoopState resumed = second.run(data, {}, {.epochs = 2});
      CHECK(resumed.epoch == 4);
      CHECK(resumed.iteration == 16);
      check_same_params(resumed.step_state.params("params"), full.step_state.params("params"), d.is_cpu());
      for (int e = 0; e < 4; ++e)
        CHECK(metric_values(resumed.epoch_metrics.at(e)).at("loss") == Catch::Approx(metric_values(full.epoch_metrics.at(e)).at("loss")).epsilon(1e-12));

      // Interrupted mid-epoch: saves after the 1st, 7th and 13th batch (total); resume from the 7th
      // (epoch 1, batch index 2), with the running loss of that epoch carried over.
      std::string dir2 = test::fresh_dir(std::string(name) + "_mid");
      Loop mid = least_squares_loop(opt);
      checkpoint(mid, {.event = Event::iteration_completed, .filter = {.every = 6}, .path = dir2});
      mid.run(data, {}, {.epochs = 4});
      REQUIRE(std::filesystem::exists(dir2 + "/checkpoint_epoch_2_batch_3.safetensors"));
      CHECK(std::filesystem::exists(dir2 + "/checkpoint_epoch_4_batch_1.safetensors"));
      LoopState at7 = load_state(dir2 + "/checkpoint_epoch_2_batch_3.safetensors", d);
      CHECK(at7.epoch == 1);
      CHECK(at7.epoch_iteration == 3);
      CHECK(at7.iteration == 7);
      CHECK(at7.metrics.count("loss"));
      Loop again = least_squares_loop(opt);
      checkpoint(again, {.event = Event::iteration_completed, .filter = {.every = 6}, .path = dir2 + "_again"});
      again.from_state(at7);
      LoopState r2 = again.run(data, {}, {.epochs = 3});
      check_same_params(r2.step_state.params("params"), full.step_state.params("params"), d.is_cpu());
      CHECK(metric_values(r2.epoch_metrics.at(1)).at("loss") == Catch::Approx(metric_values(full.epoch_metrics.at(1)).at("loss")).epsilon(1e-12));
      // The event counts came back too: the resumed run saves at the same batches.
      CHECK(std::filesystem::exists(dir2 + "_again/checkpoint_epoch_4_batch_1.safetensors"));
      CHECK_FALSE(std::filesystem::exists(dir2 + "_again/checkpoint_epoch_2_batch_3.safetensors"));
      for (auto& p : {dir, dir2, dir2 + "_again"}) std::filesystem::remove_all(p);
    }
  }
}

TEST_CASE("serialized loop states keep counters, metrics, event counts and handler metadata", "[train]") {
  LoopState s;
  s.epoch = 3;
  s.max_epoch = 9;
  s.iteration = 41;
  s.epoch_iteration = 5;
  s.max_iteration = 10;
  s.event = Event::iteration_completed;
  s.step_state.set_params("model_state", Params{{"dense_0", {{"kernel", ones({2, 2})}}}});
  s.step_state["loss"] = scalar_tensor(0.5);
  s.step_state["y_pred"] = ones({4});
  s.metrics["accuracy"] = scalar_tensor(0.25);
  s.epoch_metrics[2]["accuracy"] = scalar_tensor(0.125);
  s.event_counts[Event::iteration_completed] = {42, 6};
  s.handler_metadata["early_stop/validation_loss#0/best"] = 0.1 + 0.2;
  s.handler_metadata["early_stop/validation_loss#0/since"] = 2;
  LoopState r = deserialize_state(serialize_state(s));
  CHECK(r.epoch == 3);
  CHECK(r.max_epoch == 9);
  CHECK(r.iteration == 42);        // resumes after the batch whose iteration_completed saved it
  CHECK(r.epoch_iteration == 6);
  CHECK(r.max_iteration == 10);
  CHECK(r.event_counts[Event::iteration_completed].total == 42);
  CHECK(r.event_counts[Event::iteration_completed].epoch == 6);
  CHECK(r.handler_metadata.at("early_stop/validation_loss#0/best") == 0.1 + 0.2);  // exact
  CHECK(r.handler_metadata.at("early_stop/validation_loss#0/since") == 2);
  CHECK(r.metrics.at("accuracy").item<float>() == 0.25f);
  CHECK(r.epoch_metrics.at(2).at("accuracy").item<float>() == 0.125f);
  CHECK(r.step_state.contains("loss"));
  CHECK_FALSE(r.step_state.contains("y_pred"));
  CHECK(r.step_state.params("model_state").at("dense_0").at("kernel").shape() == Shape{2, 2});

  s.event = Event::epoch_completed;
  LoopState e = deserialize_state(serialize_state(s, {}));
  CHECK(e.epoch == 4);
  CHECK(e.epoch_iteration == 0);
  CHECK(e.metrics.empty());
  CHECK(e.epoch_metrics.at(3).at("accuracy").item<float>() == 0.25f);
  CHECK(e.step_state.contains("y_pred"));

  std::string path = test::fresh_dir("not_a_checkpoint.safetensors");
  save_safetensors(path, {{"x", ones({1})}});
  AXON_REQUIRE_THROWS_WITH(load_state(path), "not an axon loop checkpoint");
  std::filesystem::remove(path);
}

TEST_CASE("tensor_dataset batches rows on the data's device, shuffles reproducibly, keeps or drops the tail", "[train]") {
  auto p = permutation(10, 5, 0);
  CHECK(std::set<int64_t>(p.begin(), p.end()).size() == 10);
  CHECK(*std::min_element(p.begin(), p.end()) == 0);
  CHECK(p == permutation(10, 5, 0));
  CHECK(p != permutation(10, 5, 1));
  CHECK(p != permutation(10, 6, 0));
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor x = arange(0, 20, 1, DType::f32, d).reshape({10, 2});  // row r = (2r, 2r + 1)
    Tensor y = arange(0, 10, 1, DType::i64, d);
    Dataset keep = tensor_dataset(x, y, {.batch_size = 4});
    REQUIRE(keep.num_batches() == 3);
    Batch last = keep.batch(0, 2);
    CHECK(last.x.shape() == Shape{2, 2});
    CHECK(last.x.device() == d);
    test::check_equal(last.y, {8, 9}, {2});
    CHECK(tensor_dataset(x, y, {.batch_size = 4, .drop_last = true}).num_batches() == 2);
    CHECK(tensor_dataset(x, y, {.batch_size = 5, .drop_last = true}).num_batches() == 2);

    Dataset sh = tensor_dataset(x, y, {.batch_size = 3, .shuffle = true, .seed = 9});
    for (int64_t epoch : {0, 1}) {
      auto perm = permutation(10, 9, epoch);
      std::vector<double> ys, xs;
      for (int64_t i = 0; i < sh.num_batches(); ++i) {
        Batch b = sh.batch(epoch, i);
        CHECK(b.x.device() == d);
        for (auto v : b.y.to_vector<int64_t>()) ys.push_back(double(v));
        for (auto v : b.x.to_vector<float>()) xs.push_back(v);
      }
      std::vector<double> expect_y, expect_x;
      for (auto r : perm) {
        expect_y.push_back(double(r));
        expect_x.push_back(2.0 * double(r));
        expect_x.push_back(2.0 * double(r) + 1);
      }
      CHECK(ys == expect_y);  // rows of x and y stay paired
      CHECK(xs == expect_x);
    }
  }
  AXON_REQUIRE_THROWS_WITH(tensor_dataset(ones({4, 2}), ones({3})), "same number of rows");
  AXON_REQUIRE_THROWS_WITH(tensor_dataset(ones({4, 2}), ones({4}), {.batch_size = 0}), "batch_size must be positive");
  int calls = 0;
  AXON_REQUIRE_THROWS_WITH(counting_loop(&calls).run(from_batches({})), "the dataset is empty");
  AXON_REQUIRE_THROWS_WITH(tensor_dataset(ones({4, 2}), {.batch_size = 2}).batch(0, 2), "batch 2 out of range");
}

TEST_CASE("StepState keeps Params and sub-maps under prefixes without touching neighbours", "[train]") {
  StepState s;
  s.set_params("model_state", Params{{"dense_0", {{"kernel", ones({2})}, {"bias", zeros({2})}}}});
  s["model_state2"] = ones({1});
  s["model_statex/y"] = ones({1});
  s.set_sub("optimizer_state", {{"0/count", scalar_tensor(0, DType::i64)}, {"1/scale", scalar_tensor(-0.1)}});
  CHECK(s.has_prefix("model_state"));
  CHECK(s.params("model_state").size() == 1);
  CHECK(s.params("model_state").at("dense_0").size() == 2);
  CHECK(s.sub("optimizer_state").size() == 2);
  s.set_params("model_state", Params{{"dense_1", {{"kernel", ones({3})}}}});
  CHECK(s.params("model_state").count("dense_0") == 0);
  CHECK(s.contains("model_state2"));
  CHECK(s.contains("model_statex/y"));
  s.erase_prefix("optimizer_state");
  CHECK_FALSE(s.has_prefix("optimizer_state"));
  AXON_REQUIRE_THROWS_WITH(s.at("nope"), "no entry 'nope'");
}
