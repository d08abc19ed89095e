// Axon v0.7's block: one subgraph, traced once, called on many inputs with one
// set of parameters.
#include "graph.hpp"

namespace axon {

using detail::NodeBuild;

namespace detail {

// The traced subgraph, shared by every call's node.
struct BlockInner {
  Model model;
  std::vector<Shape> shapes;                  // the traced inputs "subgraph<i>"
  std::vector<std::pair<size_t, std::string>> feeds;  // (argument, inner input name) the model uses
  struct Entry {
    std::string flat, layer, param;
  };
  std::vector<Entry> entries;
  std::vector<ParamSpec> specs;  // named by `flat`
  std::string layers;            // the summary's option
};

struct BlockState {
  int64_t id = 0;
  std::string name;
  std::function<Model(const std::vector<Model>&)> fn;
  std::shared_ptr<const BlockInner> inner;  // set by the first call
};

}  // namespace detail

namespace {

std::shared_ptr<const detail::BlockInner> trace(const detail::BlockState& s, const std::vector<Shape>& shapes) {
  const std::string who = s.name.empty() ? std::string("block") : fmt::format("block \"{}\"", s.name);
  auto inner = std::make_shared<detail::BlockInner>();
  inner->shapes = shapes;
  std::vector<Model> args;
  for (size_t i = 0; i < shapes.size(); ++i) args.push_back(input("subgraph" + std::to_string(i), shapes[i]));
  try {
    inner->model = s.fn(args);
  } catch (const Error& e) {
    throw Error(fmt::format("{} [building the subgraph of {}]", e.what(), who), e.file(), e.line());
  }
  AXON_CHECK(inner->model.defined(), who, "the function returned an empty Model");
  const detail::Graph& g = inner->model.graph();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const detail::Node& n = *g.nodes[i];
    const std::string& layer = g.names[i];
    if (n.op == "input") {
      size_t k = 0;
      while (k < args.size() && args[k].graph().nodes.back().get() != &n) ++k;
      AXON_CHECK(k < args.size(), who,
                 "the subgraph uses input \"{}\", which is not one of the block's arguments: a block may only "
                 "build on the Models it is given",
                 layer);
      inner->feeds.emplace_back(k, layer);
      continue;
    }
    if (!inner->layers.empty()) inner->layers += ", ";
    inner->layers += layer;
    if (g.by_name.at(layer) != i || n.params.empty()) continue;  // a nested block's parameters once
    AXON_CHECK(layer.find('/') == std::string::npos, who,
               "inner layer \"{}\": names inside a block may not contain '/' (parameter files split at it)", layer);
    for (const auto& p : n.params) {
      ParamSpec spec = p;
      spec.name = layer + "." + p.name;
      inner->entries.push_back({spec.name, layer, p.name});
      inner->specs.push_back(std::move(spec));
    }
  }
  return inner;
}

}  // namespace

Block block(std::function<Model(const std::vector<Model>&)> fn, BlockOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "block", "the function is empty");
  Block b;
  b.state_ = std::make_shared<detail::BlockState>();
  b.state_->id = detail::next_id();
  b.state_->name = std::move(o.name);
  b.state_->fn = std::move(fn);
  return b;
}

Block block(std::function<Model(const Model&)> fn, BlockOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "block", "the function is empty");
  return block(
      [fn = std::move(fn)](const std::vector<Model>& xs) {
        AXON_CHECK(xs.size() == 1, "block", "this block takes one input, got {}", xs.size());
        return fn(xs[0]);
      },
      std::move(o));
}

Model Block::operator()(const Model& x) const { return (*this)(std::vector<Model>{x}); }

Model Block::operator()(const std::vector<Model>& inputs) const {
  AXON_CHECK(state_ != nullptr, "block", "the block is empty (a default-constructed Block)");
  detail::BlockState& s = *state_;
  AXON_CHECK(!inputs.empty(), "block", "a block needs at least one input");
  std::vector<Shape> shapes;
  for (const auto& m : inputs) shapes.push_back(detail::graph_of(m, "block").output().shape);
  if (!s.inner) s.inner = trace(s, shapes);
  std::shared_ptr<const detail::BlockInner> inner = s.inner;
  return detail::make_node("block", inputs, s.name, [&](NodeBuild& b) {
    AXON_CHECK(shapes.size() == inner->shapes.size(), b.who, "the block was built for {} inputs, got {}",
               inner->shapes.size(), shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      bool ok = shapes[i].size() == inner->shapes[i].size();
      for (size_t d = 0; ok && d < shapes[i].size(); ++d) ok = inner->shapes[i][d] == -1 || inner->shapes[i][d] == shapes[i][d];
      AXON_CHECK(ok, b.who, "input {} has shape {}, but the block was built for {} (-1: any size) at its first call", i,
                 to_string(shapes[i]), to_string(inner->shapes[i]));
    }
    b.node.block_inner = inner->model;
    b.node.params = inner->specs;
    b.node.shape = inner->model.output_shape();
    b.node.options = {{"layers", inner->layers}};
    b.node.forward = [inner](const std::vector<Tensor>& xs, const ParamMap& p, ForwardContext& ctx) {
      Params params;
      for (const auto& e : inner->entries) {
        auto it = p.find(e.flat);
        if (it != p.end()) params[e.layer][e.param] = it->second;
      }
      std::map<std::string, Tensor> feed;
      for (const auto& [k, name] : inner->feeds) feed[name] = xs[k];
      ForwardResult r = apply(inner->model, params, feed, {.mode = ctx.mode, .generator = ctx.generator});
      for (auto& [layer, entries] : r.state)
        for (auto& [name, t] : entries) ctx.state[layer + "." + name] = std::move(t);
      return r.output;
    };
  }, s.id);
}

Model Block::inner() const { return state_ && state_->inner ? state_->inner->model : Model(); }

}  // namespace axon
