// save_model / load_model: the graph as JSON in a safetensors header's __metadata__, the parameters
// as the file's tensors (save_params' "layer/name" entries).
//
// The graph is a list of nodes in topological (creation) order; a node names its inputs by their
// index in that list, so a file cannot express a cycle or a forward reference. Each node holds the
// arguments its builder recorded (Node::spec), and load_model calls the same builder again, in the
// same order: the rebuilt layers get the same names, shapes, parameters and forward functions.
// Names, pins, mixed precision policies and ties are node fields set around the builder; a block
// call holds its traced subgraph (the first call of each block) as a nested graph. After the rebuild
// every node's name, op, output shape and parameter shapes are compared with the file's.
#include "model_file_internal.hpp"

#include <charconv>
#include <mutex>

#include <axon/io.hpp>

namespace axon {

namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, CustomLayerFactory>& registry() {
  static std::map<std::string, CustomLayerFactory> r;
  return r;
}

CustomLayerFactory find_factory(const std::string& op) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(op);
  return it == registry().end() ? CustomLayerFactory() : it->second;
}

std::string precision_json(const detail::Node::Precision& p) {
  detail::SpecWriter w;
  w("f32", p.f32);
  for (auto [key, dt] : {std::pair{"params", p.policy.params}, std::pair{"compute", p.policy.compute},
                         std::pair{"output", p.policy.output}})
    if (dt) w(key, std::string(dtype_name(*dt)));
  return w.str();
}

std::string graph_json(const detail::Graph& g) {
  std::vector<std::string> nodes;
  std::map<int64_t, size_t> blocks;  // block id -> its index in this file
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const detail::Node& n = *g.nodes[i];
    std::vector<int64_t> inputs;
    for (const auto& in : n.inputs) inputs.push_back(static_cast<int64_t>(g.position.at(in.get())));
    std::vector<std::pair<std::string, Shape>> params;
    for (const auto& p : n.params) params.emplace_back(p.name, p.shape);
    detail::SpecWriter w;
    w("name", g.names[i])("op", n.op)("inputs", inputs)("shape", n.shape)("params", params);
    if (!n.user_name.empty()) w("user_name", n.user_name);
    if (n.pinned) w("pinned", true);
    if (n.precision) w.raw("precision", precision_json(*n.precision));
    if (!n.ties.empty()) {
      std::vector<std::string> ties;
      for (const auto& t : n.ties)
        ties.push_back(detail::SpecWriter()("param", t.param)("source_layer", t.source_layer)(
                           "source_param", t.source_param)("transpose", t.transpose).str());
      w.raw("ties", fmt::format("[{}]", fmt::join(ties, ", ")));
    }
    if (n.op == "block") {
      auto [it, first] = blocks.emplace(n.shared, blocks.size());
      detail::SpecWriter b;
      b("id", static_cast<int64_t>(it->second));
      if (first) b.raw("graph", graph_json(n.block_inner.graph()));
      w.raw("block", b.str());
    } else if (!n.spec.empty()) {
      w.raw("spec", n.spec);
    } else {
      // A custom layer: its options as the user gave them (tie() appended one per tie).
      const size_t own = n.options.size() - std::min(n.options.size(), n.ties.size());
      std::vector<std::pair<std::string, std::string>> options(n.options.begin(),
                                                                n.options.begin() + static_cast<std::ptrdiff_t>(own));
      w("custom", options);
    }
    nodes.push_back(w.str());
  }
  return "{\"nodes\": [" + fmt::format("{}", fmt::join(nodes, ",\n")) + "]}";
}

// ---- reading

using detail::SpecReader;
using Kind = json::Value::Kind;

const json::Value& member(const json::Value& obj, const char* key, Kind kind, const std::string& who) {
  const json::Value* v = obj.find(key);
  AXON_CHECK(v != nullptr, who, "\"{}\" is missing", key);
  AXON_CHECK(v->kind == kind, who, "\"{}\" must be {}, got {}", key, json::kind_name(kind), json::kind_name(v->kind));
  return *v;
}

std::optional<detail::Node::Precision> read_precision(const json::Value* v, const std::string& who) {
  if (!v) return std::nullopt;
  SpecReader r(*v, {}, who + " precision");
  detail::Node::Precision p;
  std::string params, compute, output;
  r("f32", p.f32)("params", params)("compute", compute)("output", output);
  r.finish();
  for (auto [text, field] : {std::pair{&params, &p.policy.params}, std::pair{&compute, &p.policy.compute},
                             std::pair{&output, &p.policy.output}})
    if (!text->empty()) *field = dtype_from_name(*text);
  create_policy(p.policy);  // floating dtypes only
  return p;
}

struct SavedNode {
  std::string name, op;
  Shape shape;
  std::vector<std::pair<std::string, Shape>> params;
};

Model read_graph(const json::Value& g, const std::map<std::string, Model>& given, const std::string& where);

// One node's Model, from its builder, its block or its registered custom builder.
Model build_node(const json::Value& nv, const SavedNode& s, const std::string& user_name, std::vector<Model> inputs,
                 std::map<int64_t, Block>& blocks, const std::map<std::string, Model>& given, const std::string& who,
                 const std::string& where) {
  if (const json::Value* spec = nv.find("spec")) {
    if (s.op == "input") {
      SpecReader r(*spec, std::move(inputs), who);
      Shape shape;
      r("shape", shape);
      r.finish();
      return input(user_name, shape);
    }
    const detail::SpecBuilder* builder = detail::spec_builder(s.op);
    AXON_CHECK(builder != nullptr, who, "unknown op \"{}\" (written by a newer axon?)", s.op);
    SpecReader r(*spec, std::move(inputs), who);
    Model m;
    try {
      m = (*builder)(r);
    } catch (const Error&) {
      if (!r.failed()) r.check_keys();  // an unknown argument explains more than the builder's complaint
      throw;
    }
    r.finish();
    return m;
  }
  if (const json::Value* bv = nv.find("block")) {
    AXON_CHECK(s.op == "block", who, "only a block node may hold a \"block\"");
    int64_t id = 0;
    SpecReader r(*bv, {}, who);
    r("id", id);
    auto it = blocks.find(id);
    if (it == blocks.end()) {
      const json::Value& inner = member(*bv, "graph", Kind::object, who + " (the first call of a block)");
      auto copy = std::make_shared<json::Value>(inner);  // the block keeps its function
      const std::string inner_where = fmt::format("{} [inside block \"{}\"]", where, s.name);
      it = blocks.emplace(id, block(
                                  [copy, inner_where](const std::vector<Model>& args) {
                                    std::map<std::string, Model> feed;
                                    for (size_t i = 0; i < args.size(); ++i) feed["subgraph" + std::to_string(i)] = args[i];
                                    return read_graph(*copy, feed, inner_where);
                                  },
                                  {.name = user_name}))
               .first;
    }
    return it->second(inputs);
  }
  const json::Value& custom = member(nv, "custom", Kind::array, who + " (neither \"spec\", \"block\" nor \"custom\")");
  std::vector<std::pair<std::string, std::string>> pairs;
  SpecReader(nv, {}, who)("custom", pairs);
  (void)custom;
  AXON_CHECK(!detail::spec_builder(s.op), who,
             "\"{}\" was given another forward function (map_nodes), so it is not what the {} builder makes: set "
             "an op name of its own there and register a builder for it with axon::register_custom_layer",
             s.name, s.op);
  CustomLayerFactory factory = find_factory(s.op);
  AXON_CHECK(static_cast<bool>(factory), who,
             "\"{}\" is a custom layer (layer(), nx() or activation() with a function), and no builder is registered "
             "for op \"{}\": call axon::register_custom_layer(\"{}\", factory) before load_model, with a factory that "
             "builds it again from its inputs and options",
             s.name, s.op, s.op);
  std::map<std::string, std::string> options(pairs.begin(), pairs.end());
  Model m = factory(inputs, options);
  AXON_CHECK(m.defined(), who, "the builder registered for op \"{}\" returned an empty Model", s.op);
  AXON_CHECK(m.op_name() == s.op, who, "the builder registered for op \"{}\" returned a \"{}\" node", s.op, m.op_name());
  return m;
}

Model read_graph(const json::Value& g, const std::map<std::string, Model>& given, const std::string& where) {
  AXON_CHECK(g.kind == Kind::object, where, "the graph must be a JSON object, got {}", json::kind_name(g.kind));
  const json::Value& nodes = member(g, "nodes", Kind::array, where);
  AXON_CHECK(!nodes.array.empty(), where, "the graph has no nodes");
  std::vector<Model> built;
  std::vector<SavedNode> saved;
  std::map<int64_t, Block> blocks;
  struct PendingTie {
    std::string layer;
    detail::Node::Tie tie;
  };
  std::vector<PendingTie> ties;
  for (size_t k = 0; k < nodes.array.size(); ++k) {
    const json::Value& nv = nodes.array[k];
    const std::string at = fmt::format("{}: node {}", where, k);
    AXON_CHECK(nv.kind == Kind::object, at, "must be a JSON object, got {}", json::kind_name(nv.kind));
    SavedNode s;
    std::vector<int64_t> input_ids;
    std::string user_name;
    bool pinned = false;
    SpecReader r(nv, {}, at);
    r("name", s.name)("op", s.op)("inputs", input_ids)("shape", s.shape)("params", s.params);
    r("user_name", user_name)("pinned", pinned);
    AXON_CHECK(!s.name.empty() && !s.op.empty(), at, "needs a \"name\" and an \"op\"");
    const std::string who = fmt::format("{}: layer \"{}\" ({})", where, s.name, s.op);
    std::vector<Model> inputs;
    for (int64_t id : input_ids) {
      AXON_CHECK(id >= 0 && static_cast<size_t>(id) < k, who,
                 "input {} is not an earlier node (nodes come in topological order; a cycle or a dangling reference)",
                 id);
      inputs.push_back(built[static_cast<size_t>(id)]);
    }
    if (s.op == "input" && given.count(s.name)) {  // a block's argument
      built.push_back(given.at(s.name));
      saved.push_back(std::move(s));
      continue;
    }
    Model m;
    try {
      m = build_node(nv, s, user_name, std::move(inputs), blocks, given, who, where);
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind(where, 0) == 0) throw;  // already says where
      throw Error(fmt::format("{}: {}", who, what), e.file(), e.line());
    }
    // The builders were called without names: the file's name, pin and policy go on a copy.
    auto node = std::make_shared<detail::Node>(m.graph().output());
    node->user_name = user_name;
    node->pinned = pinned;
    node->precision = read_precision(nv.find("precision"), who);
    built.emplace_back(detail::make_graph(node));
    if (const json::Value* tv = nv.find("ties")) {
      AXON_CHECK(tv->kind == Kind::array, who, "\"ties\" must be an array");
      for (const auto& t : tv->array) {
        PendingTie p{s.name, {}};
        SpecReader tr(t, {}, who + " tie");
        tr("param", p.tie.param)("source_layer", p.tie.source_layer)("source_param", p.tie.source_param);
        tr("transpose", p.tie.transpose);
        tr.finish();
        ties.push_back(std::move(p));
      }
    }
    saved.push_back(std::move(s));
  }
  Model out = built.back();
  for (const auto& p : ties)
    out = tie(out, p.layer, p.tie.param, p.tie.source_layer, p.tie.source_param, {.transpose = p.tie.transpose});
  // The rebuilt graph must be the saved one.
  const detail::Graph& rg = out.graph();
  AXON_CHECK(rg.nodes.size() == saved.size(), where,
             "the file lists {} nodes but its output depends on {} of them (every node must feed the output)",
             saved.size(), rg.nodes.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    const detail::Node& n = *rg.nodes[i];
    const SavedNode& s = saved[i];
    std::vector<std::pair<std::string, Shape>> params;
    for (const auto& p : n.params) params.emplace_back(p.name, p.shape);
    AXON_CHECK(rg.names[i] == s.name && n.op == s.op, where, "node {} was saved as \"{}\" ({}) but rebuilds as \"{}\" ({})",
               i, s.name, s.op, rg.names[i], n.op);
    AXON_CHECK(n.shape == s.shape, where, "layer \"{}\" was saved with output shape {} but rebuilds with {}", s.name,
               to_string(s.shape), to_string(n.shape));
    AXON_CHECK(params == s.params, where, "layer \"{}\" rebuilds with other parameters (names or shapes) than saved",
               s.name);
  }
  return out;
}

}  // namespace

namespace detail {

std::string model_to_json(const Model& model) { return graph_json(graph_of(model, "save_model")); }

Model model_from_json(std::string_view text, const std::string& where) {
  json::Value g;
  try {
    g = json::parse(text);
  } catch (const json::ParseError& e) {
    AXON_FAIL(where, "the graph (\"axon.model\") is not valid JSON: {}", e.what());
  }
  return read_graph(g, {}, where);
}

}  // namespace detail

void save_model(const std::string& path, const Model& model, const Params& params) {
  const Metadata metadata{{"axon.format_version", std::to_string(model_format_version)},
                          {"axon.model", detail::model_to_json(model)}};
  if (params.empty()) save_safetensors(path, {}, metadata);
  else save_params(model, path, params, metadata);
}

LoadedModel load_model(const std::string& path) {
  const std::string where = fmt::format("load_model: \"{}\"", path);
  const Metadata metadata = load_safetensors_metadata(path);
  auto version = metadata.find("axon.format_version");
  auto graph = metadata.find("axon.model");
  AXON_CHECK(version != metadata.end() && graph != metadata.end(), where,
             "not an axon model file: its safetensors header has no \"axon.model\" and \"axon.format_version\" "
             "metadata (a parameter file? read it with load_params)");
  int v = 0;
  const char* end = version->second.data() + version->second.size();
  auto parsed = std::from_chars(version->second.data(), end, v);
  AXON_CHECK(parsed.ec == std::errc() && parsed.ptr == end && v >= 1, where, "format version \"{}\" is not a positive integer",
             version->second);
  AXON_CHECK(v <= model_format_version, where,
             "written in model-file format version {}, newer than this build of axon reads (up to {}): update axon",
             v, model_format_version);
  LoadedModel out{detail::model_from_json(graph->second, where), load_params(path)};
  if (!out.params.empty()) {
    try {
      check_params(out.model, out.params);
    } catch (const Error& e) {
      throw Error(fmt::format("{} [{}]", e.what(), where), e.file(), e.line());
    }
  }
  return out;
}

void register_custom_layer(const std::string& op, CustomLayerFactory factory) {
  AXON_CHECK(!op.empty() && static_cast<bool>(factory), "register_custom_layer", "needs an op name and a factory");
  AXON_CHECK(!detail::spec_builder(op) && op != "input" && op != "block", "register_custom_layer",
             "\"{}\" is a built-in op", op);
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[op] = std::move(factory);
}

}  // namespace axon
