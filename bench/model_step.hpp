#pragma once
// The training step of W5 and W7 as a user writes it with the model API: value_and_grad of the loss
// over the trainable parameters, the optimizer's update, apply_updates, and the batch-norm state the
// forward returned carried into the next step.
#include <cmath>
#include <utility>
#include <vector>

#include <axon/optim.hpp>

#include "bench.hpp"

namespace axon::bench {

struct ModelStep {
  Params trainable, state;
  optim::GradientTransformation tx;
  optim::State opt_state;
  // One 0-d loss a step, left on the device and read after the timing, so a step never waits on it.
  std::vector<Tensor> losses;

  ModelStep(const Model& model, const Params& all, optim::GradientTransformation t)
      : trainable(trainable_params(model, all)), state(state_params(model, all)), tx(std::move(t)),
        opt_state(tx.init(trainable)) {}

  // loss(params, new_state): params are the trainable ones merged with the state; a forward in train
  // mode writes the state it computed into new_state.
  template <class LossFn>
  void step(LossFn&& loss) {
    Params new_state;
    auto [value, grads] = value_and_grad(
        [&](const Params& p) { return loss(state.empty() ? p : merge_params(p, state), new_state); }, trainable);
    auto [updates, next] = tx.update(grads, opt_state, trainable);
    trainable = optim::apply_updates(trainable, updates);
    opt_state = std::move(next);
    if (!new_state.empty()) state = merge_params(state, new_state);
    losses.push_back(value);
  }

  std::vector<double> loss_values() const {
    std::vector<double> v;
    for (const Tensor& l : losses) v.push_back(l.item<double>());
    return v;
  }
};

// The check of a training workload: every loss finite, and the last below the first (the steps
// repeat one fixed batch, so a working step must fit it).
inline std::pair<bool, std::string> loss_decreases(const std::vector<double>& l) {
  bool finite = !l.empty();
  for (double v : l) finite = finite && std::isfinite(v);
  const bool down = finite && l.size() >= 2 && l.back() < l.front();
  std::string text = l.empty() ? "no step ran"
                               : fmt::format("loss {:.4f} -> {:.4f} over {} steps on one batch", l.front(),
                                             l.back(), l.size());
  if (!finite) text += " (not finite)";
  else if (!down) text += " (did not decrease)";
  return {finite && down, text};
}

}  // namespace axon::bench
