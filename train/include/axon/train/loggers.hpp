#pragma once
// Metric logs to look at after (or during) a run: a CSV file (tools/plot_logs.py draws its curves
// to a PNG) and TensorBoard event files. Both write either one row / event per epoch, after that
// epoch's handlers have run (so validation metrics attached later are included), or one every
// `every` batches with the running metrics. Each reads the metrics back to the host only when it
// writes.
//
//   csv_logger(loop, {.path = "run/log.csv"});
//   tensorboard(loop, {.logdir = "run/tb"});   // then: tensorboard --logdir run/tb
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include <axon/train/loop.hpp>

namespace axon::training {

// ---- CSV: a header, then one row per record. Columns:
//   epoch       the epoch, counted from 1 (as the progress report)
//   batch       batches done in that epoch
//   iteration   batches done in the whole run
//   seconds     the epoch's time so far (host clock)
//   learning_rate  when the optimizer keeps a constant learning rate (learning_rate(), handlers.hpp)
//   <metrics>   every metric of the first record, by name (validation_* included); a metric
//               missing from a later record leaves its cell empty
// Numbers are written in their shortest exact form (NaN as "nan").
struct CsvLoggerOptions {
  std::string path = "log.csv";  // its directory is created if needed
  int64_t every = 0;             // 0: a row per epoch; N > 0: a row after every N batches instead
  bool append = false;           // add to an existing file (a resumed run): no second header
};
Loop& csv_logger(Loop& loop, CsvLoggerOptions options = {});

// ---- TensorBoard: scalars (every metric, and "learning_rate" when there is one) in an event
// file "events.out.tfevents.<unix time>.<host>.<pid>.<n>" in `logdir`, at step = the epoch
// counted from 1 (per-epoch records) or the batches done in the whole run (every N batches).
struct TensorBoardOptions {
  std::string logdir = "runs";  // created if needed
  int64_t every = 0;            // 0: per epoch; N > 0: every N batches instead
};
Loop& tensorboard(Loop& loop, TensorBoardOptions options = {});

// The event-file writer underneath, for scalars of one's own. The file is TensorFlow's record
// format: each record is its length (u64 little-endian), the masked CRC32C of those 8 bytes, the
// data, and the data's masked CRC32C; the data are Event protocol buffers (tensorflow/core/util/
// event.proto: wall_time, step, file_version first, then summary { value { tag, simple_value } }),
// encoded here by hand (a handful of fields: no protobuf library or .proto needed).
class EventWriter {
 public:
  explicit EventWriter(const std::string& logdir);
  void scalar(const std::string& tag, double value, int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::string path_;
  std::ofstream out_;
};

// CRC-32C (Castagnoli), and TensorFlow's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace axon::training
