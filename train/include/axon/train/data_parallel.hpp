#pragma once
// Data-parallel training as the train step and the trainer see it: the few collective operations
// they need, as functions, so that libaxon does not depend on MPI or NCCL. axon::dist's
// Communicator converts to one (<axon/dist.hpp>, library axon_dist), which is how users get it:
//   auto step = train_step(model, loss, "adam", {.data_parallel = comm});
//   Loop loop = trainer(model, loss, "adam", {.data_parallel = comm});
// A default DataParallel (no functions) is the single-process step.
#include <functional>

#include <axon/autograd.hpp>
#include <axon/tensor.hpp>

namespace axon::training {

struct DataParallel {
  int rank = 0;
  int size = 1;
  // Every rank's parameters become rank 0's (at the step's init; each step for layer state).
  std::function<Params(const Params&)> broadcast_params;
  // The gradients averaged over the ranks (called every step, before the optimizer's update).
  std::function<Params(const Params&)> average_gradients;
  // A tensor averaged over the ranks (metrics, the logged loss).
  std::function<Tensor(const Tensor&)> average;
  // Optional, in place of average_gradients: the averaging overlapped with the backward pass. Made
  // each step for the flat list of trainable parameters; the tape calls `ready` with each gradient
  // as soon as it is final (autograd::GradReadyFn), and `finish` returns them all averaged, in order.
  struct GradientReducer {
    std::function<void(std::size_t index, const Tensor& grad)> ready;
    std::function<std::vector<Tensor>()> finish;
  };
  std::function<GradientReducer(const std::vector<Tensor>& params)> gradient_reducer;

  bool enabled() const { return size > 1 && average_gradients; }
};

class Loop;
// Averages the loop's metrics over the ranks on iteration_completed and epoch_completed, so that
// every rank logs, monitors and early-stops on the same values. trainer() attaches it first when
// given a data_parallel; attach another after validate() when the validation data is sharded too
// (with the whole validation set on every rank, its metrics are already identical). No-op on one rank.
Loop& average_metrics(Loop& loop, const DataParallel& dp);

}  // namespace axon::training
