// Graph manipulation: inspection, map_nodes, rewrite_nodes, pop_node, capture and tie; freezing and
// parameter files checked against a model.
#include "graph.hpp"

#include <algorithm>
#include <set>

#include <axon/ops.hpp>

namespace axon {

using detail::Graph;
using detail::Node;
using detail::NodePtr;

namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back("\"" + n + "\"");
  return fmt::format("{}", fmt::join(q, ", "));
}

size_t find_layer(const Graph& g, const std::string& layer, const char* op) {
  auto it = g.by_name.find(layer);
  AXON_CHECK(it != g.by_name.end(), op, "the model has no layer \"{}\"; its layers are {}", layer,
             quoted_list(std::vector<std::string>(g.names.begin(), g.names.end())));
  return it->second;
}

const ParamSpec* find_spec(const Node& n, const std::string& name) {
  for (const auto& p : n.params)
    if (p.name == name) return &p;
  return nullptr;
}

std::string spec_names(const Node& n) {
  std::vector<std::string> names;
  for (const auto& p : n.params) names.push_back(p.name);
  return names.empty() ? std::string("none") : quoted_list(names);
}

// Same rank, and every dim equal where both are known.
bool fits(const Shape& got, const Shape& want) {
  if (got.size() != want.size()) return false;
  for (size_t d = 0; d < got.size(); ++d)
    if (got[d] != want[d] && got[d] != -1 && want[d] != -1) return false;
  return true;
}

NodeView view_of(const Graph& g, size_t i) {
  const Node& n = *g.nodes[i];
  NodeView v;
  v.name = g.names[i];
  v.op = n.op;
  for (const auto& in : n.inputs) v.inputs.push_back(g.name_of(in.get()));
  v.output_shape = n.shape;
  v.params = n.params;
  v.options = n.options;
  v.forward = n.forward;
  return v;
}

// A copy of n with a fresh id (so copies made in order keep the order), these inputs, and its
// name fixed.
std::shared_ptr<Node> pinned_copy(const Node& n, std::vector<NodePtr> inputs, const std::string& name) {
  auto c = std::make_shared<Node>(n);
  c->id = detail::next_id();
  c->inputs = std::move(inputs);
  c->user_name = name;
  c->pinned = true;
  return c;
}

std::vector<NodePtr> remap(const Graph& g, const Node& n, const std::vector<NodePtr>& out) {
  std::vector<NodePtr> ins;
  for (const auto& in : n.inputs) ins.push_back(out[g.position.at(in.get())]);
  return ins;
}

// Every node of g copied with its name fixed, by position; inputs stay shared (their names are
// explicit) unless "{n}" in the name makes it depend on the graph.
std::vector<NodePtr> pinned_copies(const Graph& g) {
  std::vector<NodePtr> out(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = *g.nodes[i];
    const bool keep = n.op == "input" && (n.pinned || n.user_name.find("{n}") == std::string::npos);
    out[i] = keep ? g.nodes[i] : pinned_copy(n, remap(g, n, out), g.names[i]);
  }
  return out;
}

void check_param_specs(const std::vector<ParamSpec>& specs, const std::string& who) {
  std::set<std::string> seen;
  for (const auto& p : specs) {
    AXON_CHECK(!p.name.empty() && seen.insert(p.name).second, who,
               "parameter names must be non-empty and unique, got \"{}\" twice or empty", p.name);
    for (int64_t d : p.shape)
      AXON_CHECK(d > 0, who, "parameter \"{}\" has shape {}: its dims must be known and positive", p.name,
                 to_string(p.shape));
  }
}

}  // namespace

// ---- inspection

std::map<std::string, Shape> get_inputs(const Model& model) {
  detail::graph_of(model, "get_inputs");
  return model.input_shapes();
}

Shape get_output_shape(const Model& model, const std::map<std::string, Shape>& inputs, const OutputShapeOptions& o) {
  const char* op = "get_output_shape";
  const Graph& g = detail::graph_of(model, op);
  const auto declared = model.input_shapes();
  for (const auto& [name, shape] : declared)
    AXON_CHECK(inputs.count(name), op, "missing input \"{}\"; the model's inputs are {}", name,
               quoted_list(model.input_names()));
  std::map<std::string, DType> dtypes;
  for (const auto& node : g.nodes)
    if (node->op == "embedding" && node->inputs.at(0)->op == "input")
      dtypes[g.name_of(node->inputs[0].get())] = DType::i64;
  for (const auto& [name, dt] : o.input_dtypes) dtypes[name] = dt;
  std::map<std::string, Tensor> feed;
  for (const auto& [name, shape] : inputs) {
    auto d = declared.find(name);
    AXON_CHECK(d != declared.end(), op, "unknown input \"{}\"; the model's inputs are {}", name,
               quoted_list(model.input_names()));
    bool ok = fits(shape, d->second);
    for (int64_t v : shape) ok = ok && v > 0;
    AXON_CHECK(ok, op, "input \"{}\" is declared with shape {} (-1: any size); got {}, which does not fit or has unknown dims",
               name, to_string(d->second), to_string(shape));
    auto dt = dtypes.find(name);
    feed[name] = zeros(shape, dt == dtypes.end() ? DType::f32 : dt->second);
  }
  NoGrad ng;
  Params params;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = *g.nodes[i];
    for (const auto& p : n.params) {
      const DType dt = detail::param_dtype(n, DType::f32);
      params[g.names[i]][p.name] = !p.initializer.fn && p.initializer.name == "ones" ? ones(p.shape, dt) : zeros(p.shape, dt);
    }
  }
  return apply(model, params, feed).output.shape();
}

Shape get_output_shape(const Model& model, const Shape& input, const OutputShapeOptions& o) {
  detail::graph_of(model, "get_output_shape");
  const auto names = model.input_names();
  AXON_CHECK(names.size() == 1, "get_output_shape", "the model has {} inputs ({}); pass a map of input name -> shape",
             names.size(), quoted_list(names));
  return get_output_shape(model, std::map<std::string, Shape>{{names[0], input}}, o);
}

std::map<std::string, int64_t> get_op_counts(const Model& model) {
  std::map<std::string, int64_t> out;
  for (const auto& n : detail::graph_of(model, "get_op_counts").nodes) ++out[n->op];
  return out;
}

std::map<std::string, std::string> properties(const Model& model) {
  const Graph& g = detail::graph_of(model, "properties");
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) out.emplace(g.names[i], g.nodes[i]->op);
  return out;
}

std::vector<ParamSpec> get_parameters(const Model& model) { return detail::graph_of(model, "get_parameters").output().params; }
std::vector<ParamSpec> get_parameters(const Model& model, const std::string& layer) {
  const Graph& g = detail::graph_of(model, "get_parameters");
  return g.nodes[find_layer(g, layer, "get_parameters")]->params;
}
std::vector<std::pair<std::string, std::string>> get_options(const Model& model) {
  return detail::graph_of(model, "get_options").output().options;
}
std::vector<std::pair<std::string, std::string>> get_options(const Model& model, const std::string& layer) {
  const Graph& g = detail::graph_of(model, "get_options");
  return g.nodes[find_layer(g, layer, "get_options")]->options;
}

// ---- rewriting

Model map_nodes(const Model& model, const std::function<NodeView(NodeView)>& fn) {
  const Graph& g = detail::graph_of(model, "map_nodes");
  AXON_CHECK(static_cast<bool>(fn), "map_nodes", "the function is empty");
  const size_t count = g.nodes.size();
  // Every view first, so that a renamed layer's new name reaches the ties that refer to it.
  std::vector<NodeView> views;
  std::map<std::string, std::string> renamed;
  std::map<int64_t, std::string> block_names;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = *g.nodes[i];
    NodeView before = view_of(g, i);
    NodeView v = fn(before);
    const std::string who = fmt::format("map_nodes: {} ({})", g.names[i], n.op);
    AXON_CHECK(v.inputs == before.inputs, who, "a node's inputs cannot change (rewrite_nodes replaces nodes)");
    AXON_CHECK(v.output_shape == before.output_shape, who,
               "the output shape cannot change ({} -> {}): the layers after it were sized for it",
               to_string(before.output_shape), to_string(v.output_shape));
    AXON_CHECK(!v.name.empty(), who, "the new name is empty");
    if (n.op == "input") {
      AXON_CHECK(v.op == "input" && v.params.empty() && !v.forward && v.options == before.options,
                 who, "only an input's name can change");
    } else {
      AXON_CHECK(!v.op.empty() && v.op != "input", who, "op name \"{}\" is reserved or empty", v.op);
      AXON_CHECK(static_cast<bool>(v.forward), who, "the forward function is empty");
      check_param_specs(v.params, who);
    }
    if (n.shared >= 0) {
      auto [it, fresh] = block_names.emplace(n.shared, v.name);
      AXON_CHECK(fresh || it->second == v.name, who,
                 "the calls of a block share one name and one set of parameters; got \"{}\" and \"{}\"", it->second,
                 v.name);
    }
    if (v.name != g.names[i]) renamed[g.names[i]] = v.name;
    views.push_back(std::move(v));
  }
  std::vector<NodePtr> out(count);
  for (size_t i = 0; i < count; ++i) {
    const Node& n = *g.nodes[i];
    NodeView& v = views[i];
    if (n.op == "input" && v.name == g.names[i] && n.user_name.find("{n}") == std::string::npos) {
      out[i] = g.nodes[i];
      continue;
    }
    auto c = pinned_copy(n, remap(g, n, out), v.name);
    // Changed beyond its name, a node no longer is what its builder made: a model file saves it as
    // a custom layer (a new forward is seen by its type, a lambda of the caller's).
    bool same = v.op == n.op && v.options == n.options && v.params.size() == n.params.size() &&
                v.forward.target_type() == n.forward.target_type();
    for (size_t k = 0; same && k < n.params.size(); ++k)
      same = v.params[k].name == n.params[k].name && v.params[k].shape == n.params[k].shape;
    if (!same) c->spec.clear();
    c->op = v.op;
    if (n.op != "input") {
      c->params = std::move(v.params);
      c->options = std::move(v.options);
      c->forward = std::move(v.forward);
      for (auto& t : c->ties)
        if (renamed.count(t.source_layer)) t.source_layer = renamed[t.source_layer];
    }
    out[i] = std::move(c);
  }
  return Model(detail::make_graph(out.back()));
}

Model rewrite_nodes(const Model& model, const std::function<std::optional<Rewriter>(const NodeView&)>& fn) {
  const Graph& g = detail::graph_of(model, "rewrite_nodes");
  AXON_CHECK(static_cast<bool>(fn), "rewrite_nodes", "the function is empty");
  std::vector<NodePtr> out(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = *g.nodes[i];
    std::vector<NodePtr> ins = remap(g, n, out);
    // The kept node under its own name, whatever the rewrites before it added.
    NodePtr self = n.op == "input" ? g.nodes[i] : pinned_copy(n, ins, g.names[i]);
    std::optional<Rewriter> r = fn(view_of(g, i));
    if (!r) {
      out[i] = std::move(self);
      continue;
    }
    const std::string who = fmt::format("rewrite_nodes: {} ({})", g.names[i], n.op);
    AXON_CHECK(static_cast<bool>(*r), who, "the rewriter is empty");
    std::vector<Model> in_models;
    for (const auto& p : ins) in_models.emplace_back(detail::make_graph(p));
    Model replaced;
    try {
      replaced = (*r)(in_models, Model(detail::make_graph(self)));
    } catch (const Error& e) {
      throw Error(fmt::format("{} [rewriting layer \"{}\" ({})]", e.what(), g.names[i], n.op), e.file(), e.line());
    }
    AXON_CHECK(replaced.defined(), who, "the rewriter returned an empty Model");
    AXON_CHECK(fits(replaced.output_shape(), n.shape), who,
               "the replacement's output shape {} does not fit the node's {}, which the layers after it were sized for",
               to_string(replaced.output_shape()), to_string(n.shape));
    out[i] = replaced.graph().nodes.back();
  }
  return Model(detail::make_graph(out.back()));
}

PoppedNode pop_node(const Model& model) {
  const Graph& g = detail::graph_of(model, "pop_node");
  AXON_CHECK(g.output().op != "input", "pop_node", "the model is the input \"{}\" alone: there is no node to pop",
             g.names.back());
  const std::vector<NodePtr> copies = pinned_copies(g);
  PoppedNode r{view_of(g, g.nodes.size() - 1), {}};
  for (const auto& in : g.output().inputs) r.parents.emplace_back(detail::make_graph(copies[g.position.at(in.get())]));
  return r;
}

Model capture(const Model& model, const std::string& layer) {
  const Graph& g = detail::graph_of(model, "capture");
  const size_t end = find_layer(g, layer, "capture");
  Model m(detail::make_graph(pinned_copies(g)[end]));
  for (const auto& n : m.graph().nodes)
    for (const auto& t : n->ties)
      AXON_CHECK(m.graph().by_name.count(t.source_layer), "capture",
                 "layer \"{}\" takes its parameter \"{}\" from layer \"{}\", which is not before \"{}\"",
                 m.graph().name_of(n.get()), t.param, t.source_layer, layer);
  return m;
}

Model capture(const Model& model, const std::string& layer, const std::map<std::string, Model>& new_inputs) {
  Model m = capture(model, layer);
  const auto declared = m.input_shapes();
  for (const auto& [name, x] : new_inputs) {
    auto d = declared.find(name);
    AXON_CHECK(d != declared.end(), "capture", "\"{}\" is not an input of the model up to \"{}\"; its inputs are {}",
               name, layer, quoted_list(m.input_names()));
    const Shape s = detail::graph_of(x, "capture").output().shape;
    AXON_CHECK(fits(s, d->second), "capture", "input \"{}\" is declared with shape {}; the Model given for it gives {}",
               name, to_string(d->second), to_string(s));
  }
  return rewrite_nodes(m, [&](const NodeView& v) -> std::optional<Rewriter> {
    if (v.op != "input" || !new_inputs.count(v.name)) return std::nullopt;
    Model x = new_inputs.at(v.name);
    return [x](const std::vector<Model>&, const Model&) { return x; };
  });
}

Model tie(const Model& model, const std::string& layer, const std::string& param, const std::string& source_layer,
          const std::string& source_param, TieOptions o) {
  const char* op = "tie";
  const Graph& g = detail::graph_of(model, op);
  const Node& d = *g.nodes[find_layer(g, layer, op)];
  const Node& s = *g.nodes[find_layer(g, source_layer, op)];
  const ParamSpec* dp = find_spec(d, param);
  const ParamSpec* sp = find_spec(s, source_param);
  AXON_CHECK(dp != nullptr, op, "layer \"{}\" ({}) has no parameter \"{}\" of its own; it has {}", layer, d.op, param,
             spec_names(d));
  AXON_CHECK(sp != nullptr, op, "layer \"{}\" ({}) has no parameter \"{}\" of its own; it has {}", source_layer, s.op,
             source_param, spec_names(s));
  AXON_CHECK(!dp->state && !sp->state, op, "state entries cannot be tied ({}.{} <- {}.{})", layer, param, source_layer,
             source_param);
  AXON_CHECK(&d != &s || param != source_param, op, "{}.{} cannot be tied to itself", layer, param);
  Shape from = sp->shape;
  if (o.transpose) {
    AXON_CHECK(from.size() == 2, op, "transpose needs a 2-d source; {}.{} has shape {}", source_layer, source_param,
               to_string(from));
    std::swap(from[0], from[1]);
  }
  AXON_CHECK(from == dp->shape, op, "{}.{} has shape {} but {}.{}{} gives {}", layer, param, to_string(dp->shape),
             source_layer, source_param, o.transpose ? " transposed" : "", to_string(from));
  return detail::map_nodes(model, [&](Node& n, const std::string& name) {
    if (name != layer) return;
    n.params.erase(std::remove_if(n.params.begin(), n.params.end(), [&](const ParamSpec& p) { return p.name == param; }),
                   n.params.end());
    n.ties.push_back({param, source_layer, source_param, o.transpose});
    n.options.emplace_back("tied", fmt::format("{} <- {}.{}{}", param, source_layer, source_param,
                                               o.transpose ? " (transposed)" : ""));
  });
}

namespace detail {

ParamMap with_ties(const Node& node, const std::string& layer, const ParamMap& own, const Params& all) {
  ParamMap out = own;
  for (const auto& t : node.ties) {
    auto l = all.find(t.source_layer);
    const Tensor* src = nullptr;
    if (l != all.end()) {
      auto p = l->second.find(t.source_param);
      if (p != l->second.end() && p->second.defined()) src = &p->second;
    }
    AXON_CHECK(src != nullptr, "apply", "layer \"{}\" ({}) takes its \"{}\" from layer \"{}\", whose \"{}\" is not in the params",
               layer, node.op, t.param, t.source_layer, t.source_param);
    out[t.param] = t.transpose ? src->t() : *src;
  }
  return out;
}

}  // namespace detail

// ---- freezing

FrozenParams freeze(FrozenParams frozen, const Params& params, const ParamPredicate& which) {
  for (const auto& [layer, entries] : params)
    for (const auto& [name, t] : entries)
      if (!which || which(layer, name)) frozen.entries_.emplace(layer, name);
  return frozen;
}

FrozenParams freeze(const Params& params, const ParamPredicate& which) { return freeze(FrozenParams{}, params, which); }

FrozenParams freeze(const Model& model, const ParamPredicate& which) {
  const Graph& g = detail::graph_of(model, "freeze");
  Params skeleton;  // names only
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& p : g.nodes[i]->params)
      if (!p.state) skeleton[g.names[i]][p.name] = Tensor();
  return freeze(FrozenParams{}, skeleton, which);
}

FrozenParams unfreeze(FrozenParams frozen, const ParamPredicate& which) {
  for (auto it = frozen.entries_.begin(); it != frozen.entries_.end();)
    it = !which || which(it->first, it->second) ? frozen.entries_.erase(it) : std::next(it);
  return frozen;
}

Params frozen_params(const Params& params, const FrozenParams& frozen) {
  Params out;
  for (const auto& [layer, entries] : params)
    for (const auto& [name, t] : entries)
      if (frozen(layer, name)) out[layer][name] = t;
  return out;
}

Params trainable_params(const Model& model, const Params& all, const FrozenParams& frozen) {
  Params out;
  for (const auto& [layer, entries] : trainable_params(model, all))
    for (const auto& [name, t] : entries)
      if (!frozen(layer, name)) out[layer][name] = t;
  return out;
}

// ---- checked parameters

void check_params(const Model& model, const Params& params, const CheckParamsOptions& o) {
  const char* op = "check_params";
  const Graph& g = detail::graph_of(model, op);
  std::optional<DType> common = o.dtype;
  std::string common_from = o.dtype ? "the dtype asked for" : "";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = *g.nodes[i];
    const std::string& layer = g.names[i];
    if (g.by_name.at(layer) != i) continue;  // a later call of a block
    if (!n.params.empty()) {
      auto it = params.find(layer);
      AXON_CHECK(it != params.end(), op, "no parameters for layer \"{}\" ({}), which has {}", layer, n.op,
                 spec_names(n));
      for (const auto& spec : n.params) {
        auto p = it->second.find(spec.name);
        AXON_CHECK(p != it->second.end() && p->second.defined(), op, "layer \"{}\" ({}) has no parameter \"{}\"", layer,
                   n.op, spec.name);
        const Tensor& t = p->second;
        AXON_CHECK(t.shape() == spec.shape, op, "parameter \"{}\" of layer \"{}\" ({}) should have shape {}, got {}",
                   spec.name, layer, n.op, to_string(spec.shape), describe(t));
        const bool policy = n.precision && !n.precision->f32 && n.precision->policy.params;
        if (policy) {
          const DType want = *n.precision->policy.params;
          AXON_CHECK(t.dtype() == want, op,
                     "parameter \"{}\" of layer \"{}\" ({}) should be {} (its mixed precision policy), got {}",
                     spec.name, layer, n.op, dtype_name(want), describe(t));
          continue;
        }
        AXON_CHECK(is_floating(t.dtype()), op, "parameter \"{}\" of layer \"{}\" ({}) should be floating, got {}",
                   spec.name, layer, n.op, describe(t));
        if (!common) {
          common = t.dtype();
          common_from = fmt::format("\"{}\" of layer \"{}\"", spec.name, layer);
        }
        AXON_CHECK(t.dtype() == *common, op, "parameter \"{}\" of layer \"{}\" ({}) is {} but {} is {}", spec.name,
                   layer, n.op, dtype_name(t.dtype()), common_from, dtype_name(*common));
      }
    }
    for (const auto& t : n.ties) {
      auto l = params.find(t.source_layer);
      AXON_CHECK(l != params.end() && l->second.count(t.source_param), op,
                 "layer \"{}\" ({}) takes its \"{}\" from layer \"{}\", whose \"{}\" is not in the params", layer, n.op,
                 t.param, t.source_layer, t.source_param);
    }
  }
  if (o.allow_extra) return;
  for (const auto& [layer, entries] : params) {
    auto it = g.by_name.find(layer);
    AXON_CHECK(it != g.by_name.end(), op, "the params have entries for layer \"{}\", which the model does not have",
               layer);
    const Node& n = *g.nodes[it->second];
    for (const auto& [name, t] : entries)
      AXON_CHECK(find_spec(n, name) != nullptr, op,
                 "the params have an entry \"{}\" for layer \"{}\" ({}), which has no such parameter (it has {})", name,
                 layer, n.op, spec_names(n));
  }
}

Params select_params(const Model& model, const Params& params) {
  const Graph& g = detail::graph_of(model, "select_params");
  Params out;
  for (const auto& [layer, entries] : params) {
    auto it = g.by_name.find(layer);
    if (it == g.by_name.end()) continue;
    for (const auto& [name, t] : entries)
      if (find_spec(*g.nodes[it->second], name)) out[layer][name] = t;
  }
  return out;
}

void save_params(const Model& model, const std::string& path, const Params& params, const Metadata& metadata) {
  check_params(model, params, {.allow_extra = true});
  save_params(path, select_params(model, params), metadata);
}

Params load_params(const Model& model, const std::string& path, const LoadParamsOptions& o) {
  detail::graph_of(model, "load_params");
  Params p = load_params(path, o.device);
  try {
    check_params(model, p, {.dtype = o.dtype, .allow_extra = o.allow_extra});
  } catch (const Error& e) {
    throw Error(fmt::format("{} [loading \"{}\"]", e.what(), path), e.file(), e.line());
  }
  return o.allow_extra ? select_params(model, p) : p;
}

}  // namespace axon
