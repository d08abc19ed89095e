// ONNX mappings of the normalization layers.
#include "exporter.hpp"

namespace axon::onnx::detail {

void add_norm_mappings(Mappings&) {}

}  // namespace axon::onnx::detail
