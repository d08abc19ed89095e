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
#include <optional>
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
// file_pattern(state), by default default_checkpoint_file(state) (below).
// With `criteria` (a metric name), saves only when that metric improves on the best saved so far
// (Axon's checkpoint routes criteria through monitor and so saves only after the metric has NOT
// improved for `patience` events: ⚠ not reproduced). With keep_last = k > 0, only the newest k
// checkpoints stay in `path` (with criteria: the k best), older ones are deleted after each save:
// with the default names, every checkpoint_epoch_* file of the directory counts (a resumed run's
// earlier ones too); with a file_pattern, the files this handler wrote. Attach it after the
// handlers whose state it should capture (early_stop's counters, validation metrics).
struct CheckpointOptions {
  Event event = Event::epoch_completed;
  Filter filter = {};
  std::string path = "checkpoint";
  std::function<std::string(const LoopState&)> file_pattern = {};
  std::string criteria = {};
  MonitorMode mode = MonitorMode::min;
  std::vector<std::string> exclude = default_checkpoint_exclude();
  int64_t keep_last = 0;  // 0: keep every checkpoint
};
Loop& checkpoint(Loop& loop, CheckpointOptions options = {});

// The file name of the point a state resumes from (resume_point), with epochs and batches counted
// from 1 as the progress report prints them ("Epoch 2/10 120/469"):
//   "checkpoint_epoch_<E>.safetensors"           after the whole of epoch E (on epoch_completed)
//   "checkpoint_epoch_<E>_batch_<B>.safetensors" after batch B of epoch E (on iteration_completed)
// "checkpoint_epoch_0" is the state before any batch.
std::string default_checkpoint_file(const LoopState& state);
// The newest checkpoint of that naming in `dir` (the most batches done; a file name says the
// epoch and batch it holds): its path, or nothing when the directory has none (or does not exist).
//   if (auto file = latest_checkpoint("ckpt")) loop.from_state(load_state(*file, device));
std::optional<std::string> latest_checkpoint(const std::string& dir);

}  // namespace axon::training
