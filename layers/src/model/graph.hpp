#pragma once
// Internal to the model API: graph nodes, the helper every builder goes through, and the shape and
// display helpers the builders share.
#include <axon/conv.hpp>
#include <axon/mixed_precision.hpp>
#include <axon/model.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/nn_ops.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace axon::detail {

struct Node {
  int64_t id = 0;  // creation order: inputs always have smaller ids than their consumers
  std::string op;
  std::string user_name;  // empty: "<op>_<k>"
  std::vector<std::shared_ptr<const Node>> inputs;
  Shape shape;
  std::vector<ParamSpec> params;  // shapes resolved
  std::vector<std::pair<std::string, std::string>> options;  // summary's Options column
  ForwardFn forward;  // empty for inputs (apply() feeds them)
  // The builder's arguments as a JSON object (spec.hpp), from which load_model calls the builder
  // again; empty for nodes built around a C++ function (layer(), nx(), activation(fn)).
  std::string spec;
  // Set by apply_policy (mixed_precision.cpp): the layer's policy, or `f32` for an op kept in f32.
  struct Precision {
    Policy policy;
    bool f32 = false;
  };
  std::optional<Precision> precision;
  // Graph surgery (graph_api.cpp) fixes names: `user_name` is then the final name, and default names
  // elsewhere in the graph skip it.
  bool pinned = false;
  // The calls of one block share this id, one name and one set of parameters; -1 for other nodes.
  int64_t shared = -1;
  Model block_inner;  // a block call's traced subgraph (what a model file saves of it)
  // Parameters taken from another layer by tie(): not in `params`, added by apply().
  struct Tie {
    std::string param, source_layer, source_param;
    bool transpose = false;
  };
  std::vector<Tie> ties;
};
using NodePtr = std::shared_ptr<const Node>;

// The ancestors of one output node sorted by id (a topological order), with their resolved names.
struct Graph {
  std::vector<NodePtr> nodes;  // the output is last
  std::vector<std::string> names;
  std::unordered_map<const Node*, size_t> position;
  std::map<std::string, size_t> by_name;
  const Node& output() const { return *nodes.back(); }
  const std::string& name_of(const Node* n) const { return names[position.at(n)]; }
};

std::shared_ptr<const Graph> make_graph(const NodePtr& output);
int64_t next_id();  // a fresh node id, larger than every earlier one
const Graph& graph_of(const Model& m, const char* op);  // the graph, or an error naming op

// A copy of the model's graph in which f changed the nodes it was given (every node but the inputs,
// which stay shared): the copies keep their order, so the layers keep their names.
Model map_nodes(const Model& m, const std::function<void(Node& node, const std::string& name)>& f);

// Mixed precision in apply() (mixed_precision.cpp): the node's inputs and parameters before its op,
// its output and new state after it. Only called for nodes with a precision.
void precision_inputs(const Node& node, std::vector<Tensor>& inputs);
ParamMap precision_params(const Node& node, const ParamMap& stored);
Tensor precision_output(const Node& node, const Tensor& output);
void precision_state(const ParamMap& stored, ParamMap& state);
// The node's own parameters plus those it takes from other layers (tie(), graph_api.cpp).
ParamMap with_ties(const Node& node, const std::string& layer, const ParamMap& own, const Params& all);
// The dtype init() creates the node's parameters in.
DType param_dtype(const Node& node, DType fallback);

// What a builder fills in for the node it creates. `who` ("dense_0 (dense)") starts its errors.
// Forwards that apply() fuses: a dense node whose only consumer is the next node, a relu / tanh /
// sigmoid activation node, runs as one fused_dense (bias and activation in one pass after the GEMM)
// and the activation node is skipped. Named types, not lambdas, so that apply() can recognise them:
// a forward replaced by graph surgery (map_nodes) is another type and is never fused.
struct DenseForward {
  Tensor operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) const;
  // The forward of dense followed by the activation.
  Tensor fused(const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation) const;
};
// The same for a conv node (conv(), not its transposed / depthwise / separable kin): one fused_conv.
struct ConvForward {
  ConvOptions options;
  Tensor operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) const;
  Tensor fused(const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation) const;
};
struct ActivationForward {
  std::string fn;
  Tensor operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) const;
  // fused_dense's name for this activation; none when it has no fused form.
  FusedActivation fused() const {
    return fn == "relu"      ? FusedActivation::relu
           : fn == "tanh"    ? FusedActivation::tanh
           : fn == "sigmoid" ? FusedActivation::sigmoid
                             : FusedActivation::none;
  }
};
// A window max-pool's forward, named so that predict()'s plans can read its options (and run it on an
// inference primitive); ConvForward above likewise.
struct MaxPoolForward {
  layers::PoolOptions options;
  Tensor operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) const;
};
// The activation that node i (a DenseForward or ConvForward) and node i + 1 run as one fused_dense /
// fused_conv, or none: node
// i + 1 is a relu / tanh / sigmoid ActivationForward, node i's only consumer (`uses` counts them),
// and neither has a precision policy. apply() and predict()'s plans fuse by this one rule.
FusedActivation fused_activation(const Graph& g, size_t i, int uses);
// Node i's forward fused with that activation (node i must be one fused_activation accepts).
Tensor fused_forward(const Node& node, const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation);

struct NodeBuild {
  Node& node;
  std::string name;
  std::string who;
  std::vector<Shape> in;  // the inputs' output shapes
};
// Creates an `op` node over the inputs' outputs, resolves its name, then calls infer(), which sets
// shape / params / options / forward or throws naming b.who. `shared`: a block's id (Node::shared),
// needed before the name is resolved, since a call of a block may feed another call of it.
Model make_node(const std::string& op, const std::vector<Model>& inputs, const std::string& user_name,
                const std::function<void(NodeBuild&)>& infer, int64_t shared = -1);
// m, or m followed by an activation node when `activation` is not empty.
Model with_activation(const Model& m, const Activation& activation);
// A Layer that calls build(x).
template <class F>
Layer as_layer(F build) {
  return [build = std::move(build)](const Model& x) { return build(x); };
}

// ---- shape rules
// The channel axis of a conv / pool input (rank >= 3), after checking its rank.
int64_t channel_axis(const NodeBuild& b, const Shape& s, Channels ch);
// A dim that must be known (> 0) for parameter shapes: `what` says which.
int64_t known_dim(const NodeBuild& b, const Shape& s, int64_t axis, const char* what);
// One value for every spatial dim, or one per dim.
std::vector<int64_t> per_dim(const NodeBuild& b, const std::vector<int64_t>& v, int64_t nd, const char* what);
// Output size of a window op (conv / pool) along one spatial dim; -1 stays -1.
int64_t window_out(const NodeBuild& b, int64_t in, int64_t k, int64_t stride, int64_t kernel_dilation,
                   int64_t input_dilation, const Padding& padding, size_t dim);
// NumPy broadcasting where -1 (unknown) matches anything.
Shape broadcast_known(const NodeBuild& b, const Shape& x, const Shape& y);
// Runs forward on zeros (unknown dims as 1) to find its output shape.
Shape trace_shape(const NodeBuild& b, const ForwardFn& forward);

// ---- renderings for summary() and operator<<, as C++ / Python print them (-1: an unknown dim)
std::string show_shape(const Shape& s);                   // [-1, 784]
std::string show_typed(const Shape& s, DType dt);         // f32[-1, 784]
std::string show_list(const std::vector<int64_t>& v);     // [1, 1]
std::string show_padding(const Padding& p);               // same / [(1, 1), (0, 0)]
std::string show_channels(Channels c);                    // last
std::string show_number(double v);                        // 0.5, 1e-05

}  // namespace axon::detail
