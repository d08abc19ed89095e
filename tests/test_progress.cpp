// The progress report trainer() prints: redrawn in place on a terminal, whole lines otherwise,
// validation metrics on each epoch's last line, and nothing when turned off.
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <algorithm>
#include <optional>
#include <sstream>

#include "train_fixtures.hpp"

using namespace axon;
using namespace axon::training;

namespace {

Model regression() { return test::small_regression(3); }
Dataset rows(uint64_t seed) { return test::regression_rows(40, 3, 8, seed); }  // 5 batches of 8

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

}  // namespace

TEST_CASE("progress on a terminal redraws one line per epoch in place", "[train][progress]") {
  std::ostringstream out;
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.log = 2, .out = &out, .terminal = true});
  metric(loop, "mean_absolute_error");
  loop.run(rows(1), {}, {.epochs = 3});
  std::string text = out.str();
  // Batches 1 and 3 of 5 are redrawn, the 5th is the epoch's final line: 3 draws and one newline per epoch.
  CHECK(count(text, "\r") == 9);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
  CHECK(count(text, "\rEpoch 1/3 1/5 [00:00<") == 1);
  CHECK(count(text, "\rEpoch 1/3 3/5 [00:00<") == 1);
  CHECK(count(text, "\rEpoch 3/3 5/5 [00:00, ") == 1);
  CHECK(count(text, "samples/s] loss: ") == 9);
  CHECK(count(text, " mean_absolute_error: ") == 9);
  // The final line has no ETA and ends the epoch's line.
  size_t last = text.rfind('\r');
  CHECK(text.substr(last).find('<') == std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("progress to a file prints whole lines: one per epoch, plus every N batches when asked", "[train][progress]") {
  for (int64_t lines_every : {0, 2}) {
    INFO("lines_every " << lines_every);
    std::ostringstream out;
    Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.1),
                        {.log = 1, .out = &out, .log_lines = lines_every, .terminal = false});
    validate(loop, regression(), rows(2));
    loop.run(rows(1), {}, {.epochs = 2});
    std::string text = out.str();
    CHECK(text.find('\r') == std::string::npos);
    std::vector<std::string> lines = lines_of(text);
    if (lines_every == 0) {
      REQUIRE(lines.size() == 2);
      CHECK(lines[0].rfind("Epoch 1/2 5/5 [", 0) == 0);
      CHECK(lines[1].rfind("Epoch 2/2 5/5 [", 0) == 0);
    } else {
      // After batches 2 and 4 of each epoch, then the epoch's line.
      REQUIRE(lines.size() == 6);
      CHECK(lines[0].rfind("Epoch 1/2 2/5 [", 0) == 0);
      CHECK(lines[1].rfind("Epoch 1/2 4/5 [", 0) == 0);
      CHECK(lines[2].rfind("Epoch 1/2 5/5 [", 0) == 0);
      CHECK(lines[5].rfind("Epoch 2/2 5/5 [", 0) == 0);
      CHECK(lines[0].find("validation_loss") == std::string::npos);
    }
    // Validation ran after the progress handler was attached and still shows on the epoch's line,
    // with the value the run kept.
    std::string end = lines.back();
    CHECK(end.find("samples/s] loss: ") != std::string::npos);
    size_t at = end.find("validation_loss: ");
    REQUIRE(at != std::string::npos);
    (void)at;
  }
}

TEST_CASE("the epoch line's values are the epoch's metrics", "[train][progress]") {
  std::ostringstream out;
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.out = &out, .terminal = false});
  validate(loop, regression(), rows(2));
  LoopState s = loop.run(rows(1), {}, {.epochs = 1});
  std::string line = lines_of(out.str()).at(0);
  auto values = metric_values(s.epoch_metrics.at(0));
  CHECK(line.find("loss: " + format_metric(s.epoch_metrics.at(0).at("loss"))) != std::string::npos);
  CHECK(line.find("validation_loss: " + format_metric(s.epoch_metrics.at(0).at("validation_loss"))) !=
        std::string::npos);
  CHECK(values.at("validation_loss") > 0);
  // 40 samples: the rate is a positive integer.
  size_t at = line.find(", ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(line.substr(at + 2)) > 0);
}

TEST_CASE("progress can be turned off, and a halted run closes its line", "[train][progress]") {
  std::ostringstream out;
  Loop silent = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.log = 0, .out = &out});
  silent.run(rows(1), {}, {.epochs = 2});
  CHECK(out.str().empty());
  Loop none = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.out = nullptr});
  CHECK(none.run(rows(1), {}, {.epochs = 1}).status == Status::completed);

  std::ostringstream halted;
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.log = 1, .out = &halted, .terminal = true});
  loop.handle(Event::iteration_completed, [](LoopState& s) {
    return s.epoch_iteration == 2 ? Action::halt_loop : Action::continue_;
  });
  CHECK(loop.run(rows(1), {}, {.epochs = 2}).status == Status::halted);
  std::string text = halted.str();
  CHECK(count(text, "\r") == 3);
  CHECK(text.back() == '\n');
  CHECK(text.find("\rEpoch 1/2 3/5") != std::string::npos);
}

TEST_CASE("progress options are checked and durations read as clocks", "[train][progress]") {
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.log = 0});
  AXON_REQUIRE_THROWS_WITH(progress(loop, {.every = 0}), "every must be positive");
  AXON_REQUIRE_THROWS_WITH(progress(loop, {.lines_every = -1}), "lines_every must be non-negative");
  CHECK(format_duration(0) == "00:00");
  CHECK(format_duration(61.4) == "01:01");
  CHECK(format_duration(3600 * 2 + 5) == "2:00:05");
  CHECK(format_duration(-1) == "--:--");
  std::ostringstream s;
  CHECK_FALSE(is_terminal(&s));
}

TEST_CASE("a run resumed mid-epoch reports the epoch's batches from where it stopped", "[train][progress]") {
  Loop first = trainer(regression(), "mean_squared_error", optim::sgd(0.1), {.log = 0});
  std::optional<LoopState> saved;
  first.handle(Event::iteration_completed, [&](LoopState& s) {
    if (s.epoch_iteration == 1) saved = resume_point(s);  // after batch 2 of 5
    return Action::continue_;
  });
  first.run(rows(1), {}, {.epochs = 1});
  REQUIRE(saved.has_value());

  std::ostringstream out;
  Loop second = trainer(regression(), "mean_squared_error", optim::sgd(0.1),
                        {.out = &out, .log_lines = 1, .terminal = false});
  second.from_state(*saved);
  second.run(rows(1), {}, {.epochs = 1});
  std::vector<std::string> lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("Epoch 1/1 3/5 [", 0) == 0);
  CHECK(lines[0].find('<') != std::string::npos);  // an ETA from the batches this run timed
  CHECK(lines[1].rfind("Epoch 1/1 4/5 [", 0) == 0);
  CHECK(lines[2].rfind("Epoch 1/1 5/5 [", 0) == 0);
}
