// stop_on_nan: non-finite losses found on the device, read back only at checks.
#include <limits>
#include <memory>

#include <axon/ops.hpp>
#include <axon/train/handlers.hpp>

namespace axon::training {
namespace {

// Scalars travel as doubles: the sentinel is exact in one.
constexpr int64_t kNone = int64_t(1) << 53;

// What the steps since the last check left: on the device, the number of steps folded in and the
// index (among them) of the first with a non-finite value, kNone if none; on the host, the
// (epoch, batch) of each of those steps.
struct Watch {
  Tensor steps, first;
  std::vector<std::pair<int64_t, int64_t>> where;
  void reset() {
    steps = Tensor();
    first = Tensor();
    where.clear();
  }
};

void fold(Watch& w, const Tensor& value, int64_t epoch, int64_t batch) {
  NoGrad no_grad;
  if (!w.steps.defined()) {
    w.steps = zeros({}, DType::i64, value.device());
    w.first = full({}, Scalar(kNone), DType::i64, value.device());
  }
  // |v| < inf is false for NaN as well as for ±inf.
  Tensor v = value.reshape({});
  Tensor bad = v.is_floating_point() ? logical_not(lt(abs(v), std::numeric_limits<double>::infinity()))
                                     : zeros({}, DType::boolean, v.device());
  w.first = minimum(w.first, where(bad, w.steps, Scalar(kNone)));
  w.steps = add(w.steps, 1);
  w.where.emplace_back(epoch, batch);
}

// The one host read: halts (with the first bad batch named) or starts a new watch.
Action check(Watch& w, LoopState& s, const StopOnNanOptions& o) {
  if (w.where.empty()) return Action::continue_;
  int64_t first = w.first.to(Device::cpu()).item<int64_t>();
  if (first == kNone) {
    w.reset();
    return Action::continue_;
  }
  auto [epoch, batch] = w.where.at(size_t(first));
  w.reset();
  s.handler_metadata["stop_on_nan/epoch"] = double(epoch);
  s.handler_metadata["stop_on_nan/batch"] = double(batch);
  s.halt_reason = fmt::format(
      "stop_on_nan: the {} is not finite (NaN or infinite) from epoch {}, batch {} (both counted from 0, as "
      "LoopState's counters); halting the loop",
      o.metric, epoch, batch);
  // On a line of its own: a log line before it may end in "\r...".
  if (o.out) *o.out << "\n" << s.halt_reason << "\n" << std::flush;
  return Action::halt_loop;
}

}  // namespace

Loop& stop_on_nan(Loop& loop, StopOnNanOptions o) {
  AXON_CHECK(o.every >= 0, "stop_on_nan", "every must be non-negative (0: at epoch ends only), got {}", o.every);
  loop.require_metric(o.metric, "stop_on_nan");
  auto w = std::make_shared<Watch>();
  loop.handle(Event::started, [w](LoopState&) {
    w->reset();
    return Action::continue_;
  });
  loop.handle(Event::iteration_completed, [w, o](LoopState& s) {
    auto it = s.metrics.find(o.metric);
    if (it == s.metrics.end() || !it->second.defined()) return Action::continue_;
    fold(*w, it->second, s.epoch, s.epoch_iteration);
    bool due = o.every > 0 && s.epoch_iteration % o.every == 0;
    return due ? check(*w, s, o) : Action::continue_;
  });
  return loop.handle({Event::epoch_completed, Event::epoch_halted}, [w, o](LoopState& s) { return check(*w, s, o); });
}

}  // namespace axon::training
