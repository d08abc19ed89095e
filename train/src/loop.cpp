// The loop's driver: events, filters, metric accumulation.
#include <algorithm>
#include <chrono>

#include <axon/ops.hpp>
#include <axon/train/loop.hpp>

namespace axon::training {

const char* event_name(Event e) {
  switch (e) {
    case Event::started: return "started";
    case Event::epoch_started: return "epoch_started";
    case Event::iteration_started: return "iteration_started";
    case Event::iteration_completed: return "iteration_completed";
    case Event::epoch_completed: return "epoch_completed";
    case Event::epoch_halted: return "epoch_halted";
    case Event::halted: return "halted";
    case Event::completed: return "completed";
  }
  return "?";
}

const std::vector<Event>& all_events() {
  static const std::vector<Event> events{Event::started,         Event::epoch_started,   Event::iteration_started,
                                         Event::iteration_completed, Event::epoch_completed, Event::epoch_halted,
                                         Event::halted,          Event::completed};
  return events;
}

bool Filter::operator()(const LoopState& state, Event event) const {
  auto it = state.event_counts.find(event);
  EventCount c = it == state.event_counts.end() ? EventCount{} : it->second;
  int64_t n = counts == Count::epoch ? c.epoch : c.total;
  if (first && c.total != 1) return false;
  if (every) {
    AXON_CHECK(*every > 0, "filter", "every must be positive, got {}", *every);
    if ((n - 1) % *every != 0) return false;
  }
  if (before && !(n < *before)) return false;
  if (after && !(n > *after)) return false;
  if (once && n != *once) return false;
  return !when || when(state, event);
}

AccumulateFn accumulator(Accumulate kind) {
  if (kind == Accumulate::running_sum)
    return [](const Tensor& acc, const Tensor& obs, int64_t i) { return i == 0 || !acc.defined() ? obs : add(acc, obs); };
  // The same formula as metrics::running_average, on an already computed observation.
  return [](const Tensor& acc, const Tensor& obs, int64_t i) {
    Tensor o = obs.is_floating_point() ? obs : cast(obs, DType::f32);
    if (i == 0 || !acc.defined()) return o;
    return div(add(mul(acc, double(i)), o), double(i + 1));
  };
}

Loop::Loop(StepFn step, StepInit init) : step_(std::move(step)), init_(std::move(init)) {
  AXON_CHECK(static_cast<bool>(step_), "loop", "a loop needs a step function");
}

Loop& Loop::handle(Event event, Handler handler, Filter filter) {
  AXON_CHECK(static_cast<bool>(handler), "handle", "empty handler for event {}", event_name(event));
  handlers_[event].push_back({std::move(handler), std::move(filter)});
  ++attached_handlers_;
  return *this;
}

Loop& Loop::handle(const std::vector<Event>& events, Handler handler, Filter filter) {
  for (Event e : events) handle(e, handler, filter);
  return *this;
}

Loop& Loop::add_metric(MetricSpec spec) {
  AXON_CHECK(!spec.name.empty(), "metric", "a metric needs a name");
  AXON_CHECK(spec.observe || !spec.step_state_key.empty(), "metric", "metric '{}' has nothing to observe", spec.name);
  if (!spec.accumulate) spec.accumulate = accumulator(Accumulate::running_average);
  for (auto& m : metrics_)
    if (m.name == spec.name) {
      m = std::move(spec);
      return *this;
    }
  metrics_.push_back(std::move(spec));
  return *this;
}

Loop& Loop::from_state(LoopState state) {
  attached_ = std::move(state);
  return *this;
}

Loop& Loop::produces(const std::string& metric, std::optional<Event> on, const std::string& handler) {
  AXON_CHECK(!metric.empty(), "produces", "empty metric name");
  produced_.push_back({metric, handler, on, attached_handlers_});
  return *this;
}

Loop& Loop::require_metric(const std::string& metric, const std::string& handler, std::optional<Event> on) {
  AXON_CHECK(!metric.empty(), handler, "empty metric name");
  required_.push_back({metric, handler, on, attached_handlers_});
  return *this;
}

void Loop::check_wiring() const {
  std::vector<std::string> known;
  for (const auto& m : metrics_) known.push_back(m.name);
  const size_t from_specs = known.size();
  for (const auto& p : produced_) known.push_back(p.metric);
  for (const auto& r : required_) {
    auto spec_end = known.begin() + std::ptrdiff_t(from_specs);
    if (std::find(known.begin(), spec_end, r.metric) != spec_end) continue;
    const Wiring* late = nullptr;  // a writer on the reader's event, attached after it
    bool in_time = false;
    for (const auto& p : produced_) {
      if (p.metric != r.metric) continue;
      if (r.on && p.on == r.on && p.position >= r.position) late = &p;
      else in_time = true;
    }
    if (in_time) continue;
    if (late)
      AXON_FAIL(r.handler,
                "metric '{}' is written by {}, attached after {} on the same event ({}): it would read the "
                "metric before it is written; attach {} first",
                r.metric, late->handler, r.handler, event_name(*r.on), late->handler);
    std::string names;
    for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
    AXON_FAIL(r.handler,
              "metric '{}' is produced by nothing in this loop (its metrics: {}); add it with metric(), attach "
              "validate() for validation_ metrics, or declare a handler's own metric with produces()",
              r.metric, names.empty() ? "none" : names);
  }
}

std::string Loop::metadata_key(const std::string& kind) { return kind + "#" + std::to_string(metadata_keys_[kind]++); }

LoopState Loop::run(const Dataset& data, const StepState& init, RunOptions options) const {
  AXON_CHECK(static_cast<bool>(step_), "run", "the loop has no step function");
  AXON_CHECK(!data.empty(), "run", "the dataset is empty: a loop needs at least one batch");
  AXON_CHECK(options.epochs >= 0, "run", "epochs must be non-negative, got {}", options.epochs);
  check_wiring();

  LoopState s;
  if (attached_) {
    s = *attached_;
    s.status = Status::running;
    s.halt_reason.clear();
  } else {
    s.step_state = init_ ? init_(data.batch(0, 0), init) : init;
  }
  AXON_CHECK(options.iterations >= -1, "run", "iterations must be -1 (all batches) or non-negative, got {}",
             options.iterations);
  AXON_CHECK(s.epoch >= 0, "run", "the attached state's epoch is negative ({})", s.epoch);
  AXON_CHECK(!__builtin_add_overflow(s.epoch, options.epochs, &s.max_epoch), "run",
             "the attached state's epoch {} plus {} epochs overflows int64", s.epoch, options.epochs);
  s.max_iteration = options.iterations;

  auto fire = [&](Event event) {
    EventCount& c = s.event_counts[event];
    ++c.total;
    ++c.epoch;
    s.event = event;
    auto it = handlers_.find(event);
    if (it == handlers_.end()) return Action::continue_;
    for (const auto& a : it->second) {
      if (!a.filter(s, event)) continue;
      Action r = a.handler(s);
      if (r != Action::continue_) return r;
    }
    return Action::continue_;
  };
  auto update_metrics = [&] {
    NoGrad no_grad;
    for (const auto& m : metrics_) {
      if (!m.step_state_key.empty() && s.step_state.contains(m.step_state_key)) {
        s.metrics[m.name] = s.step_state.at(m.step_state_key);
        continue;
      }
      AXON_CHECK(static_cast<bool>(m.observe), "metric", "metric '{}': the step state has no '{}'", m.name,
                 m.step_state_key);
      auto it = s.metrics.find(m.name);
      Tensor acc = it == s.metrics.end() ? Tensor() : it->second;
      s.metrics[m.name] = m.accumulate(acc, m.observe(s.step_state), s.epoch_iteration);
    }
  };
  // Ends the current epoch: its metrics and time are kept, the counters move to the next one.
  auto finish_epoch = [&](double seconds) {
    s.epoch_metrics[s.epoch] = s.metrics;
    s.epoch_seconds[s.epoch] += seconds;
    ++s.epoch;
    s.epoch_iteration = 0;
  };

  bool halted = fire(Event::started) != Action::continue_;
  // A state saved mid-epoch resumes that epoch: its epoch_started has fired and its metrics run on.
  bool mid_epoch = s.epoch_iteration > 0;
  while (!halted && s.epoch < s.max_epoch) {
    auto t0 = std::chrono::steady_clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    Action a = Action::continue_;
    int64_t limit = data.num_batches();
    if (s.max_iteration >= 0) limit = std::min(limit, s.max_iteration);
    s.epoch_batches = limit;
    if (!mid_epoch) {
      s.metrics.clear();
      s.epoch_iteration = 0;
      for (auto& [e, c] : s.event_counts) c.epoch = 0;
      a = fire(Event::epoch_started);
    }
    mid_epoch = false;
    while (a == Action::continue_ && s.epoch_iteration < limit) {
      a = fire(Event::iteration_started);
      if (a != Action::continue_) break;
      s.step_state = step_(data.batch(s.epoch, s.epoch_iteration), s.step_state);
      update_metrics();
      a = fire(Event::iteration_completed);
      ++s.iteration;
      ++s.epoch_iteration;
    }
    if (a == Action::halt_loop) {
      halted = true;
      break;
    }
    if (a == Action::halt_epoch) {
      halted = fire(Event::epoch_halted) == Action::halt_loop;
      finish_epoch(seconds());
      continue;
    }
    // The epoch's time (its batches, not the epoch_completed handlers such as validation) is kept
    // before those handlers run, so they can report it.
    s.epoch_seconds[s.epoch] += seconds();
    a = fire(Event::epoch_completed);
    finish_epoch(0.0);
    if (a == Action::halt_loop) halted = true;
  }
  s.status = halted ? Status::halted : Status::completed;
  fire(halted ? Event::halted : Event::completed);
  return s;
}

}  // namespace axon::training
