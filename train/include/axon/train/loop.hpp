#pragma once
// A loop (Axon.Loop): a step function reduced over a Dataset for some epochs,
//   for epoch: for batch: step_state = step(batch, step_state)
// with metrics accumulated on the device and handlers fired on events. It knows nothing of models:
// any step function over any StepState works (the model glue is in trainer.hpp).
//
// Events, in the order they fire:
//   started; per epoch: epoch_started, then per batch iteration_started, iteration_completed;
//   epoch_completed (or epoch_halted when a handler halted the epoch); finally completed, or halted
//   when a handler halted the loop.
// Handlers run in the order they were attached; each returns continue_, halt_epoch or halt_loop,
// and the first that halts stops the remaining handlers of that event.
//
// Counters, as Axon: `epoch_iteration` is the index of the batch being processed (so a handler on
// iteration_completed of the first batch sees 0) and becomes the number of batches done once the
// handlers of iteration_completed have run; `iteration` counts the same over every epoch.
//
// Host syncs: the loop itself reads nothing back from the device; metrics accumulate there. Only a
// handler that looks at a value (log, early_stop, ...) synchronises, when its filter lets it run.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <axon/metrics.hpp>
#include <axon/train/data.hpp>
#include <axon/train/step_state.hpp>

namespace axon::training {

enum class Event { started, epoch_started, iteration_started, iteration_completed, epoch_completed, epoch_halted,
                   halted, completed };
const char* event_name(Event e);  // "started", "epoch_started", ...
const std::vector<Event>& all_events();

enum class Action { continue_, halt_epoch, halt_loop };
enum class Status { running, completed, halted };

// How many times an event has fired: in the whole run and in the current epoch.
struct EventCount {
  int64_t total = 0;
  int64_t epoch = 0;
};

struct LoopState {
  int64_t epoch = 0;            // the current epoch, from 0
  int64_t max_epoch = 1;        // the loop stops before this epoch
  int64_t iteration = 0;        // batches processed over every epoch (see the counters note above)
  int64_t epoch_iteration = 0;  // batches processed in this epoch (Axon's `iteration`)
  int64_t max_iteration = -1;   // batches per epoch at most; -1: all of the dataset
  int64_t epoch_batches = 0;    // batches this epoch runs (the dataset's, capped by max_iteration); set
                                // by run() before epoch_started, for progress reports; not checkpointed
  StepState step_state;
  std::map<std::string, Tensor> metrics;                       // this epoch's running values
  std::map<int64_t, std::map<std::string, Tensor>> epoch_metrics;  // each finished epoch's metrics
  std::map<int64_t, double> epoch_seconds;                     // wall time of each epoch's batches (host clock;
                                                               // set before epoch_completed fires)
  std::map<Event, EventCount> event_counts;
  // Handlers' own state (best values, patience counters): saved with checkpoints.
  std::map<std::string, double> handler_metadata;
  Event event = Event::started;  // the event being fired
  Status status = Status::running;
  std::string halt_reason;  // why a handler halted the loop, when it says (stop_on_nan does); not checkpointed
};

using Handler = std::function<Action(LoopState& state)>;
// One step: the new step state from a batch and the current one.
using StepFn = std::function<StepState(const Batch& batch, const StepState& state)>;
// The first step state, from the first batch of the data (e.g. to put parameters on its device) and
// the state run() was given.
using StepInit = std::function<StepState(const Batch& first_batch, const StepState& given)>;

// Axon's {init_fn, step_fn} pair.
struct Step {
  StepInit init;
  StepFn step;
};

// When a handler runs. Every condition given must hold (Axon's keyword filters are ANDed); a
// default Filter always runs. Counts are the event's count including the current firing (1 on the
// first), over the run (Count::total) or within the current epoch (Count::epoch).
enum class Count { total, epoch };
struct Filter {
  std::optional<int64_t> every = {};    // (count - 1) % every == 0: the 1st, (every+1)-th, ... firing
  Count counts = Count::total;          // which count every/before/after/once look at
  std::optional<int64_t> before = {};   // count < before
  std::optional<int64_t> after = {};    // count > after
  std::optional<int64_t> once = {};     // count == once
  bool first = false;                   // the first firing of the run (Axon's :first)
  std::function<bool(const LoopState&, Event)> when = {};  // a custom predicate

  bool operator()(const LoopState& state, Event event) const;
};

// Running accumulation of a metric over the batches of an epoch (i = the batch's index in it):
//   running_average: (acc·i + obs)/(i + 1) (floating; integer observations become f32)
//   running_sum:     acc + obs
enum class Accumulate { running_average, running_sum };
using AccumulateFn = std::function<Tensor(const Tensor& acc, const Tensor& obs, int64_t i)>;  // acc undefined at i = 0
AccumulateFn accumulator(Accumulate kind);

struct MetricSpec {
  std::string name;
  std::function<Tensor(const StepState&)> observe;  // this batch's value, from the step state
  AccumulateFn accumulate;
  // When set and the step state holds this key, its value is the metric as it is, with no
  // accumulation (Axon's rule for a step that keeps its own running value, like the trainer's
  // loss); otherwise `observe` runs (an evaluator's step state has no "loss").
  std::string step_state_key = {};
};

struct RunOptions {
  int64_t epochs = 1;       // with an attached state: this many more epochs from its epoch
  int64_t iterations = -1;  // at most this many batches per epoch; -1: all
};

class Loop {
 public:
  Loop() = default;
  explicit Loop(StepFn step, StepInit init = {});
  explicit Loop(Step step) : Loop(std::move(step.step), std::move(step.init)) {}

  // Attaches a handler to one event, several, or all_events().
  Loop& handle(Event event, Handler handler, Filter filter = {});
  Loop& handle(const std::vector<Event>& events, Handler handler, Filter filter = {});
  // Adds a metric; one of the same name is replaced (Axon warns and overrides).
  Loop& add_metric(MetricSpec spec);
  const std::vector<MetricSpec>& metrics() const { return metrics_; }
  // Resumes from a state (a checkpoint's, or a finished run's): it takes the place of the init
  // function; the run starts at its epoch and batch, with its metrics if it stopped mid-epoch.
  Loop& from_state(LoopState state);
  // Wiring checked when run() starts, before any step: a handler that reads a metric (early_stop,
  // monitor, reduce_lr_on_plateau, checkpoint criteria, stop_on_nan) declares it with
  // require_metric, and run() fails naming the handler and the metric when no metric of the loop
  // (add_metric / metric()) nor any produces() declaration supplies it. A handler that writes
  // metrics of its own into LoopState::metrics declares them with produces() (validate declares
  // "validation_<name>" for each metric of the loop when it is attached). Given the event they run
  // on, a reader attached before the only writers of its metric on that same event (early_stop on
  // "validation_loss" attached before validate) is an error too: the writers would run after it.
  Loop& produces(const std::string& metric, std::optional<Event> on = {}, const std::string& handler = "a handler");
  Loop& require_metric(const std::string& metric, const std::string& handler, std::optional<Event> on = {});
  // A handler-unique key for handler_metadata ("<kind>#<k>"), stable when the loop is rebuilt
  // by the same code (as a resumed run is).
  std::string metadata_key(const std::string& kind);

  // Runs the loop. Without an attached state the step state comes from the init function applied
  // to the first batch and `init` (or is `init` itself when there is no init function). Throws for
  // an empty dataset. Returns the final state: epoch_metrics holds each epoch's metrics.
  LoopState run(const Dataset& data, const StepState& init = {}, RunOptions options = {}) const;

 private:
  void check_wiring() const;
  struct Attached {
    Handler handler;
    Filter filter;
  };
  StepFn step_;
  StepInit init_;
  std::map<Event, std::vector<Attached>> handlers_;
  std::vector<MetricSpec> metrics_;
  std::optional<LoopState> attached_;
  struct Wiring {  // a handler writing or reading a metric; `position`: the handlers attached before it
    std::string metric, handler;
    std::optional<Event> on;
    size_t position;
  };
  std::vector<Wiring> produced_, required_;
  size_t attached_handlers_ = 0;
  std::map<std::string, int> metadata_keys_;
};

// ---- metrics (Axon.Loop.metric)
struct MetricOptions {
  Accumulate accumulate = Accumulate::running_average;
  AccumulateFn accumulate_fn = {};  // overrides `accumulate`
  std::string y_true = "y_true";    // the step-state keys given to a (y_true, y_pred) metric
  std::string y_pred = "y_pred";
  // Options of a metric given by name (naming one it does not take is an error):
  bool sparse = false;                   // integer class ids as y_true: accuracy, top_k_categorical_accuracy
  bool from_logits = false;              // accuracy
  std::optional<int64_t> k = {};         // top_k_categorical_accuracy (default 5)
  std::optional<double> threshold = {};  // precision, recall, sensitivity, specificity, true/false_positives/negatives (0.5)
};
// A metric of <axon/metrics.hpp> by name, with the options above: accuracy, precision, recall,
// sensitivity, specificity, true_positives, false_positives, true_negatives, false_negatives,
// mean_absolute_error, top_k_categorical_accuracy. With the readers' integer labels:
//   metric(loop, "accuracy", {.sparse = true});
Loop& metric(Loop& loop, const std::string& name, MetricOptions options = {});
// A function of (y_true, y_pred).
Loop& metric(Loop& loop, const std::string& name, metrics::Metric fn, MetricOptions options = {});
// A function of the whole step state (Axon's output transform and metric in one).
Loop& metric(Loop& loop, const std::string& name, std::function<Tensor(const StepState&)> observe,
             MetricOptions options = {});
// The metric functions metric(loop, name) knows, by name (error listing them otherwise), with the
// name-specific options of `options`.
metrics::Metric metric_by_name(const std::string& name, const MetricOptions& options = {});

// Values as Axon prints them: floats "%.7f" (bf16 "%.3f"), integers plainly, NaN / Inf / -Inf.
// Reads the value back to the host.
std::string format_metric(const Tensor& value);
// "name: value name: value" in name order.
std::string format_metrics(const std::map<std::string, Tensor>& metrics);
// Host values of a metrics map (one sync).
std::map<std::string, double> metric_values(const std::map<std::string, Tensor>& metrics);

}  // namespace axon::training
