#pragma once
// Built-in handlers (Axon.Loop's log, validate, monitor, early_stop, reduce_lr_on_plateau; Keras'
// TerminateOnNaN as stop_on_nan). Each attaches to a loop and returns it, so calls nest:
// early_stop(validate(trainer(...), ...), ...).
// Checkpoints are in checkpoint.hpp.
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>

#include <axon/train/loop.hpp>

namespace axon::training {

// ---- log: writes message(state) to `out` (nothing when out is null). As Axon, an exception from
// `message` halts the loop (it is reported on std::cerr) rather than escaping from run().
struct LogOptions {
  Event event = Event::iteration_completed;
  Filter filter = {};
  std::ostream* out = &std::cout;
};
Loop& log(Loop& loop, std::function<std::string(const LoopState&)> message, LogOptions options = {});
// Axon's line: "\rEpoch: E, Batch: I, name: value ..." (without "Epoch: E, " when with_epoch is false).
std::string supervised_log_message(const LoopState& state, bool with_epoch = true);

// ---- validate: runs `evaluator` over `data` (one epoch, starting from the training loop's step
// state, so that an evaluator's init finds "model_state") with the metrics this loop had when
// validate was attached, and merges its results into the loop's metrics as "validation_<name>".
// Attach it before handlers that read validation metrics (early_stop, checkpoint criteria).
struct ValidateOptions {
  Event event = Event::epoch_completed;
  Filter filter = {};
};
Loop& validate(Loop& loop, Loop evaluator, Dataset data, ValidateOptions options = {});

// ---- monitor: tracks a metric; "improved" means strictly better than the best seen (or the first
// value). After an improvement the count of events without one restarts at 0; `fn` runs on the
// event that finds the metric not improved for the (patience + 1)-th time in a row, and the count
// restarts. The metric must be in the loop's metrics (an error names it otherwise). Reads the value
// back to the host when it runs.
enum class MonitorMode { min, max };
struct MonitorOptions {
  Event event = Event::epoch_completed;
  Filter filter = {};
  MonitorMode mode = MonitorMode::min;  // Axon's code defaults monitor to :max and its docs to :min: min here
  int64_t patience = 3;
};
Loop& monitor(Loop& loop, const std::string& metric, Handler fn, MonitorOptions options = {});
// Halts the loop when `metric` has not improved for patience + 1 events in a row.
Loop& early_stop(Loop& loop, const std::string& metric, MonitorOptions options = {});

// Multiplies the learning rate by `factor` when `metric` has not improved for patience + 1 events.
// The learning rate is the optimizer state's "scale" entry (every key "scale" or ending in "/scale"
// under `optimizer_state` in the step state): the state optim::scale_by_state keeps, which every
// optimizer of <axon/optim.hpp> given a constant learning rate uses for it (Polaris' design). An
// optimizer with a schedule has no such entry: the handler then throws, saying so.
struct ReduceLrOptions {
  Event event = Event::epoch_completed;
  Filter filter = {};
  MonitorMode mode = MonitorMode::min;
  int64_t patience = 3;
  double factor = 0.1;
  std::string optimizer_state = "optimizer_state";
};
Loop& reduce_lr_on_plateau(Loop& loop, const std::string& metric, ReduceLrOptions options = {});
// ---- stop_on_nan (Keras' TerminateOnNaN; on in trainer): halts the loop at the first non-finite
// value of `metric` (the running loss; a running mean turns non-finite exactly at the first
// non-finite batch loss), sets the state's status to halted and its halt_reason to
//   "stop_on_nan: the loss is not finite (NaN or infinite) from epoch E, batch B (both counted from
//    0, as LoopState's counters); halting the loop"
// (also written to `out`, and kept as handler_metadata "stop_on_nan/epoch" and "stop_on_nan/batch").
// No host sync per step: each step folds isfinite(metric) into a device-side index of the first bad
// batch (six 0-d ops queued on the metric's device), and only a check reads that one integer back. A check runs after each batch whose index in
// the epoch is a multiple of `every` (when every > 0: the batches trainer's log line reads anyway),
// and at the end of each epoch (before the epoch's later handlers such as validation or
// checkpoints, when attached first). So it halts at the first check after the bad batch (at most
// `every` - 1 batches later, or at the end of that epoch), and the epoch and batch it names are
// exactly those of the first bad batch. every = 1 halts right after the bad batch, at one host sync
// per step.
struct StopOnNanOptions {
  std::string metric = "loss";
  int64_t every = 0;              // 0: check at the end of each epoch only
  std::ostream* out = &std::cerr;  // null: silent (the reason is still in halt_reason)
};
Loop& stop_on_nan(Loop& loop, StopOnNanOptions options = {});

// The current learning rate: minus the first "scale" entry (host read), for inspection.
double learning_rate(const StepState& state, const std::string& optimizer_state = "optimizer_state");

}  // namespace axon::training
