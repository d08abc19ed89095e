#pragma once
// Loops for models (Axon.Loop.train_step / eval_step / trainer / evaluator), and
// the one-call convenience:
//
//   auto step = train_step(model, losses::categorical_cross_entropy, optim::adamw(0.005));
//   Params trained = train(step, train_images, train_labels, {.epochs = 10, .batch_size = 128});
//
// or, with the loop in hand (metrics, validation, early stopping, checkpoints):
//
//   Loop loop = trainer(model, "categorical_cross_entropy", optim::adam(1e-3), {.log = 50});
//   metric(loop, "accuracy");
//   validate(loop, model, tensor_dataset(val_x, val_y, {.batch_size = 256}));
//   early_stop(loop, "validation_loss");
//   LoopState state = loop.run(tensor_dataset(x, y, {.batch_size = 128, .shuffle = true}), {}, {.epochs = 10});
//   Params trained = model_state(state);
//
// The namespace is axon::training (the folder is train/); <axon/train.hpp> re-exports all of it into
// axon (the README's namespace rule), and this header alone already declares train_step, eval_step,
// trainer, evaluator, train, model_state, Loop and LoopState in axon.
//
// The train step's state: "model_state/<layer>/<name>" (every parameter and state tensor of the
// model), "optimizer_state/<key>", "loss" (the running mean of the batch losses, on the device;
// supervised_loop / trainer restart it each epoch), "i" (batches in it), "y_true" / "y_pred" (the last batch), "rng/seed" / "rng/offset"
// (the dropout generator, so a resumed run draws the same masks), "loss_scale/<key>" (the loss
// scale's state, loss_scale.hpp).
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <axon/losses.hpp>
#include <axon/model.hpp>
#include <axon/optim/transform.hpp>
#include <axon/train/data_parallel.hpp>
#include <axon/train/handlers.hpp>
#include <axon/train/loss_scale.hpp>
#include <axon/train/progress.hpp>

namespace axon::training {

// Options of a loss given by name. Each applies to the losses listed; naming one a loss does not
// take is an error.
struct LossOptions {
  bool from_logits = false;  // y_pred holds logits: binary_cross_entropy, categorical_cross_entropy
  bool sparse = false;       // y_true holds integer class ids (any integer dtype, shape y_pred's
                             // without its class axis): categorical_cross_entropy
};

// A loss: any function of (y_true, y_pred); a function of <axon/losses.hpp> with its options
// argument (called with reduction mean); or the name of one, with LossOptions and reduction mean:
// binary_cross_entropy, categorical_cross_entropy, categorical_hinge, hinge, kl_divergence,
// log_cosh, mean_absolute_error, mean_squared_error, poisson, soft_margin (Axon's trainer atoms),
// huber, smooth_l1, cosine_similarity, and sparse_categorical_cross_entropy (Keras' name: the categorical one
// with sparse set). The integer labels the data readers give (class ids) need sparse:
//   trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, "adam")
// A loss that returns more than one value is averaged.
struct Loss {
  losses::LossFn fn;
  Loss(const char* name);
  Loss(const std::string& name);
  Loss(const std::string& name, LossOptions options);
  template <class F>
    requires(std::is_invocable_r_v<Tensor, F, const Tensor&, const Tensor&> && !std::is_same_v<std::decay_t<F>, Loss>)
  Loss(F f) : fn(std::move(f)) {}
  template <class O>
  Loss(Tensor (*f)(const Tensor&, const Tensor&, O))
      : fn([f](const Tensor& y, const Tensor& p) {
          O o{};
          o.reduction = losses::Reduction::mean;
          return f(y, p, o);
        }) {}
  // The scalar loss: fn's value, averaged when it is not 0-d.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const;
};
losses::LossFn loss_by_name(const std::string& name, LossOptions options = {});

// An optimizer: a GradientTransformation, or the name of one of <axon/optim.hpp> with its defaults
// (adabelief, adagrad, adam, adamw, lamb, noisy_sgd, radam, rmsprop, sgd, yogi, as Axon's trainer).
struct Optimizer {
  optim::GradientTransformation tx;
  Optimizer(optim::GradientTransformation t) : tx(std::move(t)) {}
  Optimizer(const char* name);
  Optimizer(const std::string& name);
};
// learning_rate > 0 replaces the optimizer's default learning rate.
optim::GradientTransformation optimizer_by_name(const std::string& name, double learning_rate = 0);

// Whether a parameter is frozen (Axon's ModelState.freeze): given its layer and name.
using FrozenFn = std::function<bool(const std::string& layer, const std::string& name)>;
// Freezes every parameter of the named layers.
FrozenFn freeze_layers(std::vector<std::string> layers);

struct TrainStepOptions {
  uint64_t seed = 0;                // parameter initialisation and dropout masks
  std::optional<DType> dtype = {};  // of initialised parameters; default f64 for f64 inputs, else f32
                                    // (a layer's mixed precision policy sets its own, <axon/mixed_precision.hpp>)
  FrozenFn frozen = {};             // parameters excluded from the gradient and the optimizer, never updated
  LossScale loss_scale = {};        // identity; static_loss_scale() / dynamic_loss_scale() (loss_scale.hpp)
  bool compile = false;             // CUDA: capture the whole step as a CUDA graph (below); no-op on the CPU
  int compile_warmup = 2;           // eager steps run on the first batch before the capture (at least 1)
  // Data-parallel over processes (an axon::dist::Communicator converts to it): parameters (and
  // layer state such as batch-norm statistics, every step) from rank 0, gradients averaged over
  // the ranks before the update. Not with compile. One rank: exactly the plain step.
  DataParallel data_parallel = {};
};
// init: parameters from init(model) on the first batch's device, overridden by any given as
// "model_state" (a partial or complete starting point), and a fresh optimizer state unless one is
// given as "optimizer_state" (likewise the loss-scale state, "loss_scale/..."). step: value_and_grad
// of the (scaled) loss over the trainable parameters only (state tensors such as batch_norm's
// mean/var, and frozen parameters, are constants there), the gradients unscaled, the optimizer's
// update (kept out, on the device, when the loss scale skips a step with non-finite gradients; the
// layers' new state entries are taken either way, as PyTorch's), and the new state entries apply()
// returned in train mode. "loss" averages the unscaled losses.
//
// compile (CUDA batches only; <axon/graph.hpp>): at the first batch the step (forward, backward,
// optimizer update, loss-scale update, running loss) runs eagerly compile_warmup times on copies
// of that batch and state (results discarded: the loop's state is untouched), then is captured
// once as a CUDA graph; every step, the first included, copies the batch in and replays the graph:
// no host work per op and no host synchronisation. The rules:
//  - The batch shape is fixed by the first batch: a batch of another shape (the last partial one;
//    or use drop_last) runs eagerly, with the same results. A state of another layout (other keys
//    or shapes) is captured again.
//  - Every state entry but "rng/..." must be on the batch's device. The step's device state
//    (parameters, optimizer and loss-scale state, "loss", "i") lives in the graph's static buffers:
//    the state passed in is consumed -- its tensors hold the new values after the step, as the
//    loop expects (it replaces the state). A state tensor still held elsewhere (a metric, a copy
//    of the state kept aside) first gets a copy of its own, so it keeps its value; "y_pred" is
//    overwritten by the next step (clone it to keep it).
//  - Dropout masks come from the "rng/..." generator state as in eager steps (each replay draws
//    fresh masks, the same as the eager step would from that state).
//  - Host-side work inside the step fails the capture with an error naming it (host learning-rate
//    schedules, add_noise, a loss that reads values back): see <axon/graph.hpp>.
Step train_step(const Model& model, Loss loss, Optimizer optimizer, TrainStepOptions options = {});
// predict() (inference mode) on each batch with the given "model_state": y_true, y_pred.
Step eval_step(const Model& model);

// The supervised loop around any step that keeps "loss" in its state: the "loss" metric (read from
// the step state; computed with `loss` on y_true / y_pred where the state has none, as in
// validation), the running loss reset at each epoch, and the progress report (progress.hpp): on a
// terminal redrawn every `log` batches, otherwise a line per epoch plus one every `log_lines`
// batches (log 0 or out null: silent).
struct SupervisedOptions {
  int64_t log = 50;
  std::ostream* out = &std::cout;
  DataParallel data_parallel = {};  // metrics averaged over the ranks before the log reads them
  int64_t log_lines = 0;
  std::optional<bool> terminal = {};  // ProgressOptions::terminal: default, whether out is a terminal
};
Loop supervised_loop(Step step, losses::LossFn loss = {}, SupervisedOptions options = {});

struct TrainerOptions {
  // The progress report (progress.hpp), on by default: epoch k/N, batch i/total, elapsed, ETA,
  // samples/s and the running metrics, redrawn in place every `log` batches on a terminal; when
  // `out` is not a terminal, one line per epoch plus one every `log_lines` batches (0: none).
  // Validation metrics show on each epoch's last line. log 0 or out null: silent.
  int64_t log = 50;
  std::ostream* out = &std::cout;
  int64_t log_lines = 0;
  std::optional<bool> terminal = {};  // force in-place redraws (true) or lines (false)
  uint64_t seed = 0;
  FrozenFn frozen = {};
  LossScale loss_scale = {};  // Axon's trainer(..., loss_scale:); identity
  bool compile = false;       // TrainStepOptions::compile
  // stop_on_nan (handlers.hpp) on the "loss" metric, checked where the log line reads values anyway
  // (every `log` batches) and at each epoch's end, reporting to `out`: a run whose loss turns NaN
  // returns with status halted and the first bad epoch and batch in halt_reason.
  bool stop_on_nan = true;
  // Where the step runs: batches on another device are copied there. Unset: default_device()
  // for batches on the CPU (so data loaded on the CPU trains on the GPU when there is one);
  // batches already on a GPU stay there.
  std::optional<Device> device = {};
  // TrainStepOptions::data_parallel, and the metrics (the logged loss included) averaged over the
  // ranks after every batch, so every rank logs, stops on NaN and early-stops alike.
  DataParallel data_parallel = {};
};
Loop trainer(const Model& model, Loss loss, Optimizer optimizer, TrainerOptions options = {});

struct EvaluatorOptions {
  int64_t log = 1;  // "\rBatch: I, metrics" every `log` batches (Axon: every batch); 0: silent
  std::ostream* out = &std::cout;
};
// Run it with initial_state(params). Its metrics come from metric(loop, ...); run() returns them
// in epoch_metrics[0].
Loop evaluator(const Model& model, EvaluatorOptions options = {});
// Axon's validate(loop, model, data): a silent evaluator of `model`.
Loop& validate(Loop& loop, const Model& model, Dataset data, ValidateOptions options = {});

// The parameters (and state) of a train step's loop state.
Params model_state(const LoopState& state);
// A step state holding `params` as "model_state" (for evaluator runs, or to start training from).
StepState initial_state(const Params& params);

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;        // shuffling
  int64_t iterations = -1;  // batches per epoch at most
  int64_t log = 50;         // the progress report as TrainerOptions; 0: silent
  std::ostream* out = &std::cout;
  int64_t log_lines = 0;
  std::vector<std::string> metrics = {};  // names for metric(loop, name)
  Params initial_params = {};             // start from these instead of init(model)
  std::optional<Device> device = {};      // x and y are copied there; unset: TrainerOptions::device's rule
};
// Trains with the supervised loop over tensor_dataset(x, y) on `device`; returns the parameters.
Params train(const Step& step, const Tensor& x, const Tensor& y, TrainOptions options = {});

}  // namespace axon::training

namespace axon {
using training::eval_step;
using training::Loop;
using training::LoopState;
using training::evaluator;
using training::model_state;
using training::train;
using training::train_step;
using training::trainer;
}  // namespace axon
