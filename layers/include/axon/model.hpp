#pragma once
// The model-creation API (Axon's builders): a Model is an immutable graph of layer nodes built with
// `input(...) | dense(128, {...}) | ...`; init() creates its parameters, apply() / predict() run it on
// the functional layers, summary() prints a table of its layers, save_model() / load_model() keep it
// in a file.
//
// - Shapes are inferred when a layer is built: a wrong input (dense on a rank-1 input, a conv kernel
//   of the wrong rank, mismatched concatenate dims, groups that do not divide the channels) throws
//   axon::Error right there, naming the layer ("dense_0 (dense): ...") and the shapes. -1 stands for
//   an unknown dim (the batch); parameter shapes need the feature dims known.
// - Layer names default to "<op>_<k>", k counting the nodes of that op in creation order within the
//   model (dense_0, dense_1, relu_0, ...), as Axon names them at build time; an explicit `.name` is
//   used as given ("{n}" in it becomes k). Two layers of one model may not share a name (the calls
//   of one block do: they share its parameters).
// - `.activation = "relu"` on dense / conv / ... appends a separate activation node (relu_0), as Axon.
// - Graphs are DAGs: a Model may feed several layers; multi-input layers take several Models.
// Builders and their options are declared in <axon/model/builders.hpp>, graph manipulation, blocks,
// freezing and checked parameter files in <axon/model/graph_api.hpp>, model files in
// <axon/model/model_file.hpp> (all included below).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include <axon/autograd.hpp>
#include <axon/random.hpp>
#include <axon/tensor.hpp>

namespace axon {

namespace detail {
struct Graph;
}

enum class Mode { inference, train };

// How a parameter is created: one of Axon's initializer names with its default options ("zeros",
// "ones", "uniform", "normal", "identity", "lecun_uniform", "lecun_normal", "glorot_uniform",
// "glorot_normal", "he_uniform", "he_normal", "variance_scaling", "orthogonal"), or a function.
using InitFn = std::function<Tensor(const Shape& shape, DType dtype, Device device, Generator& gen)>;
struct Initializer {
  std::string name;  // shown in errors; the function's label when fn is set
  InitFn fn;
  Initializer(const char* n) : name(n) {}
  Initializer(std::string n) : name(std::move(n)) {}
  template <class F>
    requires std::is_invocable_r_v<Tensor, F, const Shape&, DType, Device, Generator&>
  Initializer(F f, std::string label = "custom") : name(std::move(label)), fn(std::move(f)) {}
};

// One parameter (or state tensor) of a layer.
struct ParamSpec {
  std::string name;
  Shape shape;  // fixed shape, unless shape_fn is given
  std::function<Shape(const std::vector<Shape>& input_shapes)> shape_fn = {};
  Initializer initializer = "glorot_uniform";
  bool state = false;           // non-trainable state, updated by the layer in train mode
  bool channels_first = false;  // fans of an OIHW conv kernel (see initializers::compute_fans)
};

// What a layer's forward function sees besides its inputs and parameters.
struct ForwardContext {
  Mode mode = Mode::inference;
  Generator* generator = nullptr;  // never null inside a forward (dropout masks)
  std::string layer;               // this layer's name
  ParamMap state;                  // a stateful layer writes its new state here in train mode
};
using ForwardFn =
    std::function<Tensor(const std::vector<Tensor>& inputs, const ParamMap& params, ForwardContext& ctx)>;

// Introspection: one node of a model.
struct LayerInfo {
  std::string name, op;
  std::vector<std::string> inputs;  // names of the layers feeding it
  Shape output_shape;
  std::vector<ParamSpec> params;  // shapes resolved
  std::vector<std::pair<std::string, std::string>> options;  // as summary() shows them
};

// A cheap, immutable handle to a graph of layer nodes with one output node. Copying a Model copies
// a shared_ptr; builders return new Models whose graphs share the nodes of their inputs.
class Model {
 public:
  Model() = default;  // an empty handle: defined() is false and every use of it is an error
  explicit Model(std::shared_ptr<const detail::Graph> graph) : graph_(std::move(graph)) {}

  bool defined() const { return static_cast<bool>(graph_); }
  const std::string& name() const;  // the output node's name
  const std::string& op_name() const;
  Shape output_shape() const;  // inferred at build time; -1 for the batch (or any unknown) dim
  std::vector<std::string> input_names() const;            // in creation order
  std::map<std::string, Shape> input_shapes() const;       // declared shapes
  std::vector<LayerInfo> layers() const;                   // every node, in topological order
  const detail::Graph& graph() const;

 private:
  std::shared_ptr<const detail::Graph> graph_;
};

using Layer = std::function<Model(const Model&)>;  // what `dense(128, {...})` returns, for x | layer
Model operator|(const Model& x, const Layer& layer);

struct InputOptions {
  bool optional = false;  // shown in the summary as Axon does; optional inputs are not supported yet
};
Model input(const std::string& name, Shape shape, InputOptions options = {});  // -1 = unknown dim

struct InitOptions {
  Device device = Device::cpu();
  DType dtype = DType::f32;
  uint64_t seed = 0;
};
struct ForwardOptions {
  Mode mode = Mode::inference;
  Generator* generator = nullptr;  // dropout RNG (default_generator() if null)
};

// Every parameter AND state tensor of the model: layer name -> name -> tensor. Deterministic: each
// tensor draws from its own stream, keyed by the seed and "layer.param" (as Axon folds the layer and
// parameter names into its key), so the same seed gives the same tensors and adding a layer leaves
// the others' values unchanged.
Params init(const Model& model, const InitOptions& options = {});
// Whether params[layer][name] is a state entry (batch_norm "mean"/"var"); false for names the
// model does not have.
bool is_state(const Model& model, const std::string& layer, const std::string& name);
Params trainable_params(const Model& model, const Params& all);  // every entry that is not state
Params state_params(const Model& model, const Params& all);      // only state entries (may be empty)
Params merge_params(const Params& a, const Params& b);            // union; b wins on conflicts
int64_t parameter_count(const Model& model);  // elements of every parameter and state tensor

struct ForwardResult {
  Tensor output;
  Params state;  // the new state entries (train mode), else empty
};
// Runs the graph in topological order on the functional layers (differentiable in `params`). Train
// mode runs dropout and batch statistics and returns the new state; inference mode skips dropout.
// A model with one input takes a tensor; several inputs take the name -> tensor map.
ForwardResult apply(const Model& model, const Params& params, const Tensor& input,
                    const ForwardOptions& options = {});
ForwardResult apply(const Model& model, const Params& params, const std::map<std::string, Tensor>& inputs,
                    const ForwardOptions& options = {});
// Inference mode under NoGrad, over the rows (axis 0) of the inputs `batch_size` at a time, each
// batch's output written into one result: peak memory is the output plus one batch's activations,
// whatever the number of rows. Inputs of at most batch_size rows run in one pass, as does
// batch_size 0 (for a model whose output rows are not its input rows: batching is then an error).
// With `out` defined, the result goes into it (shape, dtype and device of the result, as
// copy_into in <axon/out.hpp>; a slice of a larger tensor works) and `out` is returned.
struct PredictOptions {
  int64_t batch_size = 256;  // W2's CNN on 10k images on a CPU: 575 MiB peak (one pass: 3.1 GiB), bench/RESULTS.md
  Tensor out = {};
};
Tensor predict(const Model& model, const Params& params, const Tensor& input, const PredictOptions& options = {});
Tensor predict(const Model& model, const Params& params, const std::map<std::string, Tensor>& inputs,
               const PredictOptions& options = {});
// Chunks of items predict's CPU plans have run their leading convs and pools in since the start
// (README "Small-batch inference"; the tests' proof that a call was chunked).
int64_t predict_cpu_chunks();

// A table of the layers: Layer ("dense_0 (dense)") | Inputs (the layers feeding it) | Output Shape
// (f32[-1, 128]: dtype and shape, -1 for an unknown dim such as the batch) | Options
// (padding=same) | Parameters (kernel: f32[784, 128]), then Keras' three counts with their memory:
// "Total params", "Trainable params" and "Non-trainable params" (state entries such as batch_norm's
// mean and var; frozen parameters are not known to the model and count as trainable). Parameters
// are in `dtype`, or in the `params` dtype of a layer's mixed precision policy, whose `output` /
// `compute` dtype its Output Shape shows (<axon/mixed_precision.hpp>).
std::string summary(const Model& model, DType dtype = DType::f32);
// One line: Model(inputs={"input": [-1, 784]}, output="softmax_0", nodes=6).
std::ostream& operator<<(std::ostream& os, const Model& model);

// A user-defined layer: `forward` gets the inputs' values, this layer's parameters (created by init()
// from `params`) and the context; a stateful layer writes its new state into ctx.state in train mode.
// The output shape comes from `output_shape` when given, else from running `forward` once on zeros
// (unknown dims taken as 1; the first axis stays -1 when the first input's is).
struct CustomLayerOptions {
  std::vector<ParamSpec> params = {};
  std::function<Shape(const std::vector<Shape>& input_shapes)> output_shape = {};
  std::string op_name = "custom";
  std::vector<std::pair<std::string, std::string>> options = {};  // the summary's Options column
  std::string name = {};
};
Model layer(const std::vector<Model>& inputs, ForwardFn forward, CustomLayerOptions options = {});
Model layer(const Model& x, ForwardFn forward, CustomLayerOptions options = {});
Layer layer(ForwardFn forward, CustomLayerOptions options = {});

}  // namespace axon

#include <axon/model/builders.hpp>
#include <axon/model/graph_api.hpp>
#include <axon/model/model_file.hpp>
#include <axon/model/fashion_mnist_models.hpp>
