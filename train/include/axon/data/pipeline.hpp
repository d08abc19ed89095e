#pragma once
// A data pipeline: a Source of samples (from tensors, IDX, .npy/.npz or CSV files), per-sample `map`
// transforms (augmentations), `shuffle`, `batch`, `prefetch` on background threads and delivery on a
// device, ending in a training::Dataset that trainer() and Loop take as they take tensor_dataset().
//
//   auto train = data::Pipeline(data::from_idx(dir + "/train-images-idx3-ubyte.gz",
//                                              dir + "/train-labels-idx1-ubyte.gz"))
//                    .map(data::random_crop(28, 28, 2)).map(data::random_flip())
//                    .shuffle(42).batch(128).prefetch(4).to(Device::cuda())
//                    .dataset();
//
// Reproducible: batch i of epoch e holds the same samples with the same augmentations whatever the
// number of threads or the order they finish in, because the order is the permutation of (seed, e)
// (training::permutation) and each sample's random numbers come from (seed, e, sample index). So a run
// resumed mid-epoch sees what the uninterrupted run saw.
// Prefetch: while the step runs on batch i, `threads` background threads assemble batches i+1 ..
// i+n (into pinned host memory when the target is a CUDA device), and the next epoch's first batches
// near an epoch's end. The copy to the device is issued from the thread that asks for the batch (a CUDA
// graph capture on the device's stream is never disturbed by another thread) and, from pinned memory,
// does not wait for the device. A sample or transform that throws fails the batch request with that
// error.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <axon/tensor.hpp>
#include <axon/train/data.hpp>

namespace axon::data {

// One sample: features and (optionally) a target, without the batch axis.
struct Example {
  Tensor x;
  Tensor y;  // undefined when the source has no targets
};

// Random numbers for one sample's transforms: SplitMix64 seeded from (seed, epoch, sample index).
class SampleRng {
 public:
  explicit SampleRng(uint64_t key) : state_(key) {}
  uint64_t next();
  double uniform();                 // [0, 1)
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi]
 private:
  uint64_t state_;
};

// Random access to samples on the CPU. get() must be safe to call from several threads at once (all
// the sources below are: they only read).
class Source {
 public:
  using GetFn = std::function<Example(int64_t index)>;
  // Optional: the samples of `indices` as one batch (rows stacked), which a pipeline without
  // transforms uses instead of stacking samples one by one.
  using GatherFn = std::function<training::Batch(const std::vector<int64_t>& indices)>;
  Source() = default;
  Source(int64_t size, GetFn get, GatherFn gather = {});
  int64_t size() const { return size_; }
  Example get(int64_t index) const;  // checks 0 <= index < size()
  bool can_gather() const { return static_cast<bool>(gather_); }
  training::Batch gather(const std::vector<int64_t>& indices) const;
 private:
  int64_t size_ = 0;
  GetFn get_;
  GatherFn gather_;
};

// Rows (axis 0) of x and y (y may be undefined); tensors on a device are copied to the CPU once.
Source from_tensors(const Tensor& x, const Tensor& y = {});

struct IdxOptions {
  bool scale = true;           // u8 images to f32 in [0, 1]; false keeps u8
  bool channels_last = true;   // [N, H, W] images give samples [H, W, 1]
};
// An IDX image file and, optionally, its label file (labels become i64); the counts must agree.
Source from_idx(const std::string& images, const std::string& labels = {}, IdxOptions options = {});
// .npy arrays: x and optional y (same number of rows); .npz: the arrays named x_key and y_key
// (y_key empty: no targets).
Source from_npy(const std::string& x_path, const std::string& y_path = {});
Source from_npz(const std::string& path, const std::string& x_key = "x", const std::string& y_key = "y");

struct CsvOptions {
  char delimiter = ',';
  bool header = true;          // the first row names the columns
  std::string label_column;    // by name (needs header); empty: label_index
  int64_t label_index = -1;    // column index, -1 the last column; used when label_column is empty
  bool has_label = true;       // false: every column is a feature
  DType label_dtype = DType::i64;  // i64 class ids (checked integral) or f32 regression targets
};
// Numeric CSV: features f32 [num_features] per row, the label column as a scalar target. Errors name the
// file, the line and the column of a malformed value or a row of the wrong length.
Source from_csv(const std::string& path, CsvOptions options = {});

using MapFn = std::function<Example(Example, SampleRng&)>;

// ---- augmentations for image samples [H, W, C] (channels last), f32 or any floating dtype
// Pads H and W by `padding` zeros on each side, then crops a random height x width window.
MapFn random_crop(int64_t height, int64_t width, int64_t padding = 0);
// Mirrors W with probability p.
MapFn random_flip(double p = 0.5);
// (x - mean[c]) / std[c] over the last axis (one value each broadcasts to every channel).
MapFn normalize(std::vector<double> mean, std::vector<double> std);

class Pipeline {
 public:
  explicit Pipeline(Source source);
  Pipeline map(MapFn fn) const;        // appended; applied in order to every sample
  Pipeline shuffle(uint64_t seed) const;  // a new permutation each epoch; also seeds the transforms
  Pipeline batch(int64_t batch_size, bool drop_last = false) const;
  Pipeline prefetch(int64_t batches, int threads = 1) const;  // batches ahead, worker threads
  Pipeline to(Device device) const;    // where the batches are delivered (default: CPU)
  int64_t num_batches() const;
  // The Dataset (shares the prefetch threads, which stop when its last copy goes away).
  training::Dataset dataset() const;
  operator training::Dataset() const { return dataset(); }

 struct Config;  // defined in the implementation

 private:
  explicit Pipeline(std::shared_ptr<const Config> config) : config_(std::move(config)) {}
  std::shared_ptr<const Config> config_;
};

}  // namespace axon::data
