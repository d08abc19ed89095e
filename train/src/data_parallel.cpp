// Metrics averaged over the ranks of a data-parallel run.
#include <axon/ops.hpp>
#include <axon/train/data_parallel.hpp>
#include <axon/train/loop.hpp>

namespace axon::training {

Loop& average_metrics(Loop& loop, const DataParallel& dp) {
  if (dp.size <= 1 || !dp.average) return loop;
  // Running averages stay exact: the mean over ranks of (acc·i + obs_r)/(i + 1), with acc already
  // the same everywhere, is the running average of the ranks' mean observation.
  // One collective for all of them: packed as f64, averaged, unpacked to their dtypes.
  auto average = [fn = dp.average](LoopState& s) {
    std::vector<Tensor> flat;
    for (auto& [name, value] : s.metrics)
      if (value.defined()) flat.push_back(cast(value, DType::f64).reshape({-1}));
    if (flat.empty()) return Action::continue_;
    const Tensor mean = fn(concat(flat, 0));
    int64_t offset = 0;
    for (auto& [name, value] : s.metrics) {
      if (!value.defined()) continue;
      const int64_t n = value.numel();
      value = cast(mean.slice(0, offset, offset + n).reshape(value.shape()), value.dtype());
      offset += n;
    }
    return Action::continue_;
  };
  loop.handle(Event::iteration_completed, average);
  loop.handle(Event::epoch_completed, average);
  return loop;
}

}  // namespace axon::training
