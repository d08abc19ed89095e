// csv_logger and tensorboard: records per epoch (after its handlers) or every N batches.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include <axon/train/handlers.hpp>
#include <axon/train/loggers.hpp>
#include <axon/train/progress.hpp>

namespace axon::training {
namespace {

struct Record {
  int64_t epoch = 0;  // from 1
  int64_t batch = 0;  // batches done in that epoch
  int64_t iteration = 0;
  double seconds = 0;
  std::optional<double> learning_rate;
  std::map<std::string, double> metrics;
};

std::optional<double> current_learning_rate(const LoopState& s) {
  try {
    return learning_rate(s.step_state);
  } catch (const Error&) {
    return std::nullopt;  // a schedule, or a step without an optimizer
  }
}

// Calls emit(record) per epoch (every 0) or after every `every` batches.
void on_records(Loop& loop, const char* op, int64_t every, std::function<void(const Record&)> emit) {
  AXON_CHECK(every >= 0, op, "every must be non-negative (0: once per epoch), got {}", every);
  struct Clock {
    std::chrono::steady_clock::time_point t0;
    int64_t done = 0;
  };
  auto c = std::make_shared<Clock>();
  if (every == 0) {
    // Before the handler restarting the counts below: it reads the finished epoch's.
    after_epoch(loop, [c, emit](LoopState& s, int64_t e) {
      auto t = s.epoch_seconds.find(e);
      auto m = s.epoch_metrics.find(e);
      emit({e + 1, c->done, s.iteration, t == s.epoch_seconds.end() ? 0.0 : t->second, current_learning_rate(s),
            m == s.epoch_metrics.end() ? std::map<std::string, double>{} : metric_values(m->second)});
    });
  }
  loop.handle({Event::started, Event::epoch_started}, [c](LoopState&) {
    c->t0 = std::chrono::steady_clock::now();
    c->done = 0;
    return Action::continue_;
  });
  loop.handle(Event::iteration_completed, [c, every, emit](LoopState& s) {
    c->done = s.epoch_iteration + 1;
    if (every > 0 && (s.iteration + 1) % every == 0) {
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - c->t0).count();
      emit({s.epoch + 1, c->done, s.iteration + 1, sec, current_learning_rate(s), metric_values(s.metrics)});
    }
    return Action::continue_;
  });
}

std::string number(double v) { return fmt::format("{}", v); }

// A CSV cell: names with a comma, quote or newline are quoted.
std::string cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string q = "\"";
  for (char ch : text) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

Loop& csv_logger(Loop& loop, CsvLoggerOptions o) {
  AXON_CHECK(!o.path.empty(), "csv_logger", "empty path");
  struct Csv {
    std::ofstream out;
    std::vector<std::string> metrics;
    bool learning_rate = false, started = false;
  };
  auto csv = std::make_shared<Csv>();
  on_records(loop, "csv_logger", o.every, [csv, o](const Record& r) {
    if (!csv->started) {
      std::filesystem::path p(o.path);
      std::error_code ec;
      if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
      bool had_rows = o.append && std::filesystem::exists(p, ec) && std::filesystem::file_size(p, ec) > 0;
      csv->out.open(o.path, o.append ? std::ios::app : std::ios::trunc);
      AXON_CHECK(csv->out.good(), "csv_logger", "cannot open {} for writing", o.path);
      csv->learning_rate = r.learning_rate.has_value();
      for (const auto& [name, v] : r.metrics) csv->metrics.push_back(name);
      if (!had_rows) {
        csv->out << "epoch,batch,iteration,seconds" << (csv->learning_rate ? ",learning_rate" : "");
        for (const auto& name : csv->metrics) csv->out << ',' << cell(name);
        csv->out << '\n';
      }
      csv->started = true;
    }
    csv->out << r.epoch << ',' << r.batch << ',' << r.iteration << ',' << number(r.seconds);
    if (csv->learning_rate) csv->out << ',' << (r.learning_rate ? number(*r.learning_rate) : "");
    for (const auto& name : csv->metrics) {
      auto it = r.metrics.find(name);
      csv->out << ',' << (it == r.metrics.end() ? "" : number(it->second));
    }
    csv->out << '\n' << std::flush;
    AXON_CHECK(csv->out.good(), "csv_logger", "cannot write to {}", o.path);
  });
  return loop;
}

Loop& tensorboard(Loop& loop, TensorBoardOptions o) {
  AXON_CHECK(!o.logdir.empty(), "tensorboard", "empty logdir");
  auto writer = std::make_shared<std::unique_ptr<EventWriter>>();
  on_records(loop, "tensorboard", o.every, [writer, o](const Record& r) {
    if (!*writer) *writer = std::make_unique<EventWriter>(o.logdir);  // the file appears with the first record
    int64_t step = o.every == 0 ? r.epoch : r.iteration;
    for (const auto& [name, v] : r.metrics) (*writer)->scalar(name, v, step);
    if (r.learning_rate) (*writer)->scalar("learning_rate", *r.learning_rate, step);
    (*writer)->flush();
  });
  return loop;
}

}  // namespace axon::training
