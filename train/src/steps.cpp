// train_step and eval_step: the model's step functions for a loop.
#include <algorithm>

#include <axon/ops.hpp>
#include <axon/optim/transform.hpp>
#include <axon/train/trainer.hpp>

namespace axon::training {
namespace {

// The dropout generator's state lives on the host as two 0-d i64 CPU tensors, so that checkpoints
// carry it (reading a CPU tensor is no device sync).
int64_t host_i64(const Tensor& t) { return t.item<int64_t>(); }

// The parameters the optimizer updates, and the constants of the forward (state entries and frozen
// parameters).
std::pair<Params, Params> split(const Model& model, const Params& all, const FrozenFn& frozen) {
  Params free = trainable_params(model, all), fixed = state_params(model, all);
  if (!frozen) return {std::move(free), std::move(fixed)};
  Params updated;
  for (auto& [layer, m] : free)
    for (auto& [name, t] : m) (frozen(layer, name) ? fixed : updated)[layer].emplace(name, std::move(t));
  return {std::move(updated), std::move(fixed)};
}

}  // namespace

FrozenFn freeze_layers(std::vector<std::string> layers) {
  return [layers = std::move(layers)](const std::string& layer, const std::string&) {
    return std::find(layers.begin(), layers.end(), layer) != layers.end();
  };
}

Step train_step(const Model& model, Loss loss, Optimizer optimizer, TrainStepOptions o) {
  AXON_CHECK(model.defined(), "train_step", "the model is undefined");
  optim::GradientTransformation tx = std::move(optimizer.tx);
  AXON_CHECK(tx.init && tx.update, "train_step", "the optimizer has no init or update function");
  if (!o.loss_scale.init) o.loss_scale = identity_loss_scale();
  AXON_CHECK(o.loss_scale.scale && o.loss_scale.unscale, "train_step",
             "the loss scale \"{}\" has no scale or unscale function", o.loss_scale.name);

  StepInit init_fn = [model, tx, o](const Batch& first, const StepState& given) {
    AXON_CHECK(first.x.defined(), "train_step", "batches need inputs (x)");
    Device device = first.x.device();
    DType dtype = o.dtype ? *o.dtype : first.x.dtype() == DType::f64 ? DType::f64 : DType::f32;
    Params all = merge_params(axon::init(model, {.device = device, .dtype = dtype, .seed = o.seed}),
                              given.params("model_state"));
    StepState s;
    s.set_params("model_state", all);
    s.set_sub("optimizer_state", given.has_prefix("optimizer_state") ? given.sub("optimizer_state")
                                                                     : tx.init(split(model, all, o.frozen).first));
    s["loss"] = zeros({}, DType::f32, device);
    s["i"] = zeros({}, DType::i64, device);
    s["rng/seed"] = scalar_tensor(static_cast<int64_t>(o.seed), DType::i64);
    s["rng/offset"] = scalar_tensor(0, DType::i64);
    s.set_sub("loss_scale", given.has_prefix("loss_scale") ? given.sub("loss_scale") : o.loss_scale.init(device));
    return s;
  };

  StepFn step_fn = [model, tx, loss, frozen = o.frozen, ls = o.loss_scale](const Batch& b, const StepState& s) {
    auto [trainable, state] = split(model, s.params("model_state"), frozen);
    int64_t seed = host_i64(s.at("rng/seed"));
    Generator gen(static_cast<uint64_t>(seed));
    gen.offset = static_cast<uint64_t>(host_i64(s.at("rng/offset")));
    const LossScaleState scale_state = s.sub("loss_scale");
    Params new_state;
    Tensor y_pred, batch_loss;
    auto grads = value_and_grad(
                     [&](const Params& p) {
                       ForwardResult r =
                           apply(model, merge_params(p, state), b.x, {.mode = Mode::train, .generator = &gen});
                       new_state = std::move(r.state);
                       y_pred = r.output;
                       batch_loss = loss(b.y, r.output);
                       return ls.scale(batch_loss, scale_state);
                     },
                     trainable)
                     .second;
    Unscaled unscaled = ls.unscale(grads, scale_state);
    const optim::State old_opt_state = s.sub("optimizer_state");
    auto [updates, opt_state] = tx.update(unscaled.grads, old_opt_state, trainable);
    Params updated = optim::apply_updates(trainable, updates);
    if (ls.skip_overflow && unscaled.finite.defined()) {  // GradScaler's skipped step, decided on the device
      updated = select_finite(unscaled.finite, updated, trainable);
      opt_state = select_finite(unscaled.finite, opt_state, old_opt_state);
    }
    StepState n = s;
    n.set_params("model_state", merge_params(merge_params(updated, state), new_state));
    n.set_sub("optimizer_state", opt_state);
    n.set_sub("loss_scale", unscaled.state);
    // The epoch's running mean, kept on the device: (loss·i + batch_loss)/(i + 1).
    const Tensor& i = s.at("i");
    n["loss"] = div(add(mul(s.at("loss"), i), batch_loss), add(i, 1));
    n["i"] = add(i, 1);
    n["y_true"] = b.y;
    n["y_pred"] = y_pred;
    // Written back on the CPU even when a checkpoint put them on a GPU: one sync, not one per step.
    n["rng/seed"] = scalar_tensor(seed, DType::i64);
    n["rng/offset"] = scalar_tensor(static_cast<int64_t>(gen.offset), DType::i64);
    return n;
  };
  return {std::move(init_fn), std::move(step_fn)};
}

Step eval_step(const Model& model) {
  AXON_CHECK(model.defined(), "eval_step", "the model is undefined");
  StepInit init_fn = [](const Batch&, const StepState& given) {
    AXON_CHECK(given.has_prefix("model_state"), "eval_step",
               "no model_state in the initial state: run the evaluator with initial_state(params)");
    StepState s;
    s.set_sub("model_state", given.sub("model_state"));
    return s;
  };
  StepFn step_fn = [model](const Batch& b, const StepState& s) {
    StepState n = s;
    n["y_true"] = b.y;
    n["y_pred"] = predict(model, s.params("model_state"), b.x);
    return n;
  };
  return {std::move(init_fn), std::move(step_fn)};
}

}  // namespace axon::training
