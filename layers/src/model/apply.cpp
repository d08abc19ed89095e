// apply / predict: the graph evaluated in topological order on the functional layers.
#include "graph.hpp"
#include "predict_plan.hpp"

#include <algorithm>

#include <axon/out.hpp>

namespace axon {

namespace {

std::string list_names(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back("\"" + n + "\"");
  return fmt::format("{}", fmt::join(q, ", "));
}

void check_input(const std::string& name, const Shape& declared, const Tensor& t) {
  AXON_CHECK(t.defined(), "apply", "input \"{}\" is an undefined tensor", name);
  bool ok = t.dim() == static_cast<int64_t>(declared.size());
  for (size_t d = 0; ok && d < declared.size(); ++d) ok = declared[d] == -1 || declared[d] == t.shape()[d];
  AXON_CHECK(ok, "apply", "input \"{}\" is declared with shape {} (-1: any size) but got {}", name,
             to_string(declared), describe(t));
}

// This layer's parameters, after checking that each one the layer declares is there with its shape.
const ParamMap& layer_params(const Params& params, const std::string& layer, const detail::Node& node) {
  static const ParamMap none;
  if (node.params.empty()) return none;
  auto it = params.find(layer);
  AXON_CHECK(it != params.end(), "apply", "no parameters for layer \"{}\" ({}); params come from init(model)",
             layer, node.op);
  for (const auto& spec : node.params) {
    auto p = it->second.find(spec.name);
    AXON_CHECK(p != it->second.end() && p->second.defined(), "apply",
               "layer \"{}\" ({}) has no parameter \"{}\"; params come from init(model)", layer, node.op, spec.name);
    AXON_CHECK(p->second.shape() == spec.shape, "apply", "parameter \"{}\" of layer \"{}\" ({}) should be {}, got {}",
               spec.name, layer, node.op, to_string(spec.shape), describe(p->second));
  }
  return it->second;
}

}  // namespace

ForwardResult apply(const Model& model, const Params& params, const std::map<std::string, Tensor>& inputs,
                    const ForwardOptions& o) {
  const auto& g = detail::graph_of(model, "apply");
  const auto names = model.input_names();
  for (const auto& n : names)
    AXON_CHECK(inputs.count(n), "apply", "missing input \"{}\"; the model's inputs are {}", n, list_names(names));
  for (const auto& [n, t] : inputs)
    AXON_CHECK(std::find(names.begin(), names.end(), n) != names.end(), "apply",
               "unknown input \"{}\"; the model's inputs are {}", n, list_names(names));

  const size_t n = g.nodes.size();
  // Remaining consumers of each value, so intermediate tensors are released after their last use.
  std::vector<int> uses(n, 0);
  for (const auto& node : g.nodes)
    for (const auto& in : node->inputs) ++uses[g.position.at(in.get())];
  std::vector<Tensor> values(n);
  Generator& gen = o.generator != nullptr ? *o.generator : default_generator();
  ForwardResult result;
  for (size_t i = 0; i < n; ++i) {
    const auto& node = *g.nodes[i];
    const std::string& name = g.names[i];
    if (node.op == "input") {
      const Tensor& t = inputs.at(name);
      check_input(name, node.shape, t);
      values[i] = t;
      continue;
    }
    std::vector<Tensor> args;
    for (const auto& in : node.inputs) {
      const size_t p = g.position.at(in.get());
      args.push_back(values[p]);
      if (--uses[p] == 0 && p + 1 != n) values[p] = Tensor();
    }
    const ParamMap& own = layer_params(params, name, node);
    const ParamMap tied = node.ties.empty() ? ParamMap{} : detail::with_ties(node, name, own, params);
    const ParamMap& stored = node.ties.empty() ? own : tied;
    ParamMap cast_params;
    if (node.precision) {
      detail::precision_inputs(node, args);
      cast_params = detail::precision_params(node, stored);
    }
    if (const FusedActivation act = detail::fused_activation(g, i, uses[i]); act != FusedActivation::none) {
      try {
        values[i + 1] = detail::fused_forward(node, args, stored, act);
      } catch (const Error& e) {
        throw Error(fmt::format("{} [in layer \"{}\" ({})]", e.what(), name, node.op), e.file(), e.line());
      }
      --uses[i];
      ++i;  // the activation node's value is set
      continue;
    }
    ForwardContext ctx{o.mode, &gen, name, {}};
    try {
      values[i] = node.forward(args, node.precision ? cast_params : stored, ctx);
    } catch (const Error& e) {
      throw Error(fmt::format("{} [in layer \"{}\" ({})]", e.what(), name, node.op), e.file(), e.line());
    }
    if (node.precision) {
      values[i] = detail::precision_output(node, values[i]);
      detail::precision_state(stored, ctx.state);
    }
    if (o.mode == Mode::train && !ctx.state.empty()) result.state[name] = std::move(ctx.state);
  }
  result.output = values.back();
  return result;
}

ForwardResult apply(const Model& model, const Params& params, const Tensor& input, const ForwardOptions& o) {
  const auto names = model.input_names();
  AXON_CHECK(names.size() == 1, "apply",
             "the model has {} inputs ({}); pass a map of input name -> tensor", names.size(), list_names(names));
  return apply(model, params, std::map<std::string, Tensor>{{names[0], input}}, o);
}

Tensor predict(const Model& model, const Params& params, const Tensor& input, const PredictOptions& o) {
  // The per-time-step call of an embedding code: one input, one pass, through a compiled plan.
  if (o.batch_size >= 0 && input.defined() && input.dim() > 0 && (o.batch_size == 0 || input.shape()[0] <= o.batch_size)) {
    NoGrad ng;
    if (auto y = detail::predict_planned(model, params, input, o.out)) return *y;
  }
  const auto names = model.input_names();
  AXON_CHECK(names.size() == 1, "predict",
             "the model has {} inputs ({}); pass a map of input name -> tensor", names.size(), list_names(names));
  return predict(model, params, std::map<std::string, Tensor>{{names[0], input}}, o);
}

Tensor predict(const Model& model, const Params& params, const std::map<std::string, Tensor>& inputs,
               const PredictOptions& o) {
  NoGrad ng;
  AXON_CHECK(o.batch_size >= 0, "predict", "batch_size must be non-negative (0: one pass), got {}", o.batch_size);
  auto finish = [&](Tensor y) { return o.out.defined() ? copy_into(o.out, y) : y; };
  // The inputs' rows: batching splits them alike, so they must agree once there is more than a batch.
  int64_t rows = -1;
  std::string rows_differ;
  for (const auto& [name, t] : inputs) {
    if (!t.defined() || t.dim() == 0) return finish(apply(model, params, inputs, {}).output);  // apply() says what is wrong
    if (rows >= 0 && t.shape()[0] != rows && rows_differ.empty())
      rows_differ = fmt::format("{} has {}, another {}", name, t.shape()[0], rows);
    rows = std::max(rows, t.shape()[0]);
  }
  if (o.batch_size == 0 || rows <= o.batch_size) {
    if (inputs.size() == 1)
      if (auto y = detail::predict_planned(model, params, inputs.begin()->second, o.out)) return *y;
    return finish(apply(model, params, inputs, {}).output);
  }
  AXON_CHECK(rows_differ.empty(), "predict",
             "inputs have different numbers of rows ({}): batches of {} need the same; pass batch_size = 0 for one pass",
             rows_differ, o.batch_size);

  Tensor result;
  for (int64_t start = 0; start < rows; start += o.batch_size) {
    const int64_t n = std::min(o.batch_size, rows - start);
    std::map<std::string, Tensor> batch;
    for (const auto& [name, t] : inputs) batch.emplace(name, t.narrow(0, start, n));
    Tensor y = apply(model, params, batch, {}).output;
    AXON_CHECK(y.dim() > 0 && y.shape()[0] == n, "predict",
               "the model's output {} does not have one row per input row ({} rows in this batch), so it cannot "
               "be computed in batches: pass batch_size = 0",
               describe(y), n);
    if (!result.defined()) {
      Shape full = y.shape();
      full[0] = rows;
      if (o.out.defined()) {
        AXON_CHECK(o.out.shape() == full && o.out.dtype() == y.dtype() && o.out.device() == y.device(), "predict",
                   "the output tensor {} does not match the result: shape {}, dtype {} on {}", describe(o.out),
                   to_string(full), dtype_name(y.dtype()), y.device().str());
        result = o.out;
      } else {
        result = empty(full, y.dtype(), y.device());
      }
    }
    copy_into(result.narrow(0, start, n), y);
  }
  return result;
}

}  // namespace axon

namespace axon::detail {

FusedActivation fused_activation(const Graph& g, size_t i, int uses) {
  if (uses != 1 || i + 1 >= g.nodes.size()) return FusedActivation::none;
  const auto &node = *g.nodes[i], &next = *g.nodes[i + 1];
  if (node.precision || next.precision) return FusedActivation::none;
  if (!node.forward.target<DenseForward>() && !node.forward.target<ConvForward>()) return FusedActivation::none;
  if (next.inputs.size() != 1 || next.inputs[0].get() != &node) return FusedActivation::none;
  const auto* act = next.forward.target<ActivationForward>();
  return act != nullptr ? act->fused() : FusedActivation::none;
}

Tensor fused_forward(const Node& node, const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation) {
  if (const auto* dense = node.forward.target<DenseForward>()) return dense->fused(in, p, activation);
  return node.forward.target<ConvForward>()->fused(in, p, activation);
}

}  // namespace axon::detail
