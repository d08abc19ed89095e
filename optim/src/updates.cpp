// Polaris' update combinators written with axon ops (they run on the parameters' device and keep
// their counters there: no host synchronisation except add_noise's seed).
#include <cmath>

#include <axon/ops.hpp>
#include <axon/random.hpp>
#include <axon/optim/updates.hpp>

#include "check_options.hpp"

namespace axon::optim {

using namespace detail;

namespace {

void check_rms(const char* op, double initial_scale, double decay, double eps) {
  check_non_negative(op, "initial_scale", initial_scale);
  check_decay_rate(op, "decay", decay);
  check_non_negative(op, "eps", eps);
}

using Pair = std::pair<Params, State>;

// (1−d)·g^order + d·z, in z's dtype.
Tensor update_moment(const Tensor& g, const Tensor& z, double d, int order) {
  Tensor gz = g.dtype() == z.dtype() ? g : cast(g, z.dtype());
  Tensor gp = order == 1 ? gz : square(gz);
  return add(mul(gp, 1 - d), mul(z, d));
}

// z / (1 − d^t), with t the (already incremented) counter.
Tensor bias_correction(const Tensor& z, double d, const Tensor& t) { return div(z, one_minus_pow(d, t, z.dtype())); }

Tensor as_dtype(const Tensor& t, DType dt) { return t.dtype() == dt ? t : cast(t, dt); }

}  // namespace

GradientTransformation scale(double step) {
  check_finite("scale", "step", step);
  return stateless([=](const Params& u, const Params&) { return map_params(u, [&](const Tensor& t) { return mul(t, step); }); });
}

GradientTransformation scale_by_state(double step) {
  check_finite("scale_by_state", "step", step);
  return {[=](const Params& p) { // f64 so that f64 parameters see the exact step (cast per update for other dtypes: a 0-d op).
            return State{{"scale", scalar_tensor(step, DType::f64, params_device(p))}}; },
          [](const Params& u, const State& s, const Params&) {
            const Tensor& sc = get_tensor("scale_by_state", s, "scale");
            return Pair{map_params(u, [&](const Tensor& t) { return mul(t, as_dtype(sc, t.dtype())); }), s};
          }};
}

GradientTransformation scale_by_schedule(Schedule schedule) {
  return {[](const Params& p) { return State{{"count", make_count(p)}}; },
          [schedule](const Params& u, const State& s, const Params&) {
            const Tensor& count = get_tensor("scale_by_schedule", s, "count");
            std::map<DType, Tensor> by_dtype;  // one evaluation per dtype in use
            auto updates = map_params(u, [&](const Tensor& t) {
              auto it = by_dtype.find(t.dtype());
              if (it == by_dtype.end()) it = by_dtype.emplace(t.dtype(), schedule(count, t.dtype())).first;
              return mul(t, it->second);
            });
            return Pair{std::move(updates), State{{"count", add(count, 1)}}};
          }};
}

GradientTransformation scale_by_adam(AdamOptions o) {
  check_moments("scale_by_adam", o.b1, o.b2, o.eps, o.eps_root);
  return {[](const Params& p) {
            State s{{"count", make_count(p)}};
            put_slot(s, "mu", full_like_params(p, 0));
            put_slot(s, "nu", full_like_params(p, 0));
            return s;
          },
          [o](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_adam";
            Tensor t = add(get_tensor(op, s, "count"), 1);
            Params mu = map_params(op, u, get_slot(op, s, "mu", u),
                                   [&](const Tensor& g, const Tensor& m) { return update_moment(g, m, o.b1, 1); });
            Params nu = map_params(op, u, get_slot(op, s, "nu", u),
                                   [&](const Tensor& g, const Tensor& v) { return update_moment(g, v, o.b2, 2); });
            Params out = map_params(op, mu, nu, [&](const Tensor& m, const Tensor& v) {
              Tensor mh = bias_correction(m, o.b1, t), vh = bias_correction(v, o.b2, t);
              return div(mh, add(sqrt(add(vh, o.eps_root)), o.eps));
            });
            State ns{{"count", t}};
            put_slot(ns, "mu", mu);
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_belief(BeliefOptions o) {
  check_moments("scale_by_belief", o.b1, o.b2, o.eps, o.eps_root);
  return {[](const Params& p) {
            State s{{"count", make_count(p)}};
            put_slot(s, "mu", full_like_params(p, 0));
            put_slot(s, "nu", full_like_params(p, 0));
            return s;
          },
          [o](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_belief";
            Tensor t = add(get_tensor(op, s, "count"), 1);
            Params mu = map_params(op, u, get_slot(op, s, "mu", u),
                                   [&](const Tensor& g, const Tensor& m) { return update_moment(g, m, o.b1, 1); });
            // The paper's s_t: the EMA of the squared prediction error (g − m_t), plus eps_root.
            Params err = map_params(op, u, mu, [&](const Tensor& g, const Tensor& m) { return sub(as_dtype(g, m.dtype()), m); });
            Params nu = map_params(op, err, get_slot(op, s, "nu", u), [&](const Tensor& e, const Tensor& v) {
              return add(update_moment(e, v, o.b2, 2), o.eps_root);
            });
            Params out = map_params(op, mu, nu, [&](const Tensor& m, const Tensor& v) {
              return div(bias_correction(m, o.b1, t), add(sqrt(bias_correction(v, o.b2, t)), o.eps));
            });
            State ns{{"count", t}};
            put_slot(ns, "mu", mu);
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_radam(RadamOptions o) {
  check_moments("scale_by_radam", o.b1, o.b2, o.eps, o.eps_root);
  check_finite("scale_by_radam", "threshold", o.threshold);
  return {[](const Params& p) {
            State s{{"count", make_count(p)}};
            put_slot(s, "mu", full_like_params(p, 0));
            put_slot(s, "nu", full_like_params(p, 0));
            return s;
          },
          [o](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_radam";
            Tensor t = add(get_tensor(op, s, "count"), 1);
            // The paper's ρ∞ = 2/(1 − β2) − 1 (Polaris writes b1 here).
            double ro_inf = 2.0 / (1.0 - o.b2) - 1.0;
            Params mu = map_params(op, u, get_slot(op, s, "mu", u),
                                   [&](const Tensor& g, const Tensor& m) { return update_moment(g, m, o.b1, 1); });
            Params nu = map_params(op, u, get_slot(op, s, "nu", u),
                                   [&](const Tensor& g, const Tensor& v) { return update_moment(g, v, o.b2, 2); });
            Params out = map_params(op, mu, nu, [&](const Tensor& m, const Tensor& v) {
              DType dt = m.dtype();
              Tensor tf = cast(t, dt);
              Tensor b2t = exp(mul(tf, std::log(o.b2)));
              // ρt = ρ∞ − 2t·b2^t/(1 − b2^t)
              Tensor ro = rsub(ro_inf, div(mul(mul(tf, 2.0), b2t), one_minus_pow(o.b2, t, dt)));
              // r = √((ρt−4)(ρt−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρt)); the clamp keeps the unused branch finite.
              Tensor rc = clamp(ro, o.threshold > 4 ? o.threshold : 4.0, std::nullopt);
              Tensor r = sqrt(div(mul(mul(sub(rc, 4.0), sub(rc, 2.0)), ro_inf), mul(rc, (ro_inf - 4) * (ro_inf - 2))));
              Tensor mh = bias_correction(m, o.b1, t), vh = bias_correction(v, o.b2, t);
              Tensor rect = div(mul(mh, r), add(sqrt(add(vh, o.eps_root)), o.eps));
              return where(ge(ro, o.threshold), rect, mh);
            });
            State ns{{"count", t}};
            put_slot(ns, "mu", mu);
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_yogi(YogiOptions o) {
  check_moments("scale_by_yogi", o.b1, o.b2, o.eps, o.eps_root);
  check_non_negative("scale_by_yogi", "initial_accumulator_value", o.initial_accumulator_value);
  return {[o](const Params& p) {
            State s{{"count", make_count(p)}};
            put_slot(s, "mu", full_like_params(p, o.initial_accumulator_value));
            put_slot(s, "nu", full_like_params(p, o.initial_accumulator_value));
            return s;
          },
          [o](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_yogi";
            Tensor t = add(get_tensor(op, s, "count"), 1);
            Params mu = map_params(op, u, get_slot(op, s, "mu", u),
                                   [&](const Tensor& g, const Tensor& m) { return update_moment(g, m, o.b1, 1); });
            Params nu = map_params(op, u, get_slot(op, s, "nu", u), [&](const Tensor& g, const Tensor& v) {
              Tensor g2 = square(as_dtype(g, v.dtype()));
              return sub(v, mul(mul(sign(sub(v, g2)), g2), 1 - o.b2));
            });
            Params out = map_params(op, mu, nu, [&](const Tensor& m, const Tensor& v) {
              Tensor mh = bias_correction(m, o.b1, t), vh = bias_correction(v, o.b2, t);
              return div(mh, add(sqrt(add(vh, o.eps_root)), o.eps));
            });
            State ns{{"count", t}};
            put_slot(ns, "mu", mu);
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_rss(double initial_accumulator_value, double eps) {
  check_non_negative("scale_by_rss", "initial_accumulator_value", initial_accumulator_value);
  check_non_negative("scale_by_rss", "eps", eps);
  return {[=](const Params& p) {
            State s;
            put_slot(s, "sum_of_squares", full_like_params(p, initial_accumulator_value));
            return s;
          },
          [=](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_rss";
            Params ss = map_params(op, u, get_slot(op, s, "sum_of_squares", u),
                                   [&](const Tensor& g, const Tensor& z) { return add(square(as_dtype(g, z.dtype())), z); });
            Params out = map_params(op, u, ss, [&](const Tensor& g, const Tensor& z) {
              Tensor inv = where(gt(z, 0.0), rsqrt(add(z, eps)), 0.0);
              return mul(as_dtype(g, z.dtype()), inv);
            });
            State ns;
            put_slot(ns, "sum_of_squares", ss);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_rms(double initial_scale, double decay, double eps) {
  check_rms("scale_by_rms", initial_scale, decay, eps);
  return {[=](const Params& p) {
            State s;
            put_slot(s, "nu", full_like_params(p, initial_scale));
            return s;
          },
          [=](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_rms";
            Params nu = map_params(op, u, get_slot(op, s, "nu", u),
                                   [&](const Tensor& g, const Tensor& v) { return update_moment(g, v, decay, 2); });
            Params out = map_params(op, u, nu, [&](const Tensor& g, const Tensor& v) {
              return mul(as_dtype(g, v.dtype()), rsqrt(add(v, eps)));
            });
            State ns;
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation scale_by_stddev(double initial_scale, double decay, double eps) {
  check_rms("scale_by_stddev", initial_scale, decay, eps);
  return {[=](const Params& p) {
            State s;
            put_slot(s, "mu", full_like_params(p, 0));
            put_slot(s, "nu", full_like_params(p, initial_scale));
            return s;
          },
          [=](const Params& u, const State& s, const Params&) {
            const char* op = "scale_by_stddev";
            Params mu = map_params(op, u, get_slot(op, s, "mu", u),
                                   [&](const Tensor& g, const Tensor& m) { return update_moment(g, m, decay, 1); });
            Params nu = map_params(op, u, get_slot(op, s, "nu", u),
                                   [&](const Tensor& g, const Tensor& v) { return update_moment(g, v, decay, 2); });
            Params mn = map_params(op, mu, nu, [](const Tensor& m, const Tensor& v) { return sub(v, square(m)); });
            Params out = map_params(op, u, mn, [&](const Tensor& g, const Tensor& d) {
              return mul(as_dtype(g, d.dtype()), rsqrt(add(d, eps)));
            });
            State ns;
            put_slot(ns, "mu", mu);
            put_slot(ns, "nu", nu);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation trace(double decay, bool nesterov) {
  check_fraction("trace", "decay", decay);
  return {[](const Params& p) {
            State s;
            put_slot(s, "trace", full_like_params(p, 0));
            return s;
          },
          [=](const Params& u, const State& s, const Params&) {
            const char* op = "trace";
            Params tr = map_params(op, u, get_slot(op, s, "trace", u), [&](const Tensor& g, const Tensor& t) {
              return add(as_dtype(g, t.dtype()), mul(t, decay));
            });
            Params out = nesterov ? map_params(op, u, tr, [&](const Tensor& g, const Tensor& t) {
              return add(as_dtype(g, t.dtype()), mul(t, decay));
            })
                                  : tr;
            State ns;
            put_slot(ns, "trace", tr);
            return Pair{std::move(out), std::move(ns)};
          }};
}

GradientTransformation clip(double delta) {
  check_non_negative("clip", "delta", delta);
  return stateless([=](const Params& u, const Params&) {
    return map_params(u, [&](const Tensor& t) { return clamp(t, -delta, delta); });
  });
}

GradientTransformation clip_by_global_norm(double max_norm) {
  check_positive("clip_by_global_norm", "max_norm", max_norm);
  return stateless([=](const Params& u, const Params&) {
    Tensor total;
    for (const auto& [l, m] : u)
      for (const auto& [n, t] : m) {
        Tensor s = sum(square(cast(t, moment_dtype(t.dtype()))));
        total = total.defined() ? add(total, as_dtype(s, total.dtype())) : s;
      }
    if (!total.defined()) return u;
    Tensor g_norm = sqrt(total);
    Tensor factor = where(lt(g_norm, max_norm), ones_like(g_norm), rdiv(max_norm, g_norm));
    return map_params(u, [&](const Tensor& t) { return mul(t, as_dtype(factor, t.dtype())); });
  });
}

GradientTransformation centralize() {
  return stateless([](const Params& u, const Params&) {
    return map_params(u, [](const Tensor& t) {
      if (t.dim() <= 1) return t;
      Axes axes;
      for (int64_t a = 1; a < t.dim(); ++a) axes.push_back(a);
      return sub(t, mean(t, axes, true));
    });
  });
}

GradientTransformation add_decayed_weights(double decay) {
  check_finite("add_decayed_weights", "decay", decay);  // fromage adds a negative decay
  return stateless([=](const Params& u, const Params& p) {
    if (decay == 0.0) return u;
    return map_params("add_decayed_weights", u, p, [&](const Tensor& g, const Tensor& w) {
      return add(g, mul(as_dtype(w, g.dtype()), decay));
    });
  });
}

namespace {
// ‖x‖, clamped below at min_norm.
Tensor safe_norm(const Tensor& x, double min_norm) {
  Tensor n = norm(x);
  return min_norm > 0 ? clamp(n, min_norm, std::nullopt) : n;
}
}  // namespace

GradientTransformation scale_by_trust_ratio(double min_norm, double trust_coefficient, double eps) {
  check_non_negative("scale_by_trust_ratio", "min_norm", min_norm);
  check_finite("scale_by_trust_ratio", "trust_coefficient", trust_coefficient);
  check_non_negative("scale_by_trust_ratio", "eps", eps);
  return stateless([=](const Params& u, const Params& p) {
    return map_params("scale_by_trust_ratio", u, p, [&](const Tensor& g, const Tensor& w) {
      Tensor pn = safe_norm(as_dtype(w, g.dtype()), min_norm), un = safe_norm(g, min_norm);
      Tensor ratio = mul(div(pn, add(un, eps)), trust_coefficient);
      Tensor zero = logical_or(eq(pn, 0.0), eq(un, 0.0));
      return mul(g, where(zero, ones_like(ratio), ratio));
    });
  });
}

GradientTransformation add_noise(uint64_t seed, double eta, double gamma) {
  check_non_negative("add_noise", "eta", eta);
  check_non_negative("add_noise", "gamma", gamma);
  return {[=](const Params& p) {
            return State{{"count", make_count(p)},
                         {"seed", scalar_tensor(static_cast<int64_t>(seed), DType::i64, params_device(p))}};
          },
          [=](const Params& u, const State& s, const Params&) {
            const char* op = "add_noise";
            const Tensor& count = get_tensor(op, s, "count");
            const Tensor& seed_t = get_tensor(op, s, "seed");
            // The generator needs the seed and step on the host: one sync per update.
            int64_t step = count.to(Device::cpu()).item<int64_t>();
            Generator gen(static_cast<uint64_t>(seed_t.to(Device::cpu()).item<int64_t>()));
            gen.offset = static_cast<uint64_t>(step) << 32;  // every step draws from its own range
            // σ² = eta/(t+1)^gamma (variance, as in the paper), t counted from 0.
            double sigma = std::sqrt(eta / std::pow(double(step + 1), gamma));
            Params out = map_params(u, [&](const Tensor& g) {
              DType dt = is_floating(g.dtype()) ? g.dtype() : DType::f32;
              return add(g, normal(g.shape(), 0.0, sigma, gen, dt, g.device()));
            });
            return Pair{std::move(out), State{{"count", add(count, 1)}, {"seed", seed_t}}};
          }};
}

GradientTransformation accumulate_gradients(GradientTransformation inner, int64_t steps) {
  AXON_CHECK(steps >= 1, "accumulate_gradients", "steps must be at least 1, got {}", steps);
  return {[inner](const Params& p) {
            State s = {{"mini_step", make_count(p)}};
            put_slot(s, "acc", full_like_params(p, 0));
            merge_state(s, "inner", inner.init(p));
            return s;
          },
          [inner, steps](const Params& u, const State& s, const Params& p) {
            const char* op = "accumulate_gradients";
            Tensor mini = add(get_tensor(op, s, "mini_step"), 1);
            Tensor emit = ge(mini, Scalar(steps));  // 0-d bool on the device
            Params acc = map_params(op, u, get_slot(op, s, "acc", u),
                                    [&](const Tensor& g, const Tensor& a) { return add(a, as_dtype(g, a.dtype())); });
            Params avg = map_params(acc, [&](const Tensor& a) { return div(a, double(steps)); });
            State inner_old = sub_state(s, "inner");
            auto [iu, is] = inner.update(avg, inner_old, p);
            Params out = map_params(op, iu, u, [&](const Tensor& x, const Tensor& g) {
              return where(emit, x, zeros_like(x));
            });
            State ns{{"mini_step", where(emit, zeros_like(mini), mini)}};
            put_slot(ns, "acc", map_params(acc, [&](const Tensor& a) { return where(emit, zeros_like(a), a); }));
            State kept;
            for (const auto& [k, v] : is) {
              auto old = inner_old.find(k);
              kept[k] = old == inner_old.end() ? v : where(emit, v, old->second);
            }
            merge_state(ns, "inner", kept);
            return Pair{std::move(out), std::move(ns)};
          }};
}

}  // namespace axon::optim
