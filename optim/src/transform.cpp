#include <axon/ops.hpp>
#include <axon/optim/transform.hpp>

namespace axon::optim {

namespace {

std::string param_name(const std::string& layer, const std::string& name) {
  return layer.empty() ? name : layer + "/" + name;
}

// Calls f on each pair of matching tensors after checking that a and b hold the same parameters
// with the same shapes on the same devices: nothing may broadcast one into the other's shape.
// Dtypes may differ (moments are f32 for 16-bit parameters; updates are cast to the parameter's).
void for_matching(const char* op, const Params& a, const char* a_name, const Params& b, const char* b_name,
                  const std::function<void(const std::string&, const std::string&, const Tensor&, const Tensor&)>& f) {
  size_t nb = 0;
  for (const auto& [l, m] : b) nb += m.size();
  size_t na = 0;
  for (const auto& [l, m] : a) {
    auto bl = b.find(l);
    AXON_CHECK(bl != b.end(), op, "{} have layer \"{}\" but {} do not", a_name, l, b_name);
    for (const auto& [n, t] : m) {
      auto bt = bl->second.find(n);
      const std::string name = param_name(l, n);
      AXON_CHECK(bt != bl->second.end(), op, "{} have parameter \"{}\" but {} do not", a_name, name, b_name);
      const Tensor& u = bt->second;
      AXON_CHECK(t.defined() && u.defined(), op, "parameter \"{}\" is undefined in {}", name,
                 t.defined() ? b_name : a_name);
      AXON_CHECK(t.shape() == u.shape() && t.device() == u.device(), op,
                 "parameter \"{}\": {} hold {} but {} hold {} (shapes and devices must match exactly)", name,
                 a_name, describe(t), b_name, describe(u));
      f(l, n, t, u);
      ++na;
    }
  }
  AXON_CHECK(na == nb, op, "{} and {} hold different parameters ({} and {} tensors)", a_name, b_name, na, nb);
}

Params map_matching(const char* op, const Params& a, const char* a_name, const Params& b, const char* b_name,
                    const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
  Params out;
  for (const auto& [l, m] : a) out[l];  // layers without parameters keep their place
  for_matching(op, a, a_name, b, b_name,
               [&](const std::string& l, const std::string& n, const Tensor& x, const Tensor& y) {
                 out[l].emplace(n, f(x, y));
               });
  return out;
}

}  // namespace

GradientTransformation chain(std::vector<GradientTransformation> members) {
  auto ms = std::make_shared<std::vector<GradientTransformation>>(std::move(members));
  GradientTransformation t;
  t.init = [ms](const Params& params) {
    State s;
    for (size_t i = 0; i < ms->size(); ++i) merge_state(s, std::to_string(i), (*ms)[i].init(params));
    return s;
  };
  t.update = [ms](const Params& grads, const State& state, const Params& params) {
    check_grads_match_params("optimizer.update", grads, params);
    Params u = grads;
    State out;
    for (size_t i = 0; i < ms->size(); ++i) {
      auto key = std::to_string(i);
      auto [nu, ns] = (*ms)[i].update(u, sub_state(state, key), params);
      u = std::move(nu);
      merge_state(out, key, ns);
    }
    return std::pair<Params, State>{std::move(u), std::move(out)};
  };
  return t;
}

GradientTransformation identity() {
  return {[](const Params&) { return State{}; },
          [](const Params& g, const State& s, const Params&) { return std::pair<Params, State>{g, s}; }};
}

GradientTransformation stateless(std::function<Params(const Params&, const Params&)> apply) {
  return {[](const Params&) { return State{}; },
          [apply = std::move(apply)](const Params& g, const State& s, const Params& p) {
            return std::pair<Params, State>{apply(g, p), s};
          }};
}

GradientTransformation stateful(InitFn init, UpdateFn apply) { return {std::move(init), std::move(apply)}; }

Params apply_updates(const Params& params, const Params& updates) {
  return map_matching("apply_updates", params, "the parameters", updates, "the updates",
                      [](const Tensor& p, const Tensor& u) { return add(p, u.dtype() == p.dtype() ? u : cast(u, p.dtype())); });
}

Params as_params(const std::vector<Tensor>& tensors) {
  ParamMap m;
  for (size_t i = 0; i < tensors.size(); ++i) {
    // Zero-padded so the map's order is the vector's order.
    auto k = std::to_string(i);
    m.emplace(std::string(8 - std::min<size_t>(8, k.size()), '0') + k, tensors[i]);
  }
  return Params{{"", std::move(m)}};
}
Params as_params(const ParamMap& map) { return Params{{"", map}}; }
std::vector<Tensor> to_vector(const Params& params) {
  std::vector<Tensor> out;
  for (const auto& [l, m] : params)
    for (const auto& [n, t] : m) out.push_back(t);
  return out;
}
ParamMap to_param_map(const Params& params) {
  auto it = params.find("");
  AXON_CHECK(params.size() == 1 && it != params.end(), "to_param_map",
             "expected the single unnamed layer that as_params(ParamMap) makes, got {} layers", params.size());
  return it->second;
}

Params map_params(const Params& a, const std::function<Tensor(const Tensor&)>& f) {
  Params out;
  for (const auto& [l, m] : a) {
    auto& om = out[l];
    for (const auto& [n, t] : m) om.emplace(n, f(t));
  }
  return out;
}

Params map_params(const char* op, const Params& a, const Params& b,
                  const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
  return map_matching(op, a, "the first argument's tensors", b, "the second argument's", f);
}

void check_grads_match_params(const char* op, const Params& grads, const Params& params) {
  if (params.empty()) return;
  for_matching(op, grads, "the gradients", params, "the parameters",
               [](const std::string&, const std::string&, const Tensor&, const Tensor&) {});
}

void put_slot(State& state, const std::string& key, const Params& slot) {
  for (const auto& [l, m] : slot)
    for (const auto& [n, t] : m) state[key + "/" + l + "/" + n] = t;
}

Params get_slot(const char* op, const State& state, const std::string& key, const Params& like) {
  Params out;
  for (const auto& [l, m] : like) {
    auto& om = out[l];
    for (const auto& [n, t] : m) om.emplace(n, get_tensor(op, state, key + "/" + l + "/" + n));
  }
  return out;
}

const Tensor& get_tensor(const char* op, const State& state, const std::string& key) {
  auto it = state.find(key);
  AXON_CHECK(it != state.end(), op, "the optimizer state has no entry \"{}\" (was it made by this "
             "transformation's init, for these parameters?)", key);
  return it->second;
}

State sub_state(const State& state, const std::string& prefix) {
  State out;
  std::string p = prefix + "/";
  for (auto it = state.lower_bound(p); it != state.end() && it->first.compare(0, p.size(), p) == 0; ++it)
    out.emplace(it->first.substr(p.size()), it->second);
  return out;
}

void merge_state(State& state, const std::string& prefix, const State& sub) {
  for (const auto& [k, v] : sub) state[prefix + "/" + k] = v;
}

Device params_device(const Params& params) {
  for (const auto& [l, m] : params)
    for (const auto& [n, t] : m)
      if (t.defined()) return t.device();
  return Device::cpu();
}

DType moment_dtype(DType param) { return param == DType::f64 ? DType::f64 : DType::f32; }

Params full_like_params(const Params& params, double value) {
  return map_params(params, [&](const Tensor& p) { return full(p.shape(), value, moment_dtype(p.dtype()), p.device()); });
}

Tensor make_count(const Params& params) { return zeros({}, DType::i64, params_device(params)); }

Tensor one_minus_pow(double b, const Tensor& t, DType dtype) {
  return neg(expm1(mul(cast(t, dtype), std::log(b))));
}

}  // namespace axon::optim
