// Metrics averaged over the ranks of a data-parallel run.
#include <axon/ops.hpp>
#include <axon/train/data_parallel.hpp>
#include <axon/train/loop.hpp>

namespace axon::training {

Loop& average_metrics(Loop& loop, const DataParallel& dp) {
  if (dp.size <= 1 || !dp.average) return loop;
  // Running averages stay exact: the mean over ranks of (acc·i + obs_r)/(i + 1), with acc already
  // the same everywhere, is the running average of the ranks' mean observation.
  auto average = [fn = dp.average](LoopState& s) {
    for (auto& [name, value] : s.metrics) {
      if (!value.defined()) continue;
      value = value.is_floating_point() ? fn(value) : cast(fn(cast(value, DType::f64)), value.dtype());
    }
    return Action::continue_;
  };
  loop.handle(Event::iteration_completed, average);
  loop.handle(Event::epoch_completed, average);
  return loop;
}

}  // namespace axon::training
