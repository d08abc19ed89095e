// The progress report: lines drawn from host clocks and, at drawing time only, the device metrics.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>

#include <axon/train/progress.hpp>

namespace axon::training {
namespace {

using Clock = std::chrono::steady_clock;

struct Progress {
  ProgressOptions o;
  bool terminal = false;
  Clock::time_point t0 = Clock::now();
  double samples = 0;
  int64_t done = 0;  // batches of the epoch done (counted from its first, in a resumed run too)
  int64_t base = 0;  // batches of the epoch done before this run's clock started (a resumed run)
  bool per_sample = true;
  size_t drawn = 0;  // length of the line on screen (terminal), to blank what a shorter one leaves
  bool open = false;  // a terminal line is drawn without its newline yet

  void start_epoch(int64_t already_done) {
    t0 = Clock::now();
    samples = 0;
    done = base = already_done;
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }

  void count(const LoopState& s) {
    for (const char* k : {"y_pred", "y_true"}) {
      if (!s.step_state.contains(k)) continue;
      const Tensor& t = s.step_state.at(k);
      if (t.defined() && t.dim() > 0) {
        samples += double(t.shape()[0]);
        return;
      }
    }
    per_sample = false;
    samples += 1;
  }

  std::string line(const LoopState& s, int64_t epoch, int64_t done, int64_t total, double seconds,
                   const std::map<std::string, Tensor>& metrics, bool final) const {
    std::string rate = seconds > 0 ? fmt::format("{:.0f}", samples / seconds) : "-";
    std::string eta = final || done <= base ? "" : "<" + format_duration(seconds / double(done - base) * double(total - done));
    return fmt::format("Epoch {}/{} {}/{} [{}{}, {} {}/s] {}", epoch + 1, s.max_epoch, done, total,
                       format_duration(seconds), eta, rate, per_sample ? "samples" : "batches",
                       format_metrics(metrics));
  }

  void draw(const std::string& text, bool end) {
    std::ostream& out = *o.out;
    if (terminal) {
      out << '\r' << text;
      if (text.size() < drawn) out << std::string(drawn - text.size(), ' ');
      drawn = end ? 0 : text.size();
      open = !end;
      if (end) out << '\n';
    } else {
      out << text << '\n';
    }
    out << std::flush;
  }
};

}  // namespace

bool is_terminal(const std::ostream* out) {
  if (out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  if (out == &std::cerr || out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
  return false;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto total = int64_t(std::llround(seconds));
  int64_t h = total / 3600, m = total / 60 % 60, sec = total % 60;
  return h > 0 ? fmt::format("{}:{:02}:{:02}", h, m, sec) : fmt::format("{:02}:{:02}", m, sec);
}

Loop& after_epoch(Loop& loop, std::function<void(LoopState&, int64_t)> fn) {
  AXON_CHECK(static_cast<bool>(fn), "after_epoch", "empty function");
  auto pending = std::make_shared<std::optional<int64_t>>();
  loop.handle({Event::epoch_completed, Event::epoch_halted}, [pending](LoopState& s) {
    *pending = s.epoch;
    return Action::continue_;
  });
  return loop.handle({Event::epoch_started, Event::completed, Event::halted}, [pending, fn](LoopState& s) {
    if (*pending) {
      int64_t e = **pending;
      pending->reset();
      fn(s, e);
    }
    return Action::continue_;
  });
}

Loop& progress(Loop& loop, ProgressOptions o) {
  AXON_CHECK(o.every > 0, "progress", "every must be positive, got {}", o.every);
  AXON_CHECK(o.lines_every >= 0, "progress", "lines_every must be non-negative (0: one line per epoch), got {}",
             o.lines_every);
  if (!o.out) return loop;
  auto p = std::make_shared<Progress>();
  p->o = o;
  p->terminal = o.terminal ? *o.terminal : is_terminal(o.out);
  // Attached first: the epoch's line is drawn before the next epoch_started restarts the counts.
  after_epoch(loop, [p](LoopState& s, int64_t e) {
    auto m = s.epoch_metrics.find(e);
    auto t = s.epoch_seconds.find(e);
    p->draw(p->line(s, e, p->done, s.epoch_batches, t == s.epoch_seconds.end() ? 0 : t->second,
                    m == s.epoch_metrics.end() ? std::map<std::string, Tensor>{} : m->second, true),
            true);
  });
  // started too: a run resumed mid-epoch does not fire that epoch's epoch_started.
  loop.handle({Event::started, Event::epoch_started}, [p](LoopState& s) {
    p->start_epoch(s.event == Event::started ? s.epoch_iteration : 0);
    return Action::continue_;
  });
  loop.handle(Event::iteration_completed, [p](LoopState& s) {
    p->count(s);
    p->done = s.epoch_iteration + 1;
    if (p->done == s.epoch_batches) return Action::continue_;  // the epoch's own line follows
    int64_t every = p->terminal ? p->o.every : p->o.lines_every;
    // The terminal shows the first batch at once; lines come after every `lines_every` batches.
    bool due = every > 0 && (p->terminal ? s.epoch_iteration % every == 0 : p->done % every == 0);
    if (due) p->draw(p->line(s, s.epoch, p->done, s.epoch_batches, p->elapsed(), s.metrics, false), false);
    return Action::continue_;
  });
  // A halt mid-epoch leaves a terminal line open.
  return loop.handle(Event::halted, [p](LoopState&) {
    if (p->open) {
      *p->o.out << '\n' << std::flush;
      p->open = false;
      p->drawn = 0;
    }
    return Action::continue_;
  });
}

}  // namespace axon::training
