#pragma once
// Graph manipulation, weight sharing, freezing and checked parameter files for models (Axon's
// graph manipulation, ModelState and blocks; elixir-nx/axon #169, #529/#589, #614, #643). Included by <axon/model.hpp>.
//
// Inspection: get_inputs, get_output_shape, get_op_counts, properties, get_parameters, get_options
// (Model::layers() lists every node in creation order; Axon's reduce_nodes is a loop over it).
//
// Rewriting: map_nodes changes nodes in place (name, op, forward, parameter specs, options; never
// the inputs or the output shape), rewrite_nodes replaces nodes with subgraphs (LoRA,
// quantization), pop_node splits off the output node, capture cuts a graph at a layer. They return new Models and leave the original alone. Every layer the result keeps keeps
// its name (and so its entry in a Params map made for the original), even where Axon's lazy
// "<op>_<k>" naming would count differently: the surgery fixes those names, and layers created
// afterwards with default names skip them (dense_0, dense_1 fixed: a new dense is dense_2).
//
// Weight sharing: block(fn) (Axon v0.7's block) is called like a layer; every call builds the same
// subgraph over new inputs with ONE set of parameters, stored under the block's name as
// "<inner layer>.<param>" (params["block_0"]["dense_0.kernel"], Axon nests a map there), so the
// gradients of all calls add up in it. tie() makes a layer use another layer's parameter
// (optionally transposed), as ModelState.tie (axon#625) does for tied embeddings.
//
// Freezing: freeze / unfreeze give a FrozenParams set, a predicate train_step's `frozen` option
// (TrainStepOptions / TrainerOptions, a FrozenFn) takes as it is.
//
// Files: check_params checks a Params map against a model (names, shapes, dtypes); save_params /
// load_params with a model run it (the model-less ones of <axon/io.hpp> do not).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <axon/io.hpp>
#include <axon/model.hpp>

namespace axon {

// ---- inspection

// Axon's get_inputs: input name -> declared shape (-1 unknown). Same as model.input_shapes().
std::map<std::string, Shape> get_inputs(const Model& model);

struct OutputShapeOptions {
  // dtype of each input's zeros; default i64 for an input feeding an embedding, else f32.
  std::map<std::string, DType> input_dtypes = {};
};
// Axon's get_output_shape: the output shape for inputs of these concrete shapes (each must fit the
// declared shape). Runs the graph once in inference mode on zeros, with zero parameters (ones for
// those initialized with "ones"), under NoGrad -- Axon traces it instead -- so it costs one forward.
Shape get_output_shape(const Model& model, const std::map<std::string, Shape>& inputs,
                       const OutputShapeOptions& options = {});
Shape get_output_shape(const Model& model, const Shape& input, const OutputShapeOptions& options = {});

// Axon's get_op_counts: op name -> number of nodes (inputs included; each call of a block counts).
std::map<std::string, int64_t> get_op_counts(const Model& model);
// Axon's properties: layer name -> op name.
std::map<std::string, std::string> properties(const Model& model);
// Axon's get_parameters / get_options: of the named layer, or of the output node. Parameters taken
// from another layer by tie() are not among them (they show in the options as "tied").
std::vector<ParamSpec> get_parameters(const Model& model);
std::vector<ParamSpec> get_parameters(const Model& model, const std::string& layer);
std::vector<std::pair<std::string, std::string>> get_options(const Model& model);
std::vector<std::pair<std::string, std::string>> get_options(const Model& model, const std::string& layer);

// ---- rewriting

// One node as map_nodes / rewrite_nodes / pop_node show it.
struct NodeView : LayerInfo {
  ForwardFn forward;  // empty for inputs
};

// Axon's map_nodes: fn sees every node once, inputs included, and returns it changed. It may set the
// name (the layer is renamed, and its parameters with it), the op name (the name stays unless fn
// changes it too), forward with params and options (the new forward must give the same output
// shape and use the parameters listed), and for inputs only the name. Changing `inputs` or
// `output_shape`, or renaming one call of a block but not the others, throws. Mixed precision
// policies stay as they are: apply_policy (<axon/mixed_precision.hpp>, itself a map over the nodes)
// sets them, with PolicyFilter::predicate choosing layers by name. (<axon/mixed_precision.hpp>
// includes this header, so a node view cannot hold a Policy.)
Model map_nodes(const Model& model, const std::function<NodeView(NodeView)>& fn);

// What rewrite_nodes puts in place of a node: `inputs` are the node's (already rewritten) inputs and
// `output` the node itself applied to them (same name, same parameters); the Model returned takes
// the node's place (Axon's fn([inputs], output)). Its output shape must fit the node's, since the
// layers after it were sized for that.
using Rewriter = std::function<Model(const std::vector<Model>& inputs, const Model& output)>;
// Axon's rewrite_nodes: fn sees every node once, in topological order, inputs included (their
// `inputs` are empty and `output` is the input itself), and returns a Rewriter for the nodes to
// replace, nullopt to keep one. Nodes nothing depends on any more are dropped. Layers a Rewriter
// creates with default names are named after every kept one (LoRA's dense nodes beside dense_0 and
// dense_1 become dense_2, ...); a block node is rewritten as a whole, not its inside.
Model rewrite_nodes(const Model& model, const std::function<std::optional<Rewriter>(const NodeView&)>& fn);

// Axon's pop_node: the output node and the Models ending at each of its inputs (one per input, in
// order). Throws for an input node.
struct PoppedNode {
  NodeView node;
  std::vector<Model> parents;
};
PoppedNode pop_node(const Model& model);

// Axon.capture (axon#643): the sub-model ending at `layer` (the first call, for a block), with
// only that layer's ancestors, every one keeping its name -- so the original Params work on it
// (apply ignores the entries of layers it no longer has; select_params drops them). A default name
// of a layer the cut dropped is free again: capture(m, "relu_0") | dense(5) may be named dense_1
// like the cut-off m's dense_1, so name new heads to mix them with m's Params.
Model capture(const Model& model, const std::string& layer);
// ... with some of its inputs replaced: name -> the Model to feed there (its output shape must fit
// the input's declared shape). Inputs not named stay.
Model capture(const Model& model, const std::string& layer, const std::map<std::string, Model>& new_inputs);

// ---- weight sharing

namespace detail {
struct BlockState;
}
struct BlockOptions {
  std::string name = {};  // default "block_<k>"; "{n}" becomes k
};
// What block() returns: call it on Models (or use it as a Layer, `x | b`) as often as needed. fn
// runs once, at the first call, on inputs named "subgraph0", "subgraph1", ... of the first call's
// shapes (Axon's); later calls must have the same number of inputs, with shapes that fit those. The
// block's parameters are the inner layers' ones, named "<inner layer>.<param>" (inner layer names
// may not contain '/'), created once by init(). Each call is a node of op "block"; all of them
// have the block's name. In train mode the block's new state (batch_norm inside) is the last call's.
class Block {
 public:
  Model operator()(const Model& x) const;
  Model operator()(const std::vector<Model>& inputs) const;
  // The inner model (inputs "subgraph<i>"); undefined until the first call.
  Model inner() const;

 private:
  friend Block block(std::function<Model(const std::vector<Model>&)> fn, BlockOptions options);
  std::shared_ptr<detail::BlockState> state_;
};
Block block(std::function<Model(const Model&)> fn, BlockOptions options = {});
Block block(std::function<Model(const std::vector<Model>&)> fn, BlockOptions options = {});

// ModelState.tie (axon#625): layer's parameter `param` becomes source_layer's `source_param`
// (transposed when `transpose`, for 2-d ones: an output projection [dim, vocab] tied to an
// embedding [vocab, dim]). The layer no longer has a parameter of its own there: init() does not
// create it and gradients reach the source. Shapes must agree; both layers must be in the model.
struct TieOptions {
  bool transpose = false;
};
Model tie(const Model& model, const std::string& layer, const std::string& param, const std::string& source_layer,
          const std::string& source_param, TieOptions options = {});

// ---- freezing (ModelState.freeze / unfreeze)

using ParamPredicate = std::function<bool(const std::string& layer, const std::string& name)>;
// A set of frozen (layer, parameter) entries. Callable, so that it is a train_step `frozen` option.
class FrozenParams {
 public:
  bool operator()(const std::string& layer, const std::string& name) const {
    return entries_.count({layer, name}) != 0;
  }
  const std::set<std::pair<std::string, std::string>>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  friend FrozenParams freeze(FrozenParams, const Params&, const ParamPredicate&);
  friend FrozenParams unfreeze(FrozenParams, const ParamPredicate&);
  std::set<std::pair<std::string, std::string>> entries_;
};
// The entries of `params` for which `which` holds (every entry when it is empty), added to `frozen`.
FrozenParams freeze(FrozenParams frozen, const Params& params, const ParamPredicate& which);
FrozenParams freeze(const Params& params, const ParamPredicate& which = {});
// The model's trainable parameters for which `which` holds (state entries are never trained anyway).
FrozenParams freeze(const Model& model, const ParamPredicate& which = {});
// `frozen` without the entries for which `which` holds (all of them when it is empty).
FrozenParams unfreeze(FrozenParams frozen, const ParamPredicate& which = {});
// ModelState.frozen_parameters / trainable_parameters: the frozen entries of `params`, and the
// model's trainable (not state) entries that are not frozen.
Params frozen_params(const Params& params, const FrozenParams& frozen);
Params trainable_params(const Model& model, const Params& all, const FrozenParams& frozen);

// ---- checked parameters

struct CheckParamsOptions {
  // dtype of every parameter outside a mixed precision policy; unset: they must all agree (those of a
  // layer whose policy sets `params` must have that dtype either way).
  std::optional<DType> dtype = {};
  bool allow_extra = false;  // entries for layers or parameters the model does not have
};
// Throws axon::Error naming the first layer (in topological order) and parameter whose entry is
// missing, undefined, of another shape or dtype, or (without allow_extra) not the model's.
void check_params(const Model& model, const Params& params, const CheckParamsOptions& options = {});
// Only the entries of `params` that the model has.
Params select_params(const Model& model, const Params& params);

// save_params / load_params (<axon/io.hpp>) with check_params before saving and after loading;
// load_params(model, ...) returns only the model's entries (extra ones need allow_extra).
void save_params(const Model& model, const std::string& path, const Params& params, const Metadata& metadata = {});
struct LoadParamsOptions {
  Device device = Device::cpu();
  std::optional<DType> dtype = {};
  bool allow_extra = false;
};
Params load_params(const Model& model, const std::string& path, const LoadParamsOptions& options = {});

}  // namespace axon
