// Reading ONNX tensors and attributes for onnx::import_model. A file is untrusted input: every size
// is checked against the data actually present before anything is allocated or copied.
#include "import_proto.hpp"

#include <cstring>
#include <limits>

#include <axon/error.hpp>
#include <axon/ops.hpp>

namespace axon::onnx::detail {

using ::onnx::AttributeProto;
using ::onnx::TensorProto;

DType to_dtype(int32_t onnx_type, const std::string& who) {
  switch (onnx_type) {
    case TensorProto::FLOAT: return DType::f32;
    case TensorProto::DOUBLE: return DType::f64;
    case TensorProto::FLOAT16: return DType::f16;
    case TensorProto::BFLOAT16: return DType::bf16;
    case TensorProto::INT8:
    case TensorProto::INT16:
    case TensorProto::UINT16:
    case TensorProto::INT32: return DType::i32;
    case TensorProto::INT64: return DType::i64;
    case TensorProto::UINT8: return DType::u8;
    case TensorProto::BOOL: return DType::boolean;
    default: break;
  }
  const std::string name = TensorProto::DataType_IsValid(onnx_type)
                               ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnx_type))
                               : std::to_string(onnx_type);
  AXON_FAIL(kImport, "{}: element type {} is not supported (float, double, float16, bfloat16, int8..int64, uint8, bool are)",
            who, name);
}

namespace {

// Bytes per element as stored in raw_data (before int8 / int16 widen to int32).
size_t raw_itemsize(int32_t onnx_type) {
  switch (onnx_type) {
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL: return 1;
    case TensorProto::INT16:
    case TensorProto::UINT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return 2;
    case TensorProto::INT64:
    case TensorProto::DOUBLE: return 8;
    default: return 4;
  }
}

template <class T, class Src>
void copy_field(const Src& field, Tensor& out) {
  T* dst = static_cast<T*>(out.data_ptr());
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<T>(field.Get(i));
}

// Little-endian raw bytes of the narrow integer types into int32 storage.
template <class Narrow>
void widen_raw(const std::string& raw, Tensor& out) {
  int32_t* dst = static_cast<int32_t*>(out.data_ptr());
  for (size_t i = 0; i < raw.size() / sizeof(Narrow); ++i) {
    Narrow v;
    std::memcpy(&v, raw.data() + i * sizeof(Narrow), sizeof(Narrow));
    dst[i] = v;
  }
}

int typed_field_size(const TensorProto& t) {
  switch (t.data_type()) {
    case TensorProto::FLOAT: return t.float_data_size();
    case TensorProto::DOUBLE: return t.double_data_size();
    case TensorProto::INT64: return t.int64_data_size();
    default: return t.int32_data_size();  // int8..int32, uint8, uint16, bool, float16, bfloat16
  }
}

}  // namespace

Tensor to_tensor(const TensorProto& t, const std::string& who) {
  const std::string name = who + " tensor \"" + t.name() + "\"";
  AXON_CHECK(t.data_location() != TensorProto::EXTERNAL && t.external_data_size() == 0, kImport,
             "{} keeps its data in an external file, which is not supported", name);
  AXON_CHECK(!t.has_segment(), kImport, "{} is segmented, which is not supported", name);
  const DType dtype = to_dtype(t.data_type(), name);
  Shape shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    AXON_CHECK(d >= 0, kImport, "{} has a negative dim {}", name, d);
    AXON_CHECK(d == 0 || n <= std::numeric_limits<int32_t>::max() / d, kImport, "{} has too many elements", name);
    n *= d;
    shape.push_back(d);
  }
  Tensor out = empty(shape, dtype);
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    const size_t item = raw_itemsize(t.data_type());
    AXON_CHECK(raw.size() == static_cast<size_t>(n) * item, kImport, "{} is {} of {} but holds {} bytes ({} expected)",
               name, to_string(shape), dtype_name(dtype), raw.size(), static_cast<size_t>(n) * item);
    switch (t.data_type()) {
      case TensorProto::INT8: widen_raw<int8_t>(raw, out); break;
      case TensorProto::INT16: widen_raw<int16_t>(raw, out); break;
      case TensorProto::UINT16: widen_raw<uint16_t>(raw, out); break;
      default:
        if (n > 0) std::memcpy(out.data_ptr(), raw.data(), raw.size());
    }
    return out;
  }
  AXON_CHECK(typed_field_size(t) == n, kImport, "{} is {} but holds {} values", name, to_string(shape),
             typed_field_size(t));
  switch (t.data_type()) {
    case TensorProto::FLOAT: copy_field<float>(t.float_data(), out); break;
    case TensorProto::DOUBLE: copy_field<double>(t.double_data(), out); break;
    case TensorProto::INT64: copy_field<int64_t>(t.int64_data(), out); break;
    case TensorProto::UINT8:
    case TensorProto::BOOL: copy_field<uint8_t>(t.int32_data(), out); break;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: copy_field<uint16_t>(t.int32_data(), out); break;  // the bits, as ONNX stores them
    default: copy_field<int32_t>(t.int32_data(), out); break;
  }
  return out;
}

Attrs::Attrs(const ::onnx::NodeProto& node)
    : node_(node), who_("node \"" + node.name() + "\" (" + node.op_type() + ")") {}

const AttributeProto* Attrs::find(const std::string& name) const {
  for (const AttributeProto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

const AttributeProto& Attrs::get(const std::string& name, AttributeProto::AttributeType type) const {
  const AttributeProto* a = find(name);
  AXON_CHECK(a != nullptr, kImport, "{}: attribute \"{}\" is required", who_, name);
  AXON_CHECK(!a->ref_attr_name().size(), kImport, "{}: attribute \"{}\" refers to a function attribute", who_, name);
  AXON_CHECK(a->type() == type, kImport, "{}: attribute \"{}\" has type {}, {} expected", who_, name,
             AttributeProto::AttributeType_Name(a->type()), AttributeProto::AttributeType_Name(type));
  return *a;
}

int64_t Attrs::i(const std::string& name, int64_t fallback) const {
  return has(name) ? get(name, AttributeProto::INT).i() : fallback;
}
float Attrs::f(const std::string& name, float fallback) const {
  return has(name) ? get(name, AttributeProto::FLOAT).f() : fallback;
}
std::string Attrs::s(const std::string& name, const std::string& fallback) const {
  return has(name) ? get(name, AttributeProto::STRING).s() : fallback;
}
std::vector<int64_t> Attrs::ints(const std::string& name, std::vector<int64_t> fallback) const {
  if (!has(name)) return fallback;
  const auto& v = get(name, AttributeProto::INTS).ints();
  return {v.begin(), v.end()};
}
std::vector<float> Attrs::floats(const std::string& name) const {
  const auto& v = get(name, AttributeProto::FLOATS).floats();
  return {v.begin(), v.end()};
}
std::vector<std::string> Attrs::strings(const std::string& name) const {
  if (!has(name)) return {};
  const auto& v = get(name, AttributeProto::STRINGS).strings();
  return {v.begin(), v.end()};
}
Tensor Attrs::t(const std::string& name) const { return to_tensor(get(name, AttributeProto::TENSOR).t(), who_); }

void Attrs::unsupported_unless(const std::string& name, int64_t default_value) const {
  AXON_CHECK(i(name, default_value) == default_value, kImport, "{}: attribute {} = {} is not supported (only {})",
             who_, name, i(name, default_value), default_value);
}

std::vector<int64_t> int_values(const Tensor& t, const std::string& who, const char* what) {
  AXON_CHECK(t.defined(), kImport, "{}: {} is missing", who, what);
  AXON_CHECK(t.dtype() == DType::i64 || t.dtype() == DType::i32, kImport, "{}: {} must be int64, got {}", who, what,
             describe(t));
  AXON_CHECK(t.dim() <= 1, kImport, "{}: {} must be a scalar or a 1-d tensor, got {}", who, what, describe(t));
  return cast(t, DType::i64).to(Device::cpu()).to_vector<int64_t>();
}

}  // namespace axon::onnx::detail
