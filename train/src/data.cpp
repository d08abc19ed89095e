#include <axon/ops.hpp>
#include <axon/train/data.hpp>

#include "splitmix.hpp"

namespace axon::training {
namespace {

using detail::splitmix64;

// Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject).
uint64_t bounded(uint64_t& s, uint64_t bound) {
  while (true) {
    unsigned __int128 m = (unsigned __int128)splitmix64(s) * bound;
    uint64_t low = uint64_t(m);
    if (low >= bound || low >= (0 - bound) % bound) return uint64_t(m >> 64);
  }
}

}  // namespace

Dataset::Dataset(int64_t num_batches, BatchFn batch) : num_batches_(num_batches), batch_(std::move(batch)) {
  AXON_CHECK(num_batches >= 0, "dataset", "negative number of batches {}", num_batches);
  AXON_CHECK(num_batches == 0 || batch_, "dataset", "no batch function for {} batches", num_batches);
}

Batch Dataset::batch(int64_t epoch, int64_t index) const {
  AXON_CHECK(index >= 0 && index < num_batches_, "dataset", "batch {} out of range: the dataset has {} batches", index,
             num_batches_);
  return batch_(epoch, index);
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  uint64_t s = seed;
  s = splitmix64(s) ^ (uint64_t(epoch) * 0xD1B54A32D192ED03ull);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[size_t(i)], p[size_t(bounded(s, uint64_t(i) + 1))]);
  return p;
}

Dataset tensor_dataset(const Tensor& x, const Tensor& y, BatchOptions o) {
  AXON_CHECK(x.defined() && x.dim() >= 1, "tensor_dataset", "x must be a tensor with a batch axis, got {}", describe(x));
  AXON_CHECK(!y.defined() || (y.dim() >= 1 && y.size(0) == x.size(0)), "tensor_dataset",
             "x and y must have the same number of rows, got {} and {}", describe(x), describe(y));
  AXON_CHECK(o.batch_size > 0, "tensor_dataset", "batch_size must be positive, got {}", o.batch_size);
  int64_t n = x.size(0), bs = o.batch_size;
  int64_t batches = o.drop_last ? n / bs : (n + bs - 1) / bs;
  struct Cache {
    int64_t epoch = -1;
    Tensor index_x, index_y;
  };
  auto cache = std::make_shared<Cache>();
  return Dataset(batches, [=](int64_t epoch, int64_t i) {
    int64_t start = i * bs, end = std::min(n, start + bs);
    if (!o.shuffle) return Batch{x.slice(0, start, end), y.defined() ? y.slice(0, start, end) : Tensor()};
    if (cache->epoch != epoch) {
      Tensor host = from_vector(permutation(n, o.seed, epoch), {n});
      cache->index_x = host.to(x.device());
      cache->index_y = !y.defined() ? Tensor() : y.device() == x.device() ? cache->index_x : host.to(y.device());
      cache->epoch = epoch;
    }
    Tensor ix = cache->index_x.slice(0, start, end);
    return Batch{take(x, ix, 0), y.defined() ? take(y, cache->index_y.slice(0, start, end), 0) : Tensor()};
  });
}

Dataset tensor_dataset(const Tensor& x, BatchOptions o) { return tensor_dataset(x, Tensor(), o); }

Dataset from_batches(std::vector<Batch> batches) {
  auto shared = std::make_shared<std::vector<Batch>>(std::move(batches));
  return Dataset(int64_t(shared->size()), [shared](int64_t, int64_t i) { return (*shared)[size_t(i)]; });
}

}  // namespace axon::training
