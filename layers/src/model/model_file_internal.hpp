#pragma once
// Internal to model files: the builder table (model_builders.cpp) and the graph JSON on its own
// (model_file.cpp), which the fuzz target drives without a file around it.
#include "spec.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace axon::detail {

// Calls one op's builder with the arguments read from its spec.
using SpecBuilder = std::function<Model(SpecReader& r)>;
// Null for ops without a builder of their own (custom layers, blocks, inputs).
const SpecBuilder* spec_builder(const std::string& op);

// The graph JSON of a model file ("axon.model"), and back. `where` starts error messages.
std::string model_to_json(const Model& model);
Model model_from_json(std::string_view text, const std::string& where);

}  // namespace axon::detail
