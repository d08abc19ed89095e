#pragma once
// Data for a loop: a Dataset is a number of batches per epoch and a function giving batch `index`
// of epoch `epoch`. Random access by (epoch, index) makes every epoch reproducible, so a run resumed
// from a checkpoint taken mid-epoch sees exactly the batches the uninterrupted run would have.
#include <cstdint>
#include <functional>
#include <vector>

#include <axon/tensor.hpp>

namespace axon::training {

struct Batch {
  Tensor x;
  Tensor y;  // may be undefined (unsupervised steps)
};

class Dataset {
 public:
  using BatchFn = std::function<Batch(int64_t epoch, int64_t index)>;
  Dataset() = default;
  Dataset(int64_t num_batches, BatchFn batch);

  int64_t num_batches() const { return num_batches_; }
  bool empty() const { return num_batches_ == 0; }
  // Batch `index` (0 <= index < num_batches) of epoch `epoch`.
  Batch batch(int64_t epoch, int64_t index) const;

 private:
  int64_t num_batches_ = 0;
  BatchFn batch_;
};

struct BatchOptions {
  int64_t batch_size = 32;
  bool shuffle = false;    // a new permutation every epoch, a function of (seed, epoch) only
  bool drop_last = false;  // drop the last partial batch instead of keeping it
  uint64_t seed = 0;
};

// Batches of the rows (axis 0) of x and y, which stay on their device: without shuffling each batch
// is a view (slice); with it, rows are gathered with take() through an index tensor built once per
// epoch on the data's device. x and y must have the same number of rows. Not thread-safe (the
// current epoch's index is cached).
Dataset tensor_dataset(const Tensor& x, const Tensor& y, BatchOptions options = {});
Dataset tensor_dataset(const Tensor& x, BatchOptions options = {});  // no targets
// A fixed list of batches, the same every epoch.
Dataset from_batches(std::vector<Batch> batches);

// Data parallelism: rank `rank` of `ranks` gets its part of every global batch of
// ranks·batch_size rows: global batch i is split into `ranks` contiguous parts, in rank order, of
// the epoch's one order (permutation(n, seed, epoch) with shuffle: the same seed on every rank).
// So the ranks see disjoint rows, and together exactly what one process with batch
// ranks·batch_size sees. Every rank has the same number of batches (shard.cpp says how the last is cut).
Dataset sharded_dataset(const Tensor& x, const Tensor& y, int rank, int ranks, BatchOptions options = {});

// The permutation of 0..n-1 that tensor_dataset uses for `epoch`: Fisher-Yates driven by a
// SplitMix64 stream seeded from (seed, epoch), so it is the same on every platform and library.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace axon::training
