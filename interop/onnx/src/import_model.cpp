// ONNX import: to be implemented (issue 14, "ONNX import").
#include <axon/error.hpp>
#include <axon/onnx.hpp>

namespace axon::onnx {

Imported import_model(const std::string& path) {
  AXON_FAIL("onnx::import_model", "ONNX import is not implemented yet (reading {})", path);
}

}  // namespace axon::onnx
