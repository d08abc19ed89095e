// ONNX mappings of the shape layers and combinators.
#include "exporter.hpp"

namespace axon::onnx::detail {

void add_shape_mappings(Mappings&) {}

}  // namespace axon::onnx::detail
