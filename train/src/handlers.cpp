// log, validate, monitor and the handlers built on it.
#include <axon/ops.hpp>
#include <axon/train/handlers.hpp>

#include "metric_value.hpp"

namespace axon::training {
namespace {

// One monitor event: records the value and says whether the monitor fires (not improved for the
// (patience + 1)-th time in a row). State kept in handler_metadata under `key`.
bool monitor_fires(const char* op, LoopState& s, const std::string& key, const std::string& metric, MonitorMode mode,
                   int64_t patience) {
  double v = detail::metric_value(op, s, metric);
  auto& meta = s.handler_metadata;
  auto best = meta.find(key + "/best");
  bool improved = best == meta.end() || (mode == MonitorMode::min ? v < best->second : v > best->second);
  double& since = meta[key + "/since"];
  if (improved) {
    meta[key + "/best"] = v;
    since = 0;
    return false;
  }
  if (since < double(patience)) {
    since += 1;
    return false;
  }
  since = 0;
  return true;
}

bool is_scale_key(const std::string& k) { return k == "scale" || (k.size() > 6 && k.compare(k.size() - 6, 6, "/scale") == 0); }

// The optimizer's learning-rate entries under `pre` ("optimizer_state/"); an error when there are none.
std::vector<Tensor*> lr_scales(LoopState& s, const std::string& pre) {
  std::vector<Tensor*> scales;
  for (auto it = s.step_state.tensors.lower_bound(pre);
       it != s.step_state.tensors.end() && it->first.compare(0, pre.size(), pre) == 0; ++it)
    if (is_scale_key(it->first.substr(pre.size()))) scales.push_back(&it->second);
  AXON_CHECK(!scales.empty(), "reduce_lr_on_plateau",
             "no learning-rate entry ('scale') under '{}' in the step state: the optimizer needs a constant "
             "learning rate (optim::scale_by_state); a schedule cannot be reduced",
             pre);
  return scales;
}

}  // namespace

namespace detail {
double metric_value(const char* op, const LoopState& s, const std::string& metric) {
  auto it = s.metrics.find(metric);
  if (it == s.metrics.end()) {
    std::string names;
    for (const auto& [k, v] : s.metrics) names += (names.empty() ? "" : ", ") + k;
    AXON_FAIL(op, "metric '{}' is not in the loop's metrics (it has: {})", metric, names.empty() ? "none" : names);
  }
  AXON_CHECK(it->second.numel() == 1, op, "metric '{}' must hold one value, got {}", metric, describe(it->second));
  return it->second.reshape({}).to(DType::f64).item<double>();
}
}  // namespace detail

Loop& log(Loop& loop, std::function<std::string(const LoopState&)> message, LogOptions o) {
  AXON_CHECK(static_cast<bool>(message), "log", "empty message function");
  if (!o.out) return loop;
  std::ostream* out = o.out;
  return loop.handle(
      o.event,
      [message = std::move(message), out](LoopState& s) {
        try {
          *out << message(s) << std::flush;
        } catch (const std::exception& e) {
          std::cerr << "axon::training::log: the message function threw, halting the loop: " << e.what() << "\n";
          return Action::halt_loop;
        }
        return Action::continue_;
      },
      o.filter);
}

std::string supervised_log_message(const LoopState& s, bool with_epoch) {
  std::string metrics = format_metrics(s.metrics);
  if (with_epoch) return fmt::format("\rEpoch: {}, Batch: {}, {}", s.epoch, s.epoch_iteration, metrics);
  return fmt::format("\rBatch: {}, {}", s.epoch_iteration, metrics);
}

Loop& validate(Loop& loop, Loop evaluator, Dataset data, ValidateOptions o) {
  AXON_CHECK(!data.empty(), "validate", "the validation dataset is empty");
  for (const auto& m : loop.metrics()) {
    evaluator.add_metric(m);
    loop.produces("validation_" + m.name, o.event, "validate");
  }
  return loop.handle(
      o.event,
      [ev = std::move(evaluator), data = std::move(data)](LoopState& s) {
        LoopState r = ev.run(data, s.step_state, {.epochs = 1});
        const auto& m = r.epoch_metrics.empty() ? r.metrics : r.epoch_metrics.begin()->second;
        for (const auto& [k, v] : m) s.metrics["validation_" + k] = v;
        return Action::continue_;
      },
      o.filter);
}

Loop& monitor(Loop& loop, const std::string& metric, Handler fn, MonitorOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "monitor", "empty handler");
  AXON_CHECK(o.patience >= 0, "monitor", "patience must be non-negative, got {}", o.patience);
  loop.require_metric(metric, "monitor", o.event);
  std::string key = loop.metadata_key("monitor/" + metric);
  return loop.handle(
      o.event,
      [=](LoopState& s) {
        return monitor_fires("monitor", s, key, metric, o.mode, o.patience) ? fn(s) : Action::continue_;
      },
      o.filter);
}

Loop& early_stop(Loop& loop, const std::string& metric, MonitorOptions o) {
  AXON_CHECK(o.patience >= 0, "early_stop", "patience must be non-negative, got {}", o.patience);
  loop.require_metric(metric, "early_stop", o.event);
  std::string key = loop.metadata_key("early_stop/" + metric);
  return loop.handle(
      o.event,
      [=](LoopState& s) {
        if (!monitor_fires("early_stop", s, key, metric, o.mode, o.patience)) return Action::continue_;
        s.halt_reason = fmt::format("early_stop: '{}' did not improve for {} events in a row", metric, o.patience + 1);
        return Action::halt_loop;
      },
      o.filter);
}

Loop& reduce_lr_on_plateau(Loop& loop, const std::string& metric, ReduceLrOptions o) {
  AXON_CHECK(o.patience >= 0, "reduce_lr_on_plateau", "patience must be non-negative, got {}", o.patience);
  AXON_CHECK(o.factor > 0, "reduce_lr_on_plateau", "factor must be positive, got {}", o.factor);
  loop.require_metric(metric, "reduce_lr_on_plateau", o.event);
  std::string key = loop.metadata_key("reduce_lr_on_plateau/" + metric);
  // The step state is initialised before `started` fires: a missing knob shows there, before any step.
  loop.handle(Event::started, [pre = o.optimizer_state + "/"](LoopState& s) {
    (void)lr_scales(s, pre);
    return Action::continue_;
  });
  return loop.handle(
      o.event,
      [=](LoopState& s) {
        std::vector<Tensor*> scales = lr_scales(s, o.optimizer_state + "/");
        if (monitor_fires("reduce_lr_on_plateau", s, key, metric, o.mode, o.patience)) {
          NoGrad no_grad;
          for (Tensor* t : scales) *t = mul(*t, o.factor);
        }
        return Action::continue_;
      },
      o.filter);
}

double learning_rate(const StepState& state, const std::string& optimizer_state) {
  for (const auto& [k, t] : state.sub(optimizer_state))
    if (is_scale_key(k)) return -t.reshape({}).to(DType::f64).item<double>();
  AXON_FAIL("learning_rate", "no learning-rate entry ('scale') under '{}/' in the step state", optimizer_state);
}

}  // namespace axon::training
