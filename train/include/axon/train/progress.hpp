#pragma once
// The progress report trainer() prints (Keras' progress bar, tqdm's numbers):
//   Epoch 2/10 120/469 [00:03<00:09, 18500 samples/s] loss: 0.5123457 accuracy: 0.8100000
// epoch k/N and batch i/total counted from 1, elapsed time < ETA of the epoch, throughput, and the
// running metrics. On a terminal the line is redrawn in place every `every` batches; otherwise (a
// file, a CI log) one line is printed per epoch, plus one every `lines_every` batches when asked,
// so a log never fills with carriage returns. Each epoch ends with its final line, validation
// metrics included: it is printed after every epoch_completed handler has run (at the next
// epoch_started, completed or halted), so validate() attached after it still shows.
//
// Host syncs: the running metrics are read back from the device only when a line is drawn; other
// batches cost a clock read. Samples per second count axis 0 of the step state's "y_pred" (or
// "y_true"); a step state with neither reports batches per second.
#include <cstdint>
#include <iostream>
#include <optional>

#include <axon/train/loop.hpp>

namespace axon::training {

struct ProgressOptions {
  std::ostream* out = &std::cout;  // null: the handler attaches nothing
  int64_t every = 50;              // terminal: redraw after the 1st batch and every `every` batches
  int64_t lines_every = 0;         // not a terminal: also a line every `lines_every` batches (0: none)
  // Redraw in place (true) or print whole lines (false). Default: true only when `out` is
  // std::cout, std::cerr or std::clog and that stream's file descriptor is a terminal (isatty).
  std::optional<bool> terminal = {};
};
Loop& progress(Loop& loop, ProgressOptions options = {});

// Whether `out` is std::cout / std::cerr / std::clog writing to a terminal.
bool is_terminal(const std::ostream* out);

// "mm:ss", or "h:mm:ss" from an hour on.
std::string format_duration(double seconds);

// Runs fn(state, epoch) once for each finished epoch (`epoch` counted from 0, its metrics in
// state.epoch_metrics[epoch], its time in state.epoch_seconds[epoch]), after every handler of its
// epoch_completed (or epoch_halted) has run: at the next epoch_started, completed or halted. What
// the progress report and the loggers use to include validation metrics attached after them.
Loop& after_epoch(Loop& loop, std::function<void(LoopState& state, int64_t epoch)> fn);

}  // namespace axon::training
