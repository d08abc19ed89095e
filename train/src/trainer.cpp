// trainer, evaluator and the one-call train().
#include <algorithm>

#include <axon/ops.hpp>
#include <axon/train/trainer.hpp>

namespace axon::training {

Loop supervised_loop(Step step, losses::LossFn loss, SupervisedOptions o) {
  Loop loop(std::move(step));
  MetricSpec m{"loss", {}, accumulator(Accumulate::running_average), "loss"};
  if (loss) {
    Loss scalar{std::move(loss)};
    m.observe = [scalar](const StepState& s) { return scalar(s.at("y_true"), s.at("y_pred")); };
  }
  loop.add_metric(std::move(m));
  average_metrics(loop, o.data_parallel);
  // The step's running loss averages over one epoch.
  loop.handle(Event::epoch_started, [](LoopState& s) {
    for (const char* k : {"loss", "i"})
      if (s.step_state.contains(k)) s.step_state[k] = zeros_like(s.step_state.at(k));
    return Action::continue_;
  });
  if (o.log > 0 && o.out) progress(loop, {.out = o.out, .every = o.log, .lines_every = o.log_lines, .terminal = o.terminal});
  return loop;
}

namespace {
Device step_device(const std::optional<Device>& asked, const Tensor& data) {
  if (asked) return *asked;
  return data.device().is_cpu() ? default_device() : data.device();
}

Batch to_device(const Batch& b, const std::optional<Device>& asked) {
  Device d = step_device(asked, b.x);
  if (b.x.device() == d && (!b.y.defined() || b.y.device() == d)) return b;
  return {b.x.to(d), b.y.defined() ? b.y.to(d) : b.y};
}

// The step with each batch first on the trainer's device.
Step on_device(Step step, std::optional<Device> device) {
  return {[init = std::move(step.init), device](const Batch& first, const StepState& given) {
            return init(to_device(first, device), given);
          },
          [fn = std::move(step.step), device](const Batch& b, const StepState& s) {
            return fn(to_device(b, device), s);
          }};
}
}  // namespace

Loop trainer(const Model& model, Loss loss, Optimizer optimizer, TrainerOptions o) {
  losses::LossFn fn = loss.fn;
  Loop loop = supervised_loop(
      on_device(train_step(model, std::move(loss), std::move(optimizer),
                           {.seed = o.seed, .frozen = o.frozen, .loss_scale = o.loss_scale, .compile = o.compile,
                            .data_parallel = o.data_parallel}),
                o.device),
      fn, {.log = o.log, .out = o.out, .data_parallel = o.data_parallel, .log_lines = o.log_lines, .terminal = o.terminal});
  // After the log handlers (the line of the bad batch still prints), before any the caller attaches
  // (validation and checkpoints do not run on a diverged model).
  if (o.stop_on_nan) stop_on_nan(loop, {.every = std::max<int64_t>(o.log, 0), .out = o.out});
  return loop;
}

Loop evaluator(const Model& model, EvaluatorOptions o) {
  Loop loop(eval_step(model));
  if (o.log > 0 && o.out) {
    log(loop, [](const LoopState& s) { return supervised_log_message(s, false); }, {.filter = {.every = o.log}, .out = o.out});
    log(loop, [](const LoopState&) { return std::string("\n"); }, {.event = Event::completed, .out = o.out});
  }
  return loop;
}

Loop& validate(Loop& loop, const Model& model, Dataset data, ValidateOptions options) {
  // The same device rule as trainer's (unset device): CPU batches go to default_device().
  return validate(loop, Loop(on_device(eval_step(model), {})), std::move(data), std::move(options));
}

Params model_state(const LoopState& state) {
  AXON_CHECK(state.step_state.has_prefix("model_state"), "model_state", "the loop state holds no model_state");
  return state.step_state.params("model_state");
}

StepState initial_state(const Params& params) {
  StepState s;
  s.set_params("model_state", params);
  return s;
}

Params train(const Step& step, const Tensor& x, const Tensor& y, TrainOptions o) {
  Loop loop = supervised_loop(step, {}, {.log = o.log, .out = o.out, .log_lines = o.log_lines});
  for (const auto& name : o.metrics) metric(loop, name);
  Device d = step_device(o.device, x);
  Dataset data = tensor_dataset(x.to(d), y.to(d), {.batch_size = o.batch_size, .shuffle = o.shuffle, .drop_last = o.drop_last, .seed = o.seed});
  LoopState s = loop.run(data, initial_state(o.initial_params), {.epochs = o.epochs, .iterations = o.iterations});
  return model_state(s);
}

}  // namespace axon::training
