// sharded_dataset: one rank's part of every batch of a data-parallel run.
#include <axon/ops.hpp>
#include <axon/train/data.hpp>

namespace axon::training {

Dataset sharded_dataset(const Tensor& x, const Tensor& y, int rank, int ranks, BatchOptions o) {
  AXON_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "sharded_dataset", "rank {} is not one of {} ranks", rank, ranks);
  AXON_CHECK(x.defined() && x.dim() >= 1, "sharded_dataset", "x must be a tensor with a batch axis, got {}",
             describe(x));
  AXON_CHECK(!y.defined() || (y.dim() >= 1 && y.size(0) == x.size(0)), "sharded_dataset",
             "x and y must have the same number of rows, got {} and {}", describe(x), describe(y));
  AXON_CHECK(o.batch_size > 0, "sharded_dataset", "batch_size must be positive, got {}", o.batch_size);
  const int64_t n = x.size(0), global = o.batch_size * ranks;
  // A partial last global batch is kept when every rank gets at least one row of it (drop_last
  // off): every rank must run the same number of steps, or the others wait on its collectives.
  const int64_t full = n / global, rest = n % global;
  const int64_t batches = full + (!o.drop_last && rest >= ranks ? 1 : 0);
  AXON_CHECK(batches > 0, "sharded_dataset", "{} rows make no batch of {} rows on each of {} ranks", n, o.batch_size,
             ranks);
  struct Cache {
    int64_t epoch = -1;
    Tensor index;  // the epoch's permutation, on the host
  };
  auto cache = std::make_shared<Cache>();
  return Dataset(batches, [=](int64_t epoch, int64_t i) {
    // Global batch i is rows [i·global, i·global + size) of the epoch's order; this rank takes its
    // rank-th contiguous part (the last batch split as evenly as its rows allow).
    const int64_t start = i * global, size = std::min(global, n - start);
    const int64_t lo = start + size * rank / ranks, hi = start + size * (rank + 1) / ranks;
    auto rows = [&](const Tensor& t) -> Tensor {
      if (!t.defined()) return {};
      if (!o.shuffle) return t.slice(0, lo, hi);
      return take(t, cache->index.slice(0, lo, hi).to(t.device()), 0);
    };
    if (o.shuffle && cache->epoch != epoch) {
      cache->index = from_vector(permutation(n, o.seed, epoch), {n});
      cache->epoch = epoch;
    }
    return Batch{rows(x), rows(y)};
  });
}

}  // namespace axon::training
