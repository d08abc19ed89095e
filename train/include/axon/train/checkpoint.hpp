#pragma once
// Checkpoints: a whole loop state in one safetensors file (<axon/io.hpp>), so a run can resume
// exactly where it stopped:
//   tensors  "step_state/<key>"            the step state (parameters, optimizer state, counters)
//            "metrics/<name>"              the running metrics of the current epoch
//            "epoch_metrics/<e>/<name>"    each finished epoch's metrics
//   metadata "axon.loop.format" = "1", epoch / iteration / epoch_iteration / max_epoch /
//            max_iteration, "event_counts" and "handler_metadata" (numbers as exact text)
// The counters saved are those of the point to resume from: a state saved on epoch_completed
// resumes at the next epoch's first batch, one saved on iteration_completed at the next batch.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <axon/train/handlers.hpp>

namespace axon::training {

// Step-state keys a checkpoint leaves out by default: the last batch's targets and predictions,
// which the next step replaces anyway.
inline const std::vector<std::string>& default_checkpoint_exclude() {
  static const std::vector<std::string> keys{"y_true", "y_pred"};
  return keys;
}

void save_state(const std::string& path, const LoopState& state,
                const std::vector<std::string>& exclude = default_checkpoint_exclude());
// Puts every tensor on `device`.
LoopState load_state(const std::string& path, Device device = Device::cpu());
// The same in memory (Axon's serialize_state / deserialize_state).
std::string serialize_state(const LoopState& state,
                            const std::vector<std::string>& exclude = default_checkpoint_exclude());
LoopState deserialize_state(std::string_view bytes, Device device = Device::cpu());
// The state to resume from, as save_state stores it (see above).
LoopState resume_point(const LoopState& state);

// Saves the loop state on `event` into directory `path` (created if needed) as
// file_pattern(state), by default "checkpoint_<epoch>_<epoch_iteration>.safetensors".
// With `criteria` (a metric name), saves only when that metric improves on the best saved so far
// (Axon's checkpoint routes criteria through monitor and so saves only after the metric has NOT
// improved for `patience` events: ⚠ not reproduced). Attach it after the handlers whose state it
// should capture (early_stop's counters, validation metrics).
struct CheckpointOptions {
  Event event = Event::epoch_completed;
  Filter filter = {};
  std::string path = "checkpoint";
  std::function<std::string(const LoopState&)> file_pattern = {};
  std::string criteria = {};
  MonitorMode mode = MonitorMode::min;
  std::vector<std::string> exclude = default_checkpoint_exclude();
};
Loop& checkpoint(Loop& loop, CheckpointOptions options = {});
std::string default_checkpoint_file(const LoopState& state);

}  // namespace axon::training
