// Mixed precision policies: creation, printing, cast(), apply_policy, and the casts apply() runs
// around a layer that carries a policy.
#include "graph.hpp"

#include <algorithm>

#include <axon/ops.hpp>

namespace axon {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::optional<DType> field(const Policy& p, PolicyPart which) {
  switch (which) {
    case PolicyPart::params: return p.params;
    case PolicyPart::compute: return p.compute;
    case PolicyPart::output: return p.output;
  }
  return std::nullopt;
}

// A f32-kept layer raises 16-bit floats only: f64 stays f64, integers stay integers.
Tensor upcast(const Tensor& x) {
  return x.defined() && (x.dtype() == DType::bf16 || x.dtype() == DType::f16) ? axon::cast(x, DType::f32) : x;
}

const detail::Node* find_node(const Model& model, const std::string& layer, const char* op) {
  const auto& g = detail::graph_of(model, op);
  auto it = g.by_name.find(layer);
  AXON_CHECK(it != g.by_name.end(), op, "the model has no layer \"{}\"", layer);
  return g.nodes[it->second].get();
}

}  // namespace

Policy create_policy(const Policy& fields) {
  for (auto [name, dt] : {std::pair{"params", fields.params}, std::pair{"compute", fields.compute},
                          std::pair{"output", fields.output}})
    AXON_CHECK(!dt || is_floating(*dt), "create_policy", "{} must be a floating dtype, got {}", name,
               dtype_name(*dt));
  return fields;
}

std::string to_string(const Policy& p) {
  std::vector<std::string> parts;
  if (p.params) parts.push_back(fmt::format("params={}", dtype_name(*p.params)));
  if (p.compute) parts.push_back(fmt::format("compute={}", dtype_name(*p.compute)));
  if (p.output) parts.push_back(fmt::format("output={}", dtype_name(*p.output)));
  return fmt::format("Policy({})", fmt::join(parts, ", "));
}

std::ostream& operator<<(std::ostream& os, const Policy& p) { return os << to_string(p); }

Tensor cast(const Policy& policy, const Tensor& x, PolicyPart which) {
  const std::optional<DType> to = field(policy, which);
  if (!to || !is_floating(*to) || !x.defined() || !is_floating(x.dtype())) return x;
  return axon::cast(x, *to);
}

ParamMap cast(const Policy& policy, const ParamMap& xs, PolicyPart which) {
  ParamMap out;
  for (const auto& [k, t] : xs) out.emplace(k, cast(policy, t, which));
  return out;
}

Params cast(const Policy& policy, const Params& xs, PolicyPart which) {
  Params out;
  for (const auto& [k, m] : xs) out.emplace(k, cast(policy, m, which));
  return out;
}

const std::vector<std::string>& f32_ops() {
  static const std::vector<std::string> ops = {"batch_norm", "instance_norm", "layer_norm", "group_norm",
                                               "rms_norm",   "softmax",       "log_softmax", "log_sumexp"};
  return ops;
}

Model apply_policy(const Model& model, const Policy& policy, const PolicyFilter& f) {
  detail::graph_of(model, "apply_policy");
  const Policy p = create_policy(policy);
  return detail::map_nodes(model, [&](detail::Node& node, const std::string& name) {
    bool selected = (f.only.empty() || contains(f.only, node.op)) && !contains(f.except, node.op) &&
                    (!f.predicate || f.predicate(name, node.op));
    const bool f32_op = contains(f32_ops(), node.op);
    const bool asked = contains(f.only, node.op) || static_cast<bool>(f.predicate) || !f.keep_f32_ops;
    if (f32_op && !asked) {
      if (!node.precision) node.precision = detail::Node::Precision{{}, true};
      return;
    }
    if (selected) node.precision = detail::Node::Precision{p, false};
  });
}

std::optional<Policy> policy_of(const Model& model, const std::string& layer) {
  const detail::Node* n = find_node(model, layer, "policy_of");
  if (!n->precision || n->precision->f32) return std::nullopt;
  return n->precision->policy;
}

bool kept_in_f32(const Model& model, const std::string& layer) {
  const detail::Node* n = find_node(model, layer, "kept_in_f32");
  return n->precision && n->precision->f32;
}

namespace detail {

void precision_inputs(const Node& node, std::vector<Tensor>& inputs) {
  for (auto& x : inputs) x = node.precision->f32 ? upcast(x) : cast(node.precision->policy, x, PolicyPart::compute);
}

ParamMap precision_params(const Node& node, const ParamMap& stored) {
  ParamMap out;
  for (const auto& [k, t] : stored)
    out.emplace(k, node.precision->f32 ? upcast(t) : cast(node.precision->policy, t, PolicyPart::compute));
  return out;
}

Tensor precision_output(const Node& node, const Tensor& output) {
  return node.precision->f32 ? output : cast(node.precision->policy, output, PolicyPart::output);
}

void precision_state(const ParamMap& stored, ParamMap& state) {
  for (auto& [k, t] : state) {
    auto it = stored.find(k);
    if (it != stored.end() && t.defined() && is_floating(t.dtype()) && is_floating(it->second.dtype()))
      t = axon::cast(t, it->second.dtype());
  }
}

DType param_dtype(const Node& node, DType fallback) {
  if (!node.precision || node.precision->f32 || !node.precision->policy.params) return fallback;
  return *node.precision->policy.params;
}

}  // namespace detail

}  // namespace axon
