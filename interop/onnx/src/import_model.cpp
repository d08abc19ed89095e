// onnx::import_model: an ONNX graph as a Model of custom layers, one per node that depends on the
// graph's input, in ONNX's own layout (an NCHW model takes NCHW input), and Params holding its
// initializers. How a graph becomes a Model:
//  - Initializers of a floating type are parameters: the first layer that uses one owns it (under the
//    initializer's name) and later users tie() to it, so shared weights stay shared while training.
//    BatchNormalization's running mean and variance are state entries, updated in train mode.
//  - A node whose inputs are all constants (Constant, integer initializers, shapes known at import)
//    is computed once (constant folding); one that reads only parameters gives a new parameter
//    (torch.onnx.export's Identity copies of equal initializers become separate parameters again).
//  - Every other node becomes a custom layer whose forward calls the op on its inputs; its output
//    shape comes from running the graph once at import on zeros of two sizes for every symbolic dim
//    (dims that differ are -1). Shape of a tensor whose dims are all known is folded to a constant.
// Unsupported operators are all listed in one error before anything is built.
#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include <axon/error.hpp>
#include <axon/onnx.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx {

using namespace detail;

namespace {

// Input sizes for the two import-time runs of a symbolic dim: they tell which output dims follow it.
constexpr std::array<int64_t, 2> kExampleDims{2, 3};

struct Value {
  enum class Kind { constant, param, dynamic, unavailable } kind = Kind::constant;
  Tensor tensor;                     // constant and param
  std::string owner, owner_param;    // param: the layer that holds it, once one does
  Model model;                       // dynamic
  std::array<Tensor, 2> example;     // dynamic: its value in the two import-time runs
};

struct TieRequest {
  std::string layer, param, source_layer, source_param;
};

std::string layer_name_of(const ::onnx::NodeProto& node, size_t output, size_t outputs) {
  std::string n = node.name();
  while (!n.empty() && n.front() == '/') n.erase(n.begin());
  for (char& c : n)
    if (c == '/' || c == '{' || c == '}') c = '.';
  if (n.empty()) n = node.op_type();
  if (outputs > 1 && output > 0) n += ":" + std::to_string(output);
  return n;
}

class Importer {
 public:
  explicit Importer(const ::onnx::ModelProto& m) : m_(m) {}

  Imported run() {
    check_header();
    const auto& g = m_.graph();
    check_supported(g);
    for (const auto& t : g.initializer()) {
      AXON_CHECK(!t.name().empty(), kImport, "an initializer has no name");
      Value v;
      v.tensor = to_tensor(t, "initializer");
      v.kind = v.tensor.is_floating_point() ? Value::Kind::param : Value::Kind::constant;
      values_[t.name()] = std::move(v);
    }
    for (const auto& in : g.input())
      if (!values_.count(in.name())) add_input(in);
    AXON_CHECK(!inputs_.empty(), kImport, "the graph has no input that is not an initializer");
    for (const auto& node : g.node()) add_node(node);
    AXON_CHECK(g.output_size() == 1, kImport, "the graph has {} outputs; an axon Model has one", g.output_size());
    const Value& out = value(g.output(0).name(), "the graph output");
    AXON_CHECK(out.kind == Value::Kind::dynamic, kImport,
               "the graph output \"{}\" does not depend on the graph's inputs (it is a constant)", g.output(0).name());
    return finish(out.model);
  }

 private:
  void check_header() const {
    AXON_CHECK(m_.has_graph(), kImport, "the file holds no graph");
    int64_t opset = -1;
    for (const auto& o : m_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    AXON_CHECK(opset >= 13, kImport, "the model imports default-domain opset {}; import reads opset 13 and later",
               opset < 0 ? std::string("(none)") : std::to_string(opset));
  }

  void check_supported(const ::onnx::GraphProto& g) const {
    std::set<std::string> missing;
    for (const auto& node : g.node()) {
      const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
      if (!default_domain || find_op(node.op_type()) == nullptr)
        missing.insert(node.op_type().empty() ? "(no op_type)"
                       : default_domain    ? node.op_type()
                                           : node.domain() + "." + node.op_type());
    }
    if (missing.empty()) return;
    std::string list;
    for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
    AXON_FAIL(kImport, "unsupported operators: {}", list);
  }

  void add_input(const ::onnx::ValueInfoProto& in) {
    const std::string who = "graph input \"" + in.name() + "\"";
    AXON_CHECK(in.type().has_tensor_type() && in.type().tensor_type().has_shape(), kImport,
               "{} is not a tensor of known rank", who);
    const DType dtype = to_dtype(in.type().tensor_type().elem_type(), who);
    Shape declared;
    std::array<Shape, 2> concrete;
    for (const auto& d : in.type().tensor_type().shape().dim()) {
      const bool known = d.has_dim_value();
      AXON_CHECK(!known || d.dim_value() > 0, kImport, "{} has a dim {}", who, d.dim_value());
      declared.push_back(known ? d.dim_value() : -1);
      for (size_t k = 0; k < 2; ++k) concrete[k].push_back(known ? d.dim_value() : kExampleDims[k]);
    }
    Value v;
    v.kind = Value::Kind::dynamic;
    v.model = axon::input(in.name(), declared);
    for (size_t k = 0; k < 2; ++k) v.example[k] = zeros(concrete[k], dtype);
    values_[in.name()] = std::move(v);
    inputs_.push_back(in.name());
  }

  const Value& value(const std::string& name, const std::string& who) const {
    auto it = values_.find(name);
    AXON_CHECK(it != values_.end(), kImport, "{}: \"{}\" is not defined before it is used", who, name);
    AXON_CHECK(it->second.kind != Value::Kind::unavailable, kImport, "{}: \"{}\" is an output the import cannot give",
               who, name);
    return it->second;
  }

  // Runs the op, naming the node in any error it raises.
  static std::vector<Tensor> call(const OpImpl& impl, const std::vector<Tensor>& in, const std::string& who) {
    OpRun run;
    try {
      return impl.fn(in, run);
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(who) != std::string::npos) throw;
      throw Error(fmt::format("{}: {}: {}", kImport, who, what), e.file(), e.line());
    }
  }

  void add_node(const ::onnx::NodeProto& node) {
    const Attrs attrs(node);
    const std::string& who = attrs.who();
    for (const auto& g : node.attribute())
      AXON_CHECK(g.type() != ::onnx::AttributeProto::GRAPH && g.type() != ::onnx::AttributeProto::GRAPHS, kImport,
                 "{}: subgraph attributes are not supported", who);
    std::vector<const Value*> in;
    bool dynamic = false, reads_param = false;
    for (const auto& name : node.input()) {
      in.push_back(name.empty() ? nullptr : &value(name, who));
      if (in.back() && in.back()->kind == Value::Kind::dynamic) dynamic = true;
      if (in.back() && in.back()->kind == Value::Kind::param) reads_param = true;
    }
    AXON_CHECK(node.output_size() >= 1, kImport, "{}: the node has no output", who);
    for (const auto& name : node.output())
      AXON_CHECK(name.empty() || !values_.count(name), kImport, "{}: output \"{}\" is already defined (ONNX graphs assign each name once)",
                 who, name);
    const OpImpl impl = (*find_op(node.op_type()))(attrs);
    if (!dynamic) return fold(node, impl, in, reads_param, who);
    if (node.op_type() == "Identity") return alias(node, *in[0]);

    std::array<std::vector<Tensor>, 2> outs;
    for (size_t k = 0; k < 2; ++k) {
      std::vector<Tensor> args;
      for (const Value* v : in) args.push_back(!v ? Tensor() : v->kind == Value::Kind::dynamic ? v->example[k] : v->tensor);
      outs[k] = call(impl, args, who);
    }
    const bool shape_op = node.op_type() == "Shape" || node.op_type() == "Size";
    if (shape_op && outs[0][0].to_vector<int64_t>() == outs[1][0].to_vector<int64_t>()) {
      Value v;
      v.tensor = outs[0][0];
      values_[node.output(0)] = std::move(v);
      return;
    }
    const size_t used = static_cast<size_t>(node.output_size());
    for (size_t j = 0; j < used; ++j) {
      if (node.output(j).empty()) continue;
      Value v;
      if (j >= outs[0].size() || !outs[0][j].defined()) {
        v.kind = Value::Kind::unavailable;
      } else {
        v.kind = Value::Kind::dynamic;
        v.example = {outs[0][j], outs[1][j]};
        v.model = make_layer(node, impl, in, j, v.example, who);
      }
      values_[node.output(j)] = std::move(v);
    }
  }

  void fold(const ::onnx::NodeProto& node, const OpImpl& impl, const std::vector<const Value*>& in, bool reads_param,
            const std::string& who) {
    std::vector<Tensor> args;
    for (const Value* v : in) args.push_back(v ? v->tensor : Tensor());
    const std::vector<Tensor> outs = call(impl, args, who);
    for (size_t j = 0; j < static_cast<size_t>(node.output_size()); ++j) {
      if (node.output(j).empty()) continue;
      Value v;
      v.tensor = j < outs.size() ? outs[j] : Tensor();
      v.kind = !v.tensor.defined()                             ? Value::Kind::unavailable
               : reads_param && v.tensor.is_floating_point() ? Value::Kind::param
                                                              : Value::Kind::constant;
      // Its own storage: an op may return a view of its input, and optimizers may update in place.
      if (v.kind == Value::Kind::param) v.tensor = v.tensor.clone();
      values_[node.output(j)] = std::move(v);
    }
  }

  // Identity of a computed value: the same layer output under a second name.
  void alias(const ::onnx::NodeProto& node, const Value& v) { values_[node.output(0)] = v; }

  std::string unique_layer_name(std::string name) {
    std::string n = name;
    for (int k = 1; !layer_names_.insert(n).second; ++k) n = name + "_" + std::to_string(k);
    return n;
  }

  Model make_layer(const ::onnx::NodeProto& node, const OpImpl& impl, const std::vector<const Value*>& in, size_t output,
                   const std::array<Tensor, 2>& example, const std::string& who) {
    const std::string layer = unique_layer_name(layer_name_of(node, output, node.output_size()));
    // Per input slot: where the forward finds it.
    struct Slot {
      enum class From { none, input, param, constant } from = From::none;
      size_t input = 0;
      std::string param;
      Tensor constant;
    };
    std::vector<Slot> slots(in.size());
    std::vector<Model> models;
    std::map<const Value*, size_t> model_index;
    std::vector<ParamSpec> specs;
    std::map<size_t, std::string> state_names;
    for (size_t s = 0; s < in.size(); ++s) {
      const Value* v = in[s];
      if (!v) continue;
      if (v->kind == Value::Kind::dynamic) {
        auto [it, fresh] = model_index.emplace(v, models.size());
        if (fresh) models.push_back(v->model);
        slots[s] = {Slot::From::input, it->second, {}, {}};
      } else if (v->kind == Value::Kind::constant) {
        slots[s] = {Slot::From::constant, 0, {}, v->tensor};
      } else {
        const std::string pname = node.input(static_cast<int>(s));
        const bool state = impl.state_slots.count(s) != 0;
        if (std::none_of(specs.begin(), specs.end(), [&](const ParamSpec& p) { return p.name == pname; }))
          specs.push_back({.name = pname, .shape = v->tensor.shape(), .initializer = "zeros", .state = state});
        if (state) state_names[s] = pname;
        slots[s] = {Slot::From::param, 0, pname, {}};
        Value& owned = values_.at(pname);
        if (owned.owner.empty()) {
          owned.owner = layer;
          owned.owner_param = pname;
          params_[layer][pname] = v->tensor;
        } else if (owned.owner != layer) {
          ties_.push_back({layer, pname, owned.owner, owned.owner_param});
        }
      }
    }
    Shape shape = example[0].shape();
    AXON_CHECK(example[1].dim() == example[0].dim(), kImport, "{}: the output's rank depends on the input's size", who);
    for (size_t d = 0; d < shape.size(); ++d)
      if (example[1].shape()[d] != shape[d]) shape[d] = -1;

    ForwardFn forward = [fn = impl.fn, slots, state_names, output](const std::vector<Tensor>& xs, const ParamMap& params,
                                                                   ForwardContext& ctx) {
      std::vector<Tensor> args(slots.size());
      for (size_t s = 0; s < slots.size(); ++s) {
        const Slot& slot = slots[s];
        if (slot.from == Slot::From::input) args[s] = xs[slot.input];
        if (slot.from == Slot::From::param) args[s] = params.at(slot.param);
        if (slot.from == Slot::From::constant) args[s] = slot.constant;
      }
      // Constants live on the CPU, and so do shapes computed at run time (Shape's output, and what
      // ConstantOfShape makes from it): the op runs where its floating-point data is.
      Device device = xs.at(0).device();
      for (const Tensor& t : args)
        if (t.defined() && t.is_floating_point() && t.is_cuda()) {
          device = t.device();
          break;
        }
      for (Tensor& t : args)
        if (t.defined() && t.device() != device) t = to_device(t, device);
      OpRun run;
      run.training = ctx.mode == Mode::train;
      std::vector<Tensor> outs = fn(args, run);
      for (auto& [s, t] : run.new_state) ctx.state[state_names.at(s)] = t;
      return outs.at(output);
    };
    CustomLayerOptions o{.params = std::move(specs),
                         .output_shape = [shape](const std::vector<Shape>&) { return shape; },
                         .op_name = "onnx." + node.op_type(),
                         .name = layer};
    return axon::layer(models, std::move(forward), std::move(o));
  }

  Imported finish(Model model) {
    std::set<std::string> present;
    for (const LayerInfo& l : model.layers()) present.insert(l.name);
    for (const TieRequest& t : ties_) {
      if (!present.count(t.layer)) continue;
      if (present.count(t.source_layer)) {
        model = axon::tie(model, t.layer, t.param, t.source_layer, t.source_param);
      } else {  // the owner was cut off with an unused output: this layer holds the value itself
        params_[t.layer][t.param] = params_.at(t.source_layer).at(t.source_param);
      }
    }
    return {model, select_params(model, params_)};
  }

  const ::onnx::ModelProto& m_;
  std::map<std::string, Value> values_;
  std::vector<std::string> inputs_;
  std::set<std::string> layer_names_;
  Params params_;
  std::vector<TieRequest> ties_;
};

}  // namespace

Imported import_model(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  AXON_CHECK(f.good(), kImport, "cannot open \"{}\"", path);
  std::stringstream bytes;
  bytes << f.rdbuf();
  ::onnx::ModelProto m;
  AXON_CHECK(m.ParseFromString(bytes.str()), kImport, "\"{}\" is not an ONNX model (protobuf parse failed)", path);
  try {
    return Importer(m).run();
  } catch (const Error& e) {
    throw Error(fmt::format("{} [file \"{}\"]", e.what(), path), e.file(), e.line());
  }
}

}  // namespace axon::onnx
