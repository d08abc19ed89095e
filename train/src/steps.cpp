// train_step and eval_step: the model's step functions for a loop; train_step optionally captured
// as a CUDA graph (TrainStepOptions::compile).
#include <algorithm>

#include <axon/graph.hpp>
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

// What a train step closes over.
struct StepParts {
  Model model;
  optim::GradientTransformation tx;
  Loss loss;
  FrozenFn frozen;
  LossScale ls;
  DataParallel dp;
};

Generator state_generator(const StepState& s) {
  Generator gen(static_cast<uint64_t>(host_i64(s.at("rng/seed"))));
  gen.offset = static_cast<uint64_t>(host_i64(s.at("rng/offset")));
  return gen;
}
// Written back on the CPU even when a checkpoint put them on a GPU: one sync, not one per step.
void set_generator(StepState& n, const Generator& gen) {
  n["rng/seed"] = scalar_tensor(static_cast<int64_t>(gen.seed), DType::i64);
  n["rng/offset"] = scalar_tensor(static_cast<int64_t>(gen.offset), DType::i64);
}

// The gradients of f at params averaged over the data-parallel ranks, each bucket's reduction
// started by the tape as soon as its gradients are final.
template <class F>
Params overlapped_grads(const DataParallel& dp, F&& f, const Params& params) {
  std::vector<Tensor> flat;
  autograd::detail::flatten(params, flat);
  DataParallel::GradientReducer reducer = dp.gradient_reducer(flat);
  autograd::value_and_grad_flat(
      [&](const std::vector<Tensor>& ps) {
        size_t i = 0;
        return f(autograd::detail::unflatten(params, ps, i));
      },
      flat, Tensor(), reducer.ready);
  size_t i = 0;
  return autograd::detail::unflatten(params, reducer.finish(), i);
}

// One step on the device, drawing dropout masks from gen: every entry of the new state but the
// generator's.
StepState step_body(const StepParts& p, const Batch& b, const StepState& s, Generator& gen) {
  // Not a structured binding: clang before 16 cannot capture one in the lambda below.
  const std::pair<Params, Params> parts = split(p.model, s.params("model_state"), p.frozen);
  const Params& trainable = parts.first;
  const Params& state = parts.second;
  const LossScaleState scale_state = s.sub("loss_scale");
  Params new_state;
  Tensor y_pred, batch_loss;
  auto loss_of = [&](const Params& params) {
    ForwardResult r = apply(p.model, merge_params(params, state), b.x, {.mode = Mode::train, .generator = &gen});
    new_state = std::move(r.state);
    y_pred = r.output;
    batch_loss = p.loss(b.y, r.output);
    return p.ls.scale(batch_loss, scale_state);
  };
  Params grads = p.dp.enabled() && p.dp.gradient_reducer ? overlapped_grads(p.dp, loss_of, trainable)
                                                         : value_and_grad(loss_of, trainable).second;
  if (p.dp.enabled()) {
    if (!p.dp.gradient_reducer) grads = p.dp.average_gradients(grads);
    if (!new_state.empty()) new_state = p.dp.broadcast_params(new_state);  // as DDP's broadcast_buffers
  }
  Unscaled unscaled = p.ls.unscale(grads, scale_state);
  const optim::State old_opt_state = s.sub("optimizer_state");
  auto [updates, opt_state] = p.tx.update(unscaled.grads, old_opt_state, trainable);
  Params updated = optim::apply_updates(trainable, updates);
  if (p.ls.skip_overflow && unscaled.finite.defined()) {  // GradScaler's skipped step, decided on the device
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
  return n;
}

// ---- compiled steps (TrainStepOptions::compile)

// The entries a compiled step's graph reads and writes back: all but the last batch and the
// generator's (kept on the host), in the map's order.
bool graph_entry(const std::string& k) { return k != "y_true" && k != "y_pred" && k.rfind("rng/", 0) != 0; }
std::vector<std::string> graph_keys(const StepState& s, Device device) {
  std::vector<std::string> keys;
  for (const auto& [k, t] : s.tensors) {
    if (!graph_entry(k)) continue;
    AXON_CHECK(t.defined() && t.device() == device, "train_step",
               "compile: every state entry must be on the batch's device {} to be captured, but '{}' is {}",
               device.str(), k, describe(t));
    keys.push_back(k);
  }
  return keys;
}

struct CompiledStep {
  Generator gen;  // replays draw from and advance it: declared first, it outlives fn
  CompiledFn fn;  // inputs: x, y (when given), then the state entries `keys`; outputs: those, then y_pred
  std::vector<std::string> keys;
  std::size_t batch_inputs = 1;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;

  // The inputs of a call match the graph's.
  bool fits(const std::vector<Tensor>& in, const std::vector<std::string>& k) const {
    if (k != keys || in.size() != shapes.size()) return false;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i].shape() != shapes[i] || in[i].dtype() != dtypes[i] || in[i].device() != fn.device()) return false;
    return true;
  }
  // Only the batch differs.
  bool same_state(const std::vector<Tensor>& in, const std::vector<std::string>& k) const {
    if (k != keys || in.size() != shapes.size()) return false;
    for (std::size_t i = batch_inputs; i < in.size(); ++i)
      if (in[i].shape() != shapes[i] || in[i].dtype() != dtypes[i] || in[i].device() != fn.device()) return false;
    return true;
  }
};

std::shared_ptr<CompiledStep> capture_step(std::shared_ptr<const StepParts> parts, const std::vector<Tensor>& in,
                                           const std::vector<std::string>& keys, bool has_y, const Generator& gen,
                                           int warmup) {
  auto c = std::make_shared<CompiledStep>();
  c->gen = gen;
  c->keys = keys;
  c->batch_inputs = has_y ? 2 : 1;
  for (const Tensor& t : in) {
    c->shapes.push_back(t.shape());
    c->dtypes.push_back(t.dtype());
  }
  const std::size_t off = c->batch_inputs;
  Generator* g = &c->gen;  // not the CompiledStep itself: the function must not own its owner
  auto fn = [parts, keys, off, g](const std::vector<Tensor>& x) {
    StepState st;
    for (std::size_t i = 0; i < keys.size(); ++i) st.set(keys[i], x[off + i]);
    StepState n = step_body(*parts, Batch{x[0], off == 2 ? x[1] : Tensor()}, st, *g);
    std::vector<Tensor> out;
    for (const auto& k : keys) {
      AXON_CHECK(n.contains(k), "train_step", "compile: the step dropped the state entry '{}'", k);
      out.push_back(n.at(k));
    }
    for (const auto& [k, t] : n.tensors)
      AXON_CHECK(!graph_entry(k) || std::binary_search(keys.begin(), keys.end(), k), "train_step",
                 "compile: the step added the state entry '{}' (a compiled step's state entries are fixed by its first "
                 "batch)", k);
    out.push_back(n.at("y_pred"));
    return out;
  };
  CompileOptions co;
  co.warmup = warmup;
  for (std::size_t i = 0; i < keys.size(); ++i) co.donate.emplace_back(i, off + i);
  c->fn = compile(fn, in, co);
  return c;
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
  AXON_CHECK(!(o.compile && o.data_parallel.enabled()), "train_step",
             "compile and data_parallel together are not supported: the collectives run outside the graph");
  AXON_CHECK(!o.compile || o.compile_warmup >= 1, "train_step", "compile_warmup must be at least 1, got {}",
             o.compile_warmup);

  StepInit init_fn = [model, tx, o](const Batch& first, const StepState& given) {
    AXON_CHECK(first.x.defined(), "train_step", "batches need inputs (x)");
    Device device = first.x.device();
    DType dtype = o.dtype ? *o.dtype : first.x.dtype() == DType::f64 ? DType::f64 : DType::f32;
    Params all = merge_params(axon::init(model, {.device = device, .dtype = dtype, .seed = o.seed}),
                              given.params("model_state"));
    if (o.data_parallel.enabled()) all = o.data_parallel.broadcast_params(all);
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

  auto parts = std::make_shared<const StepParts>(StepParts{model, tx, loss, o.frozen, o.loss_scale, o.data_parallel});
  StepFn eager = [parts](const Batch& b, const StepState& s) {
    Generator gen = state_generator(s);
    StepState n = step_body(*parts, b, s, gen);
    set_generator(n, gen);
    return n;
  };
  if (!o.compile) return {std::move(init_fn), std::move(eager)};
  // Copies of the Step share one graph (and recapture it when the state's layout changes).
  auto graph = std::make_shared<std::shared_ptr<CompiledStep>>();
  StepFn compiled = [parts, eager, graph, warmup = o.compile_warmup](const Batch& b, const StepState& s) {
    if (!b.x.is_cuda()) return eager(b, s);
    std::vector<std::string> keys = graph_keys(s, b.x.device());
    std::vector<Tensor> in{b.x};
    if (b.y.defined()) in.push_back(b.y);
    for (const auto& k : keys) in.push_back(s.at(k));
    std::shared_ptr<CompiledStep>& c = *graph;
    if (c && !c->fits(in, keys)) {
      if (c->same_state(in, keys)) return eager(b, s);  // another batch shape: the last partial batch
      c.reset();
    }
    if (!c) c = capture_step(parts, in, keys, b.y.defined(), state_generator(s), warmup);
    c->gen = state_generator(s);
    // The caller holds two handles to each state tensor: the state map's and the vector's.
    // REVIEW(gpu): replays are checked against eager steps to 1e-5 ([graph][train] tests); the same
    // kernels and cuBLASLt plans run, so they should agree bit for bit.
    std::vector<Tensor> out = c->fn.call(in, 2);
    StepState n = s;
    for (std::size_t i = 0; i < keys.size(); ++i) n[keys[i]] = out[i];
    n["y_true"] = b.y;
    n["y_pred"] = out.back();
    set_generator(n, c->gen);
    return n;
  };
  return {std::move(init_fn), std::move(compiled)};
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
    // The dataset already batches: one pass per batch, as the user sized it.
    n["y_pred"] = predict(model, s.params("model_state"), b.x, {.batch_size = 0});
    return n;
  };
  return {std::move(init_fn), std::move(step_fn)};
}

}  // namespace axon::training
