// The optimizers of §1.7 as chains of combinators. adam/adamw and sgd-with-momentum also have a
// fused path (axon::fused_adam_update / fused_sgd_momentum_update) that reads and writes exactly the
// same state entries as their composite chains, so either path can continue the other's state.
#include <cmath>

#include <axon/fused_optim.hpp>
#include <axon/ops.hpp>
#include <axon/optim/optimizers.hpp>

namespace axon::optim {
namespace {

using Pair = std::pair<Params, State>;

bool use_fused(Fused mode, const Params& grads, const Params& params) {
  if (mode == Fused::never) return false;
  bool any = false, cuda = true;
  Device dev = params_device(grads);
  for (const Params* ps : {&grads, &params})
    for (const auto& [l, m] : *ps)
      for (const auto& [n, t] : m) {
        if (!t.defined() || t.dtype() != DType::f32 || t.device() != dev) return false;
        cuda = cuda && t.is_cuda();
        any = true;
      }
  return any && (mode == Fused::always || cuda);
}

// The learning-rate member of a chain at position `key`: the scale tensor (−lr) for this step, and
// its new state entries.
Tensor lr_scale(const LearningRate& lr, const State& state, const std::string& key, State& out) {
  if (!lr.is_schedule()) {
    const Tensor& s = get_tensor("optimizer", state, key + "/scale");
    out[key + "/scale"] = s;
    return s.dtype() == DType::f32 ? s : cast(s, DType::f32);
  }
  const Tensor& count = get_tensor("optimizer", state, key + "/count");
  out[key + "/count"] = add(count, 1);
  return neg(std::get<Schedule>(lr.value)(count, DType::f32));
}

// Flattens matching entries of a Params-shaped slot, in the order of `like`.
std::vector<Tensor> flat_slot(const State& s, const std::string& key, const Params& like) {
  return to_vector(get_slot("optimizer", s, key, like));
}
Params unflat(const std::vector<Tensor>& flat, const Params& like) {
  Params out;
  size_t i = 0;
  for (const auto& [l, m] : like)
    for (const auto& [n, t] : m) out[l].emplace(n, flat[i++]);
  return out;
}

GradientTransformation adam_family(const LearningRate& lr, const AdamWOptions& o, double decay) {
  std::vector<GradientTransformation> members{scale_by_adam({o.b1, o.b2, o.eps, o.eps_root})};
  if (decay != 0.0) members.push_back(add_decayed_weights(decay));
  members.push_back(scale_by_learning_rate(lr));
  std::string lr_key = std::to_string(members.size() - 1);
  GradientTransformation composite = chain(std::move(members));
  if (o.fused == Fused::never) return composite;
  return {composite.init, [=](const Params& g, const State& s, const Params& p) {
            if (!use_fused(o.fused, g, p)) return composite.update(g, s, p);
            const Tensor& count = get_tensor("adam", s, "0/count");
            State ns;
            Tensor sc = lr_scale(lr, s, lr_key, ns);
            auto r = fused_adam_update(to_vector(g), to_vector(map_params("adam", g, p, [](const Tensor&, const Tensor& w) { return w; })),
                                       flat_slot(s, "0/mu", g), flat_slot(s, "0/nu", g), count, sc, o.b1, o.b2, o.eps,
                                       o.eps_root, decay);
            ns["0/count"] = add(count, 1);
            put_slot(ns, "0/mu", unflat(r.mu, g));
            put_slot(ns, "0/nu", unflat(r.nu, g));
            return Pair{unflat(r.updates, g), std::move(ns)};
          }};
}

}  // namespace

GradientTransformation scale_by_learning_rate(const LearningRate& lr) {
  if (!lr.is_schedule()) return scale_by_state(-std::get<double>(lr.value));
  Schedule s = std::get<Schedule>(lr.value);
  Schedule neg_s([s](int64_t step) { return -s(step); });
  if (s.on_device) neg_s.on_device = [s](const Tensor& step, DType dt) { return neg(s.on_device(step, dt)); };
  return scale_by_schedule(neg_s);
}

GradientTransformation adabelief(LearningRate lr, BeliefOptions o) {
  return chain({scale_by_belief(o), scale_by_learning_rate(lr)});
}

GradientTransformation adagrad(LearningRate lr, double eps, double initial_accumulator_value) {
  return chain({scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(lr)});
}

GradientTransformation adam(LearningRate lr, AdamWOptions o) { return adam_family(lr, o, 0.0); }
GradientTransformation adamw(LearningRate lr, AdamWOptions o) { return adam_family(lr, o, o.decay); }

GradientTransformation fromage(double lr, double min_norm) {
  double mult = 1.0 / std::sqrt(1.0 + lr * lr);
  return chain({scale_by_trust_ratio(min_norm), scale(-lr * mult), add_decayed_weights(mult - 1.0)});
}

GradientTransformation lamb(LearningRate lr, LambOptions o) {
  return chain({scale_by_adam({o.b1, o.b2, o.eps, o.eps_root}), add_decayed_weights(o.decay),
                scale_by_trust_ratio(o.min_norm), scale_by_learning_rate(lr)});
}

GradientTransformation noisy_sgd(LearningRate lr, double eta, double gamma, uint64_t seed) {
  return chain({scale_by_learning_rate(lr), add_noise(seed, eta, gamma)});
}

GradientTransformation radam(LearningRate lr, RadamOptions o) {
  return chain({scale_by_radam(o), scale_by_learning_rate(lr)});
}

GradientTransformation rmsprop(LearningRate lr, RmspropOptions o) {
  std::vector<GradientTransformation> members{
      o.centered ? scale_by_stddev(o.initial_scale, o.decay, o.eps) : scale_by_rms(o.initial_scale, o.decay, o.eps),
      scale_by_learning_rate(lr)};
  if (o.momentum) members.push_back(trace(*o.momentum, o.nesterov));
  return chain(std::move(members));
}

GradientTransformation sgd(LearningRate lr, SgdOptions o) {
  if (!o.momentum) return chain({scale_by_learning_rate(lr)});
  double mom = *o.momentum;
  bool nesterov = o.nesterov;
  GradientTransformation composite = chain({trace(mom, nesterov), scale_by_learning_rate(lr)});
  if (o.fused == Fused::never) return composite;
  return {composite.init, [=](const Params& g, const State& s, const Params& p) {
            if (!use_fused(o.fused, g, p)) return composite.update(g, s, p);
            State ns;
            Tensor sc = lr_scale(lr, s, "1", ns);
            auto r = fused_sgd_momentum_update(to_vector(g), flat_slot(s, "0/trace", g), sc, mom, nesterov);
            put_slot(ns, "0/trace", unflat(r.trace, g));
            return Pair{unflat(r.updates, g), std::move(ns)};
          }};
}

GradientTransformation yogi(LearningRate lr, YogiOptions o) {
  return chain({scale_by_yogi(o), scale_by_learning_rate(lr)});
}

}  // namespace axon::optim
