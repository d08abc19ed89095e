#pragma once
// Internal to onnx::import_model: reading ONNX protobuf messages (tensors, attributes) into axon
// values, every malformed field an axon::Error naming the node or tensor.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include <axon/tensor.hpp>

namespace axon::onnx::detail {

inline constexpr const char* kImport = "onnx::import_model";

// TensorProto.DataType -> axon dtype (float, double, float16, bfloat16, int32, int64, uint8, bool),
// others an error naming `who`.
DType to_dtype(int32_t onnx_type, const std::string& who);

// The tensor's values on the CPU (raw_data or the typed fields; int8 / int16 / uint16 widen to
// int32). Checks dims, sizes against the data, and refuses external data.
Tensor to_tensor(const ::onnx::TensorProto& t, const std::string& who);

// A node's attributes, read with defaults and type checks.
class Attrs {
 public:
  explicit Attrs(const ::onnx::NodeProto& node);
  const std::string& who() const { return who_; }  // "node \"name\" (Op)" for messages
  size_t num_outputs() const { return static_cast<size_t>(node_.output_size()); }
  bool has(const std::string& name) const { return find(name) != nullptr; }
  int64_t i(const std::string& name, int64_t fallback) const;
  float f(const std::string& name, float fallback) const;
  std::string s(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> floats(const std::string& name) const;
  std::vector<std::string> strings(const std::string& name) const;
  Tensor t(const std::string& name) const;  // a TENSOR attribute (required)
  // Refuses an attribute the op reads but does not implement, unless it has the default value.
  void unsupported_unless(const std::string& name, int64_t default_value) const;

 private:
  const ::onnx::AttributeProto* find(const std::string& name) const;
  const ::onnx::AttributeProto& get(const std::string& name, ::onnx::AttributeProto::AttributeType type) const;
  const ::onnx::NodeProto& node_;
  std::string who_;
};

// An integer tensor's values (shape inputs of Reshape, Slice, ...), from any device.
std::vector<int64_t> int_values(const Tensor& t, const std::string& who, const char* what);

}  // namespace axon::onnx::detail
