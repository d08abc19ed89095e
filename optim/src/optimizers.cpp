// Polaris' optimizers as chains of combinators. adam/adamw and sgd-with-momentum also have a
// fused path (axon::fused_adam_update / fused_sgd_momentum_update) that reads and writes exactly the
// same state entries as their composite chains, so either path can continue the other's state. On
// the CPU the fused kernels perform the composite chain's arithmetic bit for bit, so the fused path
// is the default there as on CUDA (where it agrees to rounding).
#include <cmath>
#include <optional>

#include <axon/fused_optim.hpp>
#include <axon/ops.hpp>
#include <axon/optim/optimizers.hpp>

#include "check_options.hpp"

namespace axon::optim {

using namespace detail;

namespace {

using Pair = std::pair<Params, State>;

// The inputs of one fused update, flattened in the order of the gradients' structure, with the
// state keys of their slots.
struct FusedInputs {
  DType dtype = DType::f32;
  std::vector<Tensor> g, p;
  std::vector<std::vector<Tensor>> slot;      // [slot][tensor]
  std::vector<std::vector<std::string>> key;  // "<prefix>/<layer>/<name>", as put_slot writes them
};

// The fused inputs when the fused op applies: every gradient, parameter (when `need_params`) and
// slot of one dtype (f32; f64 on the CPU) on one device, with the gradients' shapes. Otherwise
// nothing, and the composite chain runs (and raises whatever it finds wrong).
std::optional<FusedInputs> fused_inputs(Fused mode, const Params& grads, const Params& params, bool need_params,
                                        const State& state, const std::vector<std::string>& prefixes) {
  if (mode == Fused::never) return std::nullopt;
  FusedInputs in;
  in.slot.resize(prefixes.size());
  in.key.resize(prefixes.size());
  Device dev = Device::cpu();
  size_t np = 0;
  if (need_params)
    for (const auto& [l, m] : params) np += m.size();
  for (const auto& [l, m] : grads) {
    const ParamMap* pm = nullptr;
    if (need_params) {
      auto it = params.find(l);
      if (it == params.end()) return std::nullopt;
      pm = &it->second;
    }
    for (const auto& [n, t] : m) {
      if (!t.defined()) return std::nullopt;
      if (in.g.empty()) {
        dev = t.device();
        in.dtype = t.dtype();
        if (!(in.dtype == DType::f32 || (in.dtype == DType::f64 && dev.is_cpu()))) return std::nullopt;
      }
      const Shape& shape = t.shape();  // clang before 16 cannot capture the structured binding t
      auto fits = [&](const Tensor& x) {
        return x.defined() && x.dtype() == in.dtype && x.device() == dev && x.shape() == shape;
      };
      if (!fits(t)) return std::nullopt;
      in.g.push_back(t);
      if (pm) {
        auto it = pm->find(n);
        if (it == pm->end() || !fits(it->second)) return std::nullopt;
        in.p.push_back(it->second);
      }
      for (size_t k = 0; k < prefixes.size(); ++k) {
        std::string key = prefixes[k] + "/" + l + "/" + n;
        auto it = state.find(key);
        if (it == state.end() || !fits(it->second)) return std::nullopt;
        in.slot[k].push_back(it->second);
        in.key[k].push_back(std::move(key));
      }
    }
  }
  if (in.g.empty() || (need_params && np != in.g.size())) return std::nullopt;
  return in;
}

// A 0-d i64 counter on the gradients' device, as the fused op reads it.
const Tensor* counter(const State& state, const std::string& key, const FusedInputs& in) {
  auto it = state.find(key);
  if (it == state.end()) return nullptr;
  const Tensor& c = it->second;
  return c.defined() && c.dim() == 0 && c.dtype() == DType::i64 && c.device() == in.g[0].device() ? &c : nullptr;
}

// The learning-rate member of a chain at position `key`: the scale tensor (−lr) for this step in
// `dt`, as that member computes it, and its new state entries.
Tensor lr_scale(const LearningRate& lr, const State& state, const std::string& key, DType dt, State& out) {
  if (!lr.is_schedule()) {
    const Tensor& s = get_tensor("optimizer", state, key + "/scale");
    out[key + "/scale"] = s;
    return s.dtype() == dt ? s : cast(s, dt);
  }
  const Tensor& count = get_tensor("optimizer", state, key + "/count");
  out[key + "/count"] = add(count, 1);
  return neg(std::get<Schedule>(lr.value)(count, dt));
}

// Flat tensors in the structure of `like`.
Params unflat(const std::vector<Tensor>& flat, const Params& like) {
  Params out;
  size_t i = 0;
  for (const auto& [l, m] : like) {
    auto& om = out[l];
    for (const auto& [n, t] : m) om.emplace_hint(om.end(), n, flat[i++]);
  }
  return out;
}

void put_flat(State& state, const std::vector<std::string>& keys, const std::vector<Tensor>& ts) {
  for (size_t i = 0; i < keys.size(); ++i) state[keys[i]] = ts[i];
}

GradientTransformation adam_family(const char* op, const LearningRate& lr, const AdamWOptions& o, double decay) {
  check_learning_rate(op, lr);
  check_moments(op, o.b1, o.b2, o.eps, o.eps_root);
  check_non_negative(op, "decay", decay);
  std::vector<GradientTransformation> members{scale_by_adam({o.b1, o.b2, o.eps, o.eps_root})};
  if (decay != 0.0) members.push_back(add_decayed_weights(decay));
  members.push_back(scale_by_learning_rate(lr));
  std::string lr_key = std::to_string(members.size() - 1);
  GradientTransformation composite = chain(std::move(members));
  if (o.fused == Fused::never) return composite;
  const std::vector<std::string> prefixes{"0/mu", "0/nu"};
  return {composite.init, [=](const Params& g, const State& s, const Params& p) {
            check_grads_match_params("optimizer.update", g, p);
            auto in = fused_inputs(o.fused, g, p, decay != 0.0, s, prefixes);
            const Tensor* count = in ? counter(s, "0/count", *in) : nullptr;
            if (!count) return composite.update(g, s, p);
            State ns;
            Tensor sc = lr_scale(lr, s, lr_key, in->dtype, ns);
            // Without weight decay the parameters are not read: the gradients stand in for them.
            auto r = fused_adam_update(in->g, decay != 0.0 ? in->p : in->g, in->slot[0], in->slot[1], *count, sc,
                                       o.b1, o.b2, o.eps, o.eps_root, decay);
            ns["0/count"] = add(*count, 1);
            put_flat(ns, in->key[0], r.mu);
            put_flat(ns, in->key[1], r.nu);
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
  check_learning_rate("adabelief", lr);
  check_moments("adabelief", o.b1, o.b2, o.eps, o.eps_root);
  return chain({scale_by_belief(o), scale_by_learning_rate(lr)});
}

GradientTransformation adagrad(LearningRate lr, double eps, double initial_accumulator_value) {
  check_learning_rate("adagrad", lr);
  check_non_negative("adagrad", "eps", eps);
  check_non_negative("adagrad", "initial_accumulator_value", initial_accumulator_value);
  return chain({scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(lr)});
}

GradientTransformation adam(LearningRate lr, AdamWOptions o) { return adam_family("adam", lr, o, 0.0); }
GradientTransformation adamw(LearningRate lr, AdamWOptions o) { return adam_family("adamw", lr, o, o.decay); }

GradientTransformation fromage(double lr, double min_norm) {
  check_learning_rate("fromage", lr);
  check_non_negative("fromage", "min_norm", min_norm);
  double mult = 1.0 / std::sqrt(1.0 + lr * lr);
  return chain({scale_by_trust_ratio(min_norm), scale(-lr * mult), add_decayed_weights(mult - 1.0)});
}

GradientTransformation lamb(LearningRate lr, LambOptions o) {
  check_learning_rate("lamb", lr);
  check_moments("lamb", o.b1, o.b2, o.eps, o.eps_root);
  check_non_negative("lamb", "decay", o.decay);
  check_non_negative("lamb", "min_norm", o.min_norm);
  return chain({scale_by_adam({o.b1, o.b2, o.eps, o.eps_root}), add_decayed_weights(o.decay),
                scale_by_trust_ratio(o.min_norm), scale_by_learning_rate(lr)});
}

GradientTransformation noisy_sgd(LearningRate lr, double eta, double gamma, uint64_t seed) {
  check_learning_rate("noisy_sgd", lr);
  check_non_negative("noisy_sgd", "eta", eta);
  check_non_negative("noisy_sgd", "gamma", gamma);
  return chain({scale_by_learning_rate(lr), add_noise(seed, eta, gamma)});
}

GradientTransformation radam(LearningRate lr, RadamOptions o) {
  check_learning_rate("radam", lr);
  check_moments("radam", o.b1, o.b2, o.eps, o.eps_root);
  check_finite("radam", "threshold", o.threshold);
  return chain({scale_by_radam(o), scale_by_learning_rate(lr)});
}

GradientTransformation rmsprop(LearningRate lr, RmspropOptions o) {
  check_learning_rate("rmsprop", lr);
  check_decay_rate("rmsprop", "decay", o.decay);
  check_non_negative("rmsprop", "eps", o.eps);
  check_non_negative("rmsprop", "initial_scale", o.initial_scale);
  if (o.momentum) check_fraction("rmsprop", "momentum", *o.momentum);
  std::vector<GradientTransformation> members{
      o.centered ? scale_by_stddev(o.initial_scale, o.decay, o.eps) : scale_by_rms(o.initial_scale, o.decay, o.eps),
      scale_by_learning_rate(lr)};
  if (o.momentum) members.push_back(trace(*o.momentum, o.nesterov));
  return chain(std::move(members));
}

GradientTransformation sgd(LearningRate lr, SgdOptions o) {
  check_learning_rate("sgd", lr);
  if (o.momentum) check_fraction("sgd", "momentum", *o.momentum);
  if (!o.momentum) return chain({scale_by_learning_rate(lr)});
  double mom = *o.momentum;
  bool nesterov = o.nesterov;
  GradientTransformation composite = chain({trace(mom, nesterov), scale_by_learning_rate(lr)});
  if (o.fused == Fused::never) return composite;
  const std::vector<std::string> prefixes{"0/trace"};
  return {composite.init, [=](const Params& g, const State& s, const Params& p) {
            check_grads_match_params("optimizer.update", g, p);
            auto in = fused_inputs(o.fused, g, p, false, s, prefixes);
            if (!in) return composite.update(g, s, p);
            State ns;
            Tensor sc = lr_scale(lr, s, "1", in->dtype, ns);
            auto r = fused_sgd_momentum_update(in->g, in->slot[0], sc, mom, nesterov);
            put_flat(ns, in->key[0], r.trace);
            return Pair{unflat(r.updates, g), std::move(ns)};
          }};
}

GradientTransformation yogi(LearningRate lr, YogiOptions o) {
  check_learning_rate("yogi", lr);
  check_moments("yogi", o.b1, o.b2, o.eps, o.eps_root);
  check_non_negative("yogi", "initial_accumulator_value", o.initial_accumulator_value);
  return chain({scale_by_yogi(o), scale_by_learning_rate(lr)});
}

}  // namespace axon::optim
