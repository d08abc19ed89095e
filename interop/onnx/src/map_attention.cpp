// ONNX mappings of the multi-head attention.
#include "exporter.hpp"

namespace axon::onnx::detail {

void add_attention_mappings(Mappings&) {}

}  // namespace axon::onnx::detail
