// ONNX mappings of the lstm, gru.
#include "exporter.hpp"

namespace axon::onnx::detail {

void add_recurrent_mappings(Mappings&) {}

}  // namespace axon::onnx::detail
