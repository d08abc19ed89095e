#pragma once
// Model files: one safetensors file holds a model's graph and, optionally, its parameters. The
// tensors are ordinary safetensors entries named "<layer>/<param>" (Python's safetensors reads them);
// the graph is JSON, stored as the string value "axon.model" of the header's __metadata__, beside
// "axon.format_version". load_model rebuilds the graph with the same builders, options, names,
// policies, blocks and ties, so a loaded model's predictions equal the original's bit for bit.
// Not saved: frozen sets (FrozenParams belong to the training step) and C++ functions (custom layers
// load through register_custom_layer; an initializer given as a function keeps only its label).
// Included by <axon/model.hpp>.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <axon/model.hpp>

namespace axon {

// The model-file format this build writes; load_model refuses a file of a newer version.
inline constexpr int model_format_version = 1;

struct LoadedModel {
  Model model;
  Params params;  // empty when the file holds none
};

// `params` are checked against the model (check_params) and only the model's entries are written.
void save_model(const std::string& path, const Model& model, const Params& params = {});
// Throws axon::Error naming the file and what is wrong with it (not a model file, a newer format
// version, bad graph JSON, unknown op, an option of the wrong type, a cycle, a dangling input name,
// a custom op without a registered builder, parameters that do not fit the graph).
LoadedModel load_model(const std::string& path);

// Custom layers: a layer(...) node (or nx(), activation(x, fn), a node map_nodes gave a new forward)
// is saved as its op name, its inputs and its options (the summary's Options column). load_model rebuilds it by calling the builder registered for that op_name with the
// rebuilt inputs and the saved options, then gives the node its saved name. The builder must return
// one new layer(...) node over `inputs` (same params and output shape as the saved one).
using CustomLayerFactory =
    std::function<Model(const std::vector<Model>& inputs, const std::map<std::string, std::string>& options)>;
// Registers (or replaces) the builder for custom layers of op name `op`. Thread-safe.
void register_custom_layer(const std::string& op, CustomLayerFactory factory);

}  // namespace axon
