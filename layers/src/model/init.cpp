// Parameter creation (init) and the trainable / state split of a parameter map.
#include "graph.hpp"

#include <axon/initializers.hpp>

namespace axon {

namespace {

// splitmix64's finalizer: a bijective mix, so distinct keys give distinct, well-spread seeds.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// The stream of one parameter depends on the seed and "layer.param" only (Axon folds
// md5("layer.param") into its key), not on the order the layers are visited in.
uint64_t param_seed(uint64_t seed, const std::string& layer, const std::string& param) {
  return mix(seed ^ mix(fnv1a(layer + "." + param)));
}

Tensor by_name(const std::string& who, const std::string& name, const Shape& s, DType dt, Device dev,
               Generator& gen, bool cf) {
  namespace I = initializers;
  if (name == "zeros") return I::zeros(s, {.dtype = dt, .device = dev});
  if (name == "ones") return I::ones(s, {.dtype = dt, .device = dev});
  if (name == "identity") return I::identity(s, {.dtype = dt, .device = dev});
  if (name == "uniform") return I::uniform(s, {.dtype = dt, .device = dev, .generator = &gen});
  if (name == "normal") return I::normal(s, {.dtype = dt, .device = dev, .generator = &gen});
  const I::ScaleOptions so{.dtype = dt, .device = dev, .generator = &gen, .channels_first = cf};
  if (name == "lecun_uniform") return I::lecun_uniform(s, so);
  if (name == "lecun_normal") return I::lecun_normal(s, so);
  if (name == "glorot_uniform") return I::glorot_uniform(s, so);
  if (name == "glorot_normal") return I::glorot_normal(s, so);
  const I::HeOptions ho{.dtype = dt, .device = dev, .generator = &gen, .channels_first = cf};
  if (name == "he_uniform") return I::he_uniform(s, ho);
  if (name == "he_normal") return I::he_normal(s, ho);
  if (name == "variance_scaling")
    return I::variance_scaling(s, {.dtype = dt, .device = dev, .generator = &gen, .channels_first = cf});
  if (name == "orthogonal") return I::orthogonal(s, {.dtype = dt, .device = dev, .generator = &gen});
  AXON_FAIL(who,
            "unknown initializer \"{}\"; valid names: zeros, ones, identity, uniform, normal, lecun_uniform, "
            "lecun_normal, glorot_uniform, glorot_normal, he_uniform, he_normal, variance_scaling, orthogonal",
            name);
}

const ParamSpec* find_spec(const Model& model, const std::string& layer, const std::string& name) {
  const auto& g = detail::graph_of(model, "is_state");
  auto it = g.by_name.find(layer);
  if (it == g.by_name.end()) return nullptr;
  for (const auto& p : g.nodes[it->second]->params)
    if (p.name == name) return &p;
  return nullptr;
}

Params filter(const Model& model, const Params& all, bool state) {
  Params out;
  for (const auto& [layer, entries] : all)
    for (const auto& [name, t] : entries)
      if (is_state(model, layer, name) == state) out[layer][name] = t;
  return out;
}

}  // namespace

Params init(const Model& model, const InitOptions& o) {
  const auto& g = detail::graph_of(model, "init");
  AXON_CHECK(is_floating(o.dtype), "init", "parameters must be floating, got {}", dtype_name(o.dtype));
  Params out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& node = *g.nodes[i];
    const std::string& layer = g.names[i];
    if (g.by_name.at(layer) != i) continue;  // a later call of a block: its parameters are the first's
    const DType dtype = detail::param_dtype(node, o.dtype);  // a mixed precision policy's `params`
    for (const auto& p : node.params) {
      Generator gen(param_seed(o.seed, layer, p.name));
      const std::string who = fmt::format("init: {} ({}) parameter \"{}\"", layer, node.op, p.name);
      Tensor t = p.initializer.fn ? p.initializer.fn(p.shape, dtype, o.device, gen)
                                  : by_name(who, p.initializer.name, p.shape, dtype, o.device, gen, p.channels_first);
      AXON_CHECK(t.defined() && t.shape() == p.shape, who, "the initializer \"{}\" gave {} for shape {}",
                 p.initializer.name, t.defined() ? describe(t) : std::string("an undefined tensor"),
                 to_string(p.shape));
      if (t.dtype() != dtype) t = t.to(dtype);
      if (!(t.device() == o.device)) t = t.to(o.device);
      out[layer][p.name] = t;
    }
  }
  return out;
}

bool is_state(const Model& model, const std::string& layer, const std::string& name) {
  const ParamSpec* p = find_spec(model, layer, name);
  return p != nullptr && p->state;
}

Params trainable_params(const Model& model, const Params& all) { return filter(model, all, false); }
Params state_params(const Model& model, const Params& all) { return filter(model, all, true); }

Params merge_params(const Params& a, const Params& b) {
  Params out = a;
  for (const auto& [layer, entries] : b)
    for (const auto& [name, t] : entries) out[layer][name] = t;
  return out;
}

int64_t parameter_count(const Model& model) {
  int64_t n = 0;
  const auto& g = detail::graph_of(model, "parameter_count");
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.by_name.at(g.names[i]) == i)  // a block's parameters once, however often it is called
      for (const auto& p : g.nodes[i]->params) n += numel(p.shape);
  return n;
}

}  // namespace axon
