#include <axon/dtype.hpp>
#include <axon/error.hpp>

namespace axon {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::boolean: return "bool";
  }
  return "?";
}

DType dtype_from_name(const std::string& n) {
  for (int i = 0; i < kNumDTypes; ++i) {
    auto t = static_cast<DType>(i);
    if (n == dtype_name(t)) return t;
  }
  if (n == "float32" || n == "float") return DType::f32;
  if (n == "float64" || n == "double") return DType::f64;
  if (n == "bfloat16") return DType::bf16;
  if (n == "float16" || n == "half") return DType::f16;
  if (n == "int32") return DType::i32;
  if (n == "int64") return DType::i64;
  if (n == "uint8") return DType::u8;
  AXON_FAIL("dtype", "unknown dtype name '{}'", n);
}

namespace {
int rank(DType t) {
  switch (t) {
    case DType::boolean: return 0;
    case DType::u8: return 1;
    case DType::i32: return 2;
    case DType::i64: return 3;
    case DType::f16: case DType::bf16: return 4;
    case DType::f32: return 5;
    case DType::f64: return 6;
  }
  return 0;
}
}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if ((a == DType::f16 && b == DType::bf16) || (a == DType::bf16 && b == DType::f16)) return DType::f32;
  return rank(a) >= rank(b) ? a : b;
}

namespace detail {
void unsupported_dtype(const char* op, DType dt) {
  AXON_FAIL(op, "dtype {} is not supported", dtype_name(dt));
}
}  // namespace detail

}  // namespace axon
