// Model handles, graph construction and Axon's layer naming.
#include "spec.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

namespace axon {
namespace detail {

int64_t next_id() {
  static std::atomic<int64_t> counter{0};
  return counter++;
}

namespace {

// "<op>_<k>" with k counting the op's nodes in topological order (Axon's lazy names), or the user's
// name with "{n}" replaced by that count.
std::string resolve_name(const Node& n, int64_t k) {
  if (n.user_name.empty()) return fmt::format("{}_{}", n.op, k);
  std::string s = n.user_name;
  for (size_t p = s.find("{n}"); p != std::string::npos; p = s.find("{n}", p)) s.replace(p, 3, std::to_string(k));
  return s;
}

}  // namespace

std::shared_ptr<const Graph> make_graph(const NodePtr& output) {
  auto g = std::make_shared<Graph>();
  std::unordered_set<const Node*> seen;
  std::vector<NodePtr> stack{output};
  while (!stack.empty()) {
    NodePtr n = stack.back();
    stack.pop_back();
    if (!seen.insert(n.get()).second) continue;
    g->nodes.push_back(n);
    for (const auto& in : n->inputs) stack.push_back(in);
  }
  std::sort(g->nodes.begin(), g->nodes.end(), [](const NodePtr& a, const NodePtr& b) { return a->id < b->id; });
  std::set<std::string> pinned;
  for (const auto& n : g->nodes)
    if (n->pinned) pinned.insert(n->user_name);
  std::map<std::string, int64_t> counts;
  std::map<int64_t, std::string> shared_names;  // a block's calls share its name
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const Node& n = *g->nodes[i];
    std::string name;
    auto shared = n.shared >= 0 ? shared_names.find(n.shared) : shared_names.end();
    if (shared != shared_names.end()) {
      name = shared->second;
    } else if (n.pinned) {  // not counted: new layers are numbered after the kept ones
      name = n.user_name;
    } else {
      const bool lazy = n.user_name.empty() || n.user_name.find("{n}") != std::string::npos;
      do name = resolve_name(n, counts[n.op]++);
      while (lazy && pinned.count(name));
    }
    if (n.shared >= 0) shared_names.emplace(n.shared, name);
    auto [it, fresh] = g->by_name.emplace(name, i);
    AXON_CHECK(fresh || (n.shared >= 0 && g->nodes[it->second]->shared == n.shared), "model",
               "two layers are named \"{}\" ({} and {}); layer names must be unique", name, g->nodes[it->second]->op,
               n.op);
    g->names.push_back(std::move(name));
    g->position.emplace(&n, i);
  }
  return g;
}

const Graph& graph_of(const Model& m, const char* op) {
  AXON_CHECK(m.defined(), op, "the model is empty (a default-constructed Model)");
  return m.graph();
}

Model make_node(const std::string& op, const std::vector<Model>& inputs, const std::string& user_name,
                const std::function<void(NodeBuild&)>& infer, int64_t shared) {
  auto node = std::make_shared<Node>();
  node->op = op;
  node->user_name = user_name;
  node->shared = shared;
  std::vector<Shape> shapes;
  for (const auto& m : inputs) {
    const Graph& g = graph_of(m, op.c_str());
    node->inputs.push_back(g.nodes.back());
    shapes.push_back(g.output().shape);
  }
  node->id = next_id();
  auto graph = make_graph(node);
  NodeBuild b{*node, graph->names.back(), fmt::format("{} ({})", graph->names.back(), op), std::move(shapes)};
  infer(b);
  for (const auto& p : node->params)
    for (int64_t d : p.shape)
      AXON_CHECK(d > 0, b.who, "parameter \"{}\" would have shape {}: its dims must be known and positive",
                 p.name, to_string(p.shape));
  return Model(graph);
}

Model map_nodes(const Model& m, const std::function<void(Node& node, const std::string& name)>& f) {
  const Graph& g = graph_of(m, "map_nodes");
  std::unordered_map<const Node*, NodePtr> copies;
  for (size_t i = 0; i < g.nodes.size(); ++i) {  // by id, so the copies' fresh ids keep the order
    const NodePtr& n = g.nodes[i];
    if (n->op == "input") {
      copies.emplace(n.get(), n);
      continue;
    }
    auto c = std::make_shared<Node>(*n);
    c->id = next_id();
    for (auto& in : c->inputs) in = copies.at(in.get());
    f(*c, g.names[i]);
    copies.emplace(n.get(), std::move(c));
  }
  return Model(make_graph(copies.at(&g.output())));
}

Model with_activation(const Model& m, const std::string& fn) {
  return fn.empty() ? m : activation(m, fn);
}

}  // namespace detail

const detail::Graph& Model::graph() const {
  AXON_CHECK(graph_ != nullptr, "model", "the model is empty (a default-constructed Model)");
  return *graph_;
}
const std::string& Model::name() const { return graph().names.back(); }
const std::string& Model::op_name() const { return graph().output().op; }
Shape Model::output_shape() const { return graph().output().shape; }

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> out;
  const auto& g = graph();
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i]->op == "input") out.push_back(g.names[i]);
  return out;
}

std::map<std::string, Shape> Model::input_shapes() const {
  std::map<std::string, Shape> out;
  const auto& g = graph();
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i]->op == "input") out[g.names[i]] = g.nodes[i]->shape;
  return out;
}

std::vector<LayerInfo> Model::layers() const {
  std::vector<LayerInfo> out;
  const auto& g = graph();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& n = *g.nodes[i];
    LayerInfo info{g.names[i], n.op, {}, n.shape, n.params, n.options};
    for (const auto& in : n.inputs) info.inputs.push_back(g.name_of(in.get()));
    out.push_back(std::move(info));
  }
  return out;
}

Model operator|(const Model& x, const Layer& layer) {
  AXON_CHECK(static_cast<bool>(layer), "operator|", "the layer is empty");
  return layer(x);
}

Model input(const std::string& name, Shape shape, InputOptions o) {
  AXON_CHECK(!name.empty(), "input", "an input needs a name");
  AXON_CHECK(!o.optional, "input", "optional inputs are not supported (input \"{}\")", name);
  return detail::make_node("input", {}, name, [&](detail::NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("shape", shape).str();
    AXON_CHECK(!shape.empty(), b.who, "the shape must have rank >= 1");
    for (int64_t d : shape)
      AXON_CHECK(d == -1 || d > 0, b.who, "shape {}: dims must be positive or -1 (unknown)", to_string(shape));
    b.node.shape = shape;
    b.node.options = {{"shape", detail::show_shape(shape)}, {"optional", "false"}};
  });
}

std::ostream& operator<<(std::ostream& os, const Model& m) {
  const auto& g = detail::graph_of(m, "operator<<");
  std::vector<std::string> inputs;
  for (const auto& [name, shape] : m.input_shapes()) inputs.push_back(fmt::format("\"{}\": {}", name, detail::show_shape(shape)));
  return os << fmt::format("Model(inputs={{{}}}, output=\"{}\", nodes={})", fmt::join(inputs, ", "), m.name(),
                           g.nodes.size());
}

}  // namespace axon
