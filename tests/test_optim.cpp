// Combinators and optimizers against float64 formulas written here in plain C++, over several steps.
#include <axon/optim.hpp>
#include <cmath>
#include <functional>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {

using Vec = std::vector<double>;
// Two tensors: "dense/kernel" [2, 3] (flat 0..5) and "out/bias" [4] (flat 6..9).
const std::vector<std::pair<int, int>> kSegs = {{0, 6}, {6, 10}};

Params make_params(const Vec& v, DType dt) {
  Params p;
  p["dense"]["kernel"] = from_vector(Vec(v.begin(), v.begin() + 6), {2, 3}).to(dt);
  p["out"]["bias"] = from_vector(Vec(v.begin() + 6, v.end()), {4}).to(dt);
  return p;
}
Vec flat(const Params& p) {
  Vec out;
  for (const auto& [l, m] : p)
    for (const auto& [n, t] : m) {
      auto v = t.to_vector<double>();
      out.insert(out.end(), v.begin(), v.end());
    }
  return out;
}
const Vec& p0() {
  static Vec v = test::random_values(10, -1, 1, 7);
  return v;
}
Vec grad_at(int k) { return test::random_values(10, -1, 1, 100 + k); }

// The f64 reference: (params, grads, step from 0) -> updates.
using Ref = std::function<Vec(const Vec& p, const Vec& g, int k)>;

void check_tx(const GradientTransformation& tx, Ref ref, DType dt = DType::f64, int steps = 5,
              std::function<Vec(int)> grads = grad_at) {
  test::Tol tol = dt == DType::f64 ? test::Tol{1e-9, 1e-12} : test::Tol{1e-4, 1e-6};
  Params p = make_params(p0(), dt);
  Vec pr = p0();
  State s = tx.init(p);
  for (int k = 0; k < steps; ++k) {
    INFO("step " << k << " " << dtype_name(dt));
    Vec g = grads(k);
    auto [u, s2] = tx.update(make_params(g, dt), s, p);
    Vec ur = ref(pr, g, k);
    Tensor ut = from_vector(flat(u), {10});
    test::check_close(ut, ur, {10}, tol);
    p = apply_updates(p, u);
    for (size_t i = 0; i < pr.size(); ++i) pr[i] += ur[i];
    s = s2;
  }
}
void check_both(const std::function<GradientTransformation()>& make, const std::function<Ref()>& ref, int steps = 5,
                std::function<Vec(int)> grads = grad_at) {
  for (DType dt : {DType::f64, DType::f32}) check_tx(make(), ref(), dt, steps, grads);
}

// Elementwise reference helper: f(g, i, k) over all elements.
Vec each(const Vec& g, const std::function<double(double, size_t)>& f) {
  Vec out(g.size());
  for (size_t i = 0; i < g.size(); ++i) out[i] = f(g[i], i);
  return out;
}

Ref adam_ref(double lr, double b1, double b2, double eps, double eps_root, double decay) {
  auto m = std::make_shared<Vec>(10, 0.0), v = std::make_shared<Vec>(10, 0.0);
  return [=](const Vec& p, const Vec& g, int k) {
    double t = k + 1;
    return each(g, [&](double gi, size_t i) {
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * gi;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * gi * gi;
      double mh = (*m)[i] / (1 - std::pow(b1, t)), vh = (*v)[i] / (1 - std::pow(b2, t));
      return -lr * (mh / (std::sqrt(vh + eps_root) + eps) + decay * p[i]);
    });
  };
}

}  // namespace

TEST_CASE("scale, scale_by_state and identity", "[optim]") {
  check_both([] { return scale(-0.5); }, [] { return Ref([](const Vec&, const Vec& g, int) { return each(g, [](double x, size_t) { return -0.5 * x; }); }); });
  check_both([] { return scale_by_state(3.0); }, [] { return Ref([](const Vec&, const Vec& g, int) { return each(g, [](double x, size_t) { return 3 * x; }); }); });
  check_both([] { return identity(); }, [] { return Ref([](const Vec&, const Vec& g, int) { return g; }); });
  // The scale lives in the state: changing it there changes the next update.
  auto tx = scale_by_state(2.0);
  Params p = make_params(p0(), DType::f64);
  State s = tx.init(p);
  REQUIRE(s.count("scale") == 1);
  s["scale"] = scalar_tensor(-4.0, DType::f32);
  auto [u, s2] = tx.update(p, s, p);
  test::check_close(from_vector(flat(u), {10}), each(p0(), [](double x, size_t) { return -4 * x; }), {10}, {1e-6, 1e-9});
}

TEST_CASE("scale_by_schedule evaluates the schedule at the step count from 0", "[optim]") {
  auto sched = schedules::cosine_decay(0.5, 4, 0.1);
  check_both([&] { return scale_by_schedule(sched); }, [] {
    return Ref([](const Vec&, const Vec& g, int k) {
      double th = M_PI * std::min(k, 4) / 4.0;
      double f = 0.5 * ((std::cos(th) + 1) / 2 * 0.9 + 0.1);
      return each(g, [&](double x, size_t) { return f * x; });
    });
  }, 6);
  // A host-only schedule (a plain lambda) gives the same values through a host read of the counter.
  Schedule host_only([](int64_t s) { return 1.0 + double(s); });
  check_both([&] { return scale_by_schedule(host_only); }, [] {
    return Ref([](const Vec&, const Vec& g, int k) { return each(g, [&](double x, size_t) { return (1.0 + k) * x; }); });
  });
}

TEST_CASE("adam and adamw: moments, bias correction and decoupled weight decay", "[optim]") {
  check_both([] { return scale_by_adam(); }, [] { return adam_ref(-1, 0.9, 0.999, 1e-8, 1e-15, 0); });
  check_both([] { return adam(1e-2, {.fused = Fused::never}); }, [] { return adam_ref(1e-2, 0.9, 0.999, 1e-8, 1e-15, 0); });
  check_both([] { return adam(0.1, {.b1 = 0.5, .b2 = 0.8, .eps = 1e-3, .eps_root = 1e-4, .fused = Fused::never}); },
             [] { return adam_ref(0.1, 0.5, 0.8, 1e-3, 1e-4, 0); });
  check_both([] { return adamw(5e-2, {.decay = 0.1, .fused = Fused::never}); },
             [] { return adam_ref(5e-2, 0.9, 0.999, 1e-8, 1e-15, 0.1); });
  // with a learning-rate schedule
  auto lr = schedules::exponential_decay(0.1, 0.5, 2);
  check_both([&] { return adamw(lr, {.decay = 0.1, .fused = Fused::never}); }, [] {
    auto inner = adam_ref(1, 0.9, 0.999, 1e-8, 1e-15, 0.1);
    return Ref([inner](const Vec& p, const Vec& g, int k) {
      double f = 0.1 * std::pow(0.5, k / 2.0);
      Vec u = inner(p, g, k);
      for (auto& x : u) x *= f;
      return u;
    });
  });
}

TEST_CASE("adabelief follows the paper's second moment of (g - m)", "[optim]") {
  check_both([] { return adabelief(1e-2); }, [] {
    auto m = std::make_shared<Vec>(10, 0.0), s = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int k) {
      double t = k + 1;
      return each(g, [&](double gi, size_t i) {
        (*m)[i] = 0.9 * (*m)[i] + 0.1 * gi;
        double e = gi - (*m)[i];
        (*s)[i] = 0.999 * (*s)[i] + 0.001 * e * e + 1e-16;
        double mh = (*m)[i] / (1 - std::pow(0.9, t)), sh = (*s)[i] / (1 - std::pow(0.999, t));
        return -1e-2 * mh / (std::sqrt(sh) + 0.0);
      });
    });
  });
}

TEST_CASE("radam: unrectified early steps, rectified once rho_t reaches the threshold", "[optim]") {
  check_both([] { return radam(1e-2); }, [] {
    auto m = std::make_shared<Vec>(10, 0.0), v = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int k) {
      double t = k + 1, b1 = 0.9, b2 = 0.999;
      double rinf = 2 / (1 - b2) - 1;  // the paper's rho_inf (with b2)
      double rt = rinf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
      return each(g, [&](double gi, size_t i) {
        (*m)[i] = b1 * (*m)[i] + (1 - b1) * gi;
        (*v)[i] = b2 * (*v)[i] + (1 - b2) * gi * gi;
        double mh = (*m)[i] / (1 - std::pow(b1, t)), vh = (*v)[i] / (1 - std::pow(b2, t));
        if (rt < 5.0) return -1e-2 * mh;
        double r = std::sqrt((rt - 4) * (rt - 2) * rinf / ((rinf - 4) * (rinf - 2) * rt));
        return -1e-2 * r * mh / (std::sqrt(vh) + 1e-8);
      });
    });
  }, 9);
}

TEST_CASE("yogi: additive second moment with the paper's defaults", "[optim]") {
  check_both([] { return yogi(1e-2); }, [] {
    auto m = std::make_shared<Vec>(10, 1e-6), v = std::make_shared<Vec>(10, 1e-6);
    return Ref([=](const Vec&, const Vec& g, int k) {
      double t = k + 1;
      return each(g, [&](double gi, size_t i) {
        (*m)[i] = 0.9 * (*m)[i] + 0.1 * gi;
        double g2 = gi * gi, d = (*v)[i] - g2;
        (*v)[i] = (*v)[i] - 0.001 * (d > 0 ? 1 : d < 0 ? -1 : 0) * g2;
        double mh = (*m)[i] / (1 - std::pow(0.9, t)), vh = (*v)[i] / (1 - std::pow(0.999, t));
        return -1e-2 * mh / (std::sqrt(vh) + 1e-3);
      });
    });
  });
}

TEST_CASE("adagrad (scale_by_rss), rmsprop plain / centred / with momentum", "[optim]") {
  check_both([] { return adagrad(0.1); }, [] {
    auto s = std::make_shared<Vec>(10, 0.1);
    return Ref([=](const Vec&, const Vec& g, int) {
      return each(g, [&](double gi, size_t i) {
        (*s)[i] += gi * gi;
        return -0.1 * gi / std::sqrt((*s)[i] + 1e-7);
      });
    });
  });
  check_both([] { return rmsprop(0.01); }, [] {
    auto v = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int) {
      return each(g, [&](double gi, size_t i) {
        (*v)[i] = 0.9 * (*v)[i] + 0.1 * gi * gi;
        return -0.01 * gi / std::sqrt((*v)[i] + 1e-8);
      });
    });
  });
  check_both([] { return rmsprop(0.01, {.decay = 0.8, .initial_scale = 0.5, .centered = true}); }, [] {
    auto m = std::make_shared<Vec>(10, 0.0), v = std::make_shared<Vec>(10, 0.5);
    return Ref([=](const Vec&, const Vec& g, int) {
      return each(g, [&](double gi, size_t i) {
        (*m)[i] = 0.8 * (*m)[i] + 0.2 * gi;
        (*v)[i] = 0.8 * (*v)[i] + 0.2 * gi * gi;
        return -0.01 * gi / std::sqrt((*v)[i] - (*m)[i] * (*m)[i] + 1e-8);
      });
    });
  });
  // momentum is a trace applied after the learning rate (Polaris' order)
  check_both([] { return rmsprop(0.01, {.momentum = 0.5, .nesterov = true}); }, [] {
    auto v = std::make_shared<Vec>(10, 0.0), tr = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int) {
      return each(g, [&](double gi, size_t i) {
        (*v)[i] = 0.9 * (*v)[i] + 0.1 * gi * gi;
        double u = -0.01 * gi / std::sqrt((*v)[i] + 1e-8);
        (*tr)[i] = u + 0.5 * (*tr)[i];
        return u + 0.5 * (*tr)[i];
      });
    });
  });
}

TEST_CASE("sgd plain, with momentum and nesterov (composite path)", "[optim]") {
  check_both([] { return sgd(0.1); }, [] { return Ref([](const Vec&, const Vec& g, int) { return each(g, [](double x, size_t) { return -0.1 * x; }); }); });
  for (bool nesterov : {false, true}) {
    check_both([&] { return sgd(0.1, {.momentum = 0.9, .nesterov = nesterov, .fused = Fused::never}); }, [&] {
      auto tr = std::make_shared<Vec>(10, 0.0);
      return Ref([=](const Vec&, const Vec& g, int) {
        return each(g, [&](double gi, size_t i) {
          (*tr)[i] = 0.9 * (*tr)[i] + gi;
          return -0.1 * (nesterov ? gi + 0.9 * (*tr)[i] : (*tr)[i]);
        });
      });
    });
  }
}

TEST_CASE("clip, clip_by_global_norm, centralize, add_decayed_weights", "[optim]") {
  check_both([] { return clip(0.3); }, [] {
    return Ref([](const Vec&, const Vec& g, int) { return each(g, [](double x, size_t) { return std::clamp(x, -0.3, 0.3); }); });
  });
  for (double max_norm : {0.5, 100.0}) {  // clipped and untouched
    check_both([&] { return clip_by_global_norm(max_norm); }, [&] {
      return Ref([=](const Vec&, const Vec& g, int) {
        double n = 0;
        for (double x : g) n += x * x;
        n = std::sqrt(n);
        return each(g, [&](double x, size_t) { return n < max_norm ? x : x * max_norm / n; });
      });
    });
  }
  check_both([] { return centralize(); }, [] {
    return Ref([](const Vec&, const Vec& g, int) {
      Vec u = g;  // the [2, 3] kernel: subtract each row's mean; the 1-D bias is untouched
      for (int r = 0; r < 2; ++r) {
        double m = (g[3 * r] + g[3 * r + 1] + g[3 * r + 2]) / 3;
        for (int c = 0; c < 3; ++c) u[3 * r + c] -= m;
      }
      return u;
    });
  });
  check_both([] { return add_decayed_weights(0.25); }, [] {
    return Ref([](const Vec& p, const Vec& g, int) { return each(g, [&](double x, size_t i) { return x + 0.25 * p[i]; }); });
  });
}

namespace {
double seg_norm(const Vec& v, std::pair<int, int> s) {
  double n = 0;
  for (int i = s.first; i < s.second; ++i) n += v[i] * v[i];
  return std::sqrt(n);
}
Vec trust(const Vec& p, const Vec& u, double min_norm = 0) {
  Vec out = u;
  for (auto s : kSegs) {
    double pn = std::max(seg_norm(p, s), min_norm), un = std::max(seg_norm(u, s), min_norm);
    double r = (pn == 0 || un == 0) ? 1 : pn / un;
    for (int i = s.first; i < s.second; ++i) out[i] *= r;
  }
  return out;
}
}  // namespace

TEST_CASE("scale_by_trust_ratio, lamb and fromage", "[optim]") {
  check_both([] { return scale_by_trust_ratio(); }, [] { return Ref([](const Vec& p, const Vec& g, int) { return trust(p, g); }); });
  check_both([] { return scale_by_trust_ratio(2.0); }, [] { return Ref([](const Vec& p, const Vec& g, int) { return trust(p, g, 2.0); }); });
  check_both([] { return lamb(0.01, {.decay = 0.1}); }, [] {
    auto a = adam_ref(-1, 0.9, 0.999, 1e-8, 1e-15, 0);
    return Ref([a](const Vec& p, const Vec& g, int k) {
      Vec u = a(p, g, k);
      for (size_t i = 0; i < u.size(); ++i) u[i] += 0.1 * p[i];
      u = trust(p, u);
      for (auto& x : u) x *= -0.01;
      return u;
    });
  });
  check_both([] { return fromage(0.1); }, [] {
    return Ref([](const Vec& p, const Vec& g, int) {
      double mult = 1 / std::sqrt(1 + 0.01);
      Vec u = trust(p, g);  // then p' = mult (p - lr g |p|/|g|)
      for (size_t i = 0; i < u.size(); ++i) u[i] = mult * (p[i] - 0.1 * u[i]) - p[i];
      return u;
    });
  });
  // a zero update keeps the ratio at 1 (no NaN)
  auto tx = scale_by_trust_ratio();
  Params p = make_params(p0(), DType::f64);
  auto [u, s] = tx.update(make_params(Vec(10, 0.0), DType::f64), tx.init(p), p);
  test::check_close(from_vector(flat(u), {10}), Vec(10, 0.0), {10}, {0, 0});
}

TEST_CASE("add_noise and noisy_sgd: seeded Gaussian noise with variance eta/(t+1)^gamma", "[optim]") {
  const int64_t n = 200000;
  Params p{{"l", {{"w", zeros({n}, DType::f64)}}}};
  auto tx = add_noise(42, 0.5, 0.55);
  State s = tx.init(p);
  for (int k = 0; k < 3; ++k) {
    auto [u, s2] = tx.update(p, s, p);
    auto v = u["l"]["w"].to_vector<double>();
    double mean = 0, sq = 0;
    for (double x : v) mean += x;
    mean /= n;
    for (double x : v) sq += (x - mean) * (x - mean);
    double sd = std::sqrt(sq / n), expect = std::sqrt(0.5 / std::pow(k + 1.0, 0.55));
    INFO("step " << k << " sd " << sd << " expected " << expect);
    CHECK(std::abs(mean) < 5 * expect / std::sqrt(double(n)));
    CHECK(std::abs(sd - expect) < 0.01 * expect);
    s = s2;
  }
  // the same seed gives the same noise; another seed other noise; successive steps differ
  auto a = add_noise(1).update(p, add_noise(1).init(p), p).first["l"]["w"].to_vector<double>();
  auto b = add_noise(1).update(p, add_noise(1).init(p), p).first["l"]["w"].to_vector<double>();
  auto c = add_noise(2).update(p, add_noise(2).init(p), p).first["l"]["w"].to_vector<double>();
  CHECK(a == b);
  CHECK(a != c);
  // noisy_sgd = −lr·g + noise: with eta tiny the noise is negligible
  check_both([] { return noisy_sgd(0.1, 1e-30); }, [] {
    return Ref([](const Vec&, const Vec& g, int) { return each(g, [](double x, size_t) { return -0.1 * x; }); });
  });
}

TEST_CASE("accumulate_gradients emits the inner update of the mean every `steps` calls", "[optim]") {
  check_both([] { return accumulate_gradients(sgd(0.1, {.momentum = 0.5, .fused = Fused::never}), 3); }, [] {
    auto acc = std::make_shared<Vec>(10, 0.0), tr = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int k) {
      for (size_t i = 0; i < 10; ++i) (*acc)[i] += g[i];
      if ((k + 1) % 3 != 0) return Vec(10, 0.0);
      Vec u(10);
      for (size_t i = 0; i < 10; ++i) {
        (*tr)[i] = 0.5 * (*tr)[i] + (*acc)[i] / 3;
        u[i] = -0.1 * (*tr)[i];
        (*acc)[i] = 0;
      }
      return u;
    });
  }, 7);
  AXON_REQUIRE_THROWS_WITH(accumulate_gradients(identity(), 0), "accumulate_gradients: steps must be at least 1");
}

TEST_CASE("chain composes in order and namespaces each member's state", "[optim]") {
  auto tx = chain({clip(0.5), trace(0.9), scale(-2.0)});
  Params p = make_params(p0(), DType::f64);
  State s = tx.init(p);
  CHECK(s.count("1/trace/dense/kernel") == 1);
  CHECK(s.count("1/trace/out/bias") == 1);
  CHECK(s.size() == 2);
  check_both([] { return chain({clip(0.5), trace(0.9), scale(-2.0)}); }, [] {
    auto tr = std::make_shared<Vec>(10, 0.0);
    return Ref([=](const Vec&, const Vec& g, int) {
      return each(g, [&](double x, size_t i) {
        (*tr)[i] = 0.9 * (*tr)[i] + std::clamp(x, -0.5, 0.5);
        return -2 * (*tr)[i];
      });
    });
  });
  // adam's state: counter on the parameters' device, moments in f32 for f32 parameters
  State as = adam(1e-3).init(make_params(p0(), DType::f32));
  REQUIRE(as.count("0/count") == 1);
  CHECK(as["0/count"].dtype() == DType::i64);
  CHECK(as["0/mu/dense/kernel"].dtype() == DType::f32);
  CHECK(as["1/scale"].item<double>() == -1e-3);
}

TEST_CASE("optimizer errors name the problem", "[optim][errors]") {
  Params p = make_params(p0(), DType::f32);
  auto tx = adam(1e-3, {.fused = Fused::never});
  State s = tx.init(p);
  AXON_REQUIRE_THROWS_WITH(tx.update(p, State{}, p), "scale_by_adam: the optimizer state has no entry \"count\"");
  Params other{{"dense", {{"kernel", zeros({2, 3})}}}};
  Params more = p;
  more["extra"]["w"] = zeros({1});
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, more),
                           "apply_updates: the parameters and the updates hold different parameters (2 and 3");
  AXON_REQUIRE_THROWS_WITH(apply_updates(other, Params{{"x", {}}}),
                           "apply_updates: the parameters have layer \"dense\" but the updates do not");
  Params grads = p;
  grads["extra"]["w"] = zeros({1});
  AXON_REQUIRE_THROWS_WITH(tx.update(grads, s, p),
                           "optimizer.update: the gradients have layer \"extra\" but the parameters do not");
  // Without parameters (optax's update(g, s)) the state is what is missing.
  AXON_REQUIRE_THROWS_WITH(tx.update(grads, s, Params{}),
                           "scale_by_adam: the optimizer state has no entry \"mu/extra/w\"");
}

TEST_CASE("flat adapters: vectors and ParamMaps as Params", "[optim]") {
  std::vector<Tensor> v;
  for (int i = 0; i < 12; ++i) v.push_back(full({2}, double(i), DType::f64));
  Params p = as_params(v);
  auto back = to_vector(p);
  REQUIRE(back.size() == 12);
  for (int i = 0; i < 12; ++i) CHECK(back[i].to_vector<double>()[0] == i);  // order kept past 10
  auto tx = sgd(0.5);
  auto [u, s] = tx.update(p, tx.init(p), p);
  auto np = to_vector(apply_updates(p, u));
  CHECK(np[11].to_vector<double>()[1] == Catch::Approx(5.5));
  ParamMap m{{"a", ones({3})}, {"b", zeros({1})}};
  CHECK(to_param_map(as_params(m)).size() == 2);
}
