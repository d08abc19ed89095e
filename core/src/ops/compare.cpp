// Comparison and logical front-ends: bool results, no gradient.
#include "elementwise.hpp"

namespace axon {

namespace {
using kernels::CompareOp;

// Both operands checked, promoted to one dtype (truthiness survives promotion: nonzero stays
// nonzero) and broadcast; `run(device, dtype, operands, out, n)` fills the bool result.
template <class Run>
Tensor bool_binary(const char* name, const Tensor& a0, const Tensor& b0, Run run) {
  detail::check_defined(name, a0, "first input");
  detail::check_defined(name, b0, "second input");
  Device dev = detail::same_device(name, {&a0, &b0});
  DType dt = promote_types(a0.dtype(), b0.dtype());
  auto in = detail::binary_operands(name, a0, b0, dt);
  Tensor y(in.shape, DType::boolean, dev);
  const int64_t n = y.numel();
  if (n > 0) run(dev, dt, in, static_cast<bool*>(y.data_ptr()), n);
  return y;
}

Tensor compare_tt(const char* name, CompareOp op, const Tensor& a0, const Tensor& b0) {
  return bool_binary(name, a0, b0, [op](Device dev, DType dt, const auto& in, bool* yp, int64_t n) {
    AXON_ON_DEVICE(dev, kernels::cpu::compare(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], yp, n),
                   cuda::backend().compare(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], yp, n,
                                           detail::stream_for(dev)));
  });
}

// Compared in the tensor's own dtype when the scalar is exactly representable there (integral
// scalars against integer tensors, any scalar against float tensors), else in f64, so that
// i32 < 1.5 and bool == 2 mean what they say.
Tensor compare_ts(const char* name, CompareOp op, const Tensor& a0, Scalar s) {
  detail::check_defined(name, a0);
  DType dt = a0.dtype();
  if (!is_floating(dt)) {
    bool fits = s.integral && (dt == DType::i64 ||
                               (dt == DType::i32 && s.value >= -2147483648.0 && s.value <= 2147483647.0) ||
                               (dt == DType::u8 && s.value >= 0 && s.value <= 255) ||
                               (dt == DType::boolean && (s.value == 0 || s.value == 1)));
    if (!fits) dt = DType::f64;
  }
  Tensor a = detail::to_dtype_untracked(a0, dt);
  Tensor y(a.shape(), DType::boolean, a.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  kernels::Indexer ix[1];
  const Tensor* ops[1] = {&a};
  detail::ew_indexers(a.shape(), ops, ix);
  auto* yp = static_cast<bool*>(y.data_ptr());
  AXON_ON_DEVICE(a.device(), kernels::cpu::compare_scalar(op, dt, a.data_ptr(), ix[0], s.value, yp, n),
                 cuda::backend().compare_scalar(op, dt, a.data_ptr(), ix[0], s.value, yp, n,
                                                detail::stream_for(a.device())));
  return y;
}

Tensor logical_tt(const char* name, kernels::LogicalOp op, const Tensor& a0, const Tensor& b0) {
  return bool_binary(name, a0, b0, [op](Device dev, DType dt, const auto& in, bool* yp, int64_t n) {
    AXON_ON_DEVICE(dev, kernels::cpu::logical(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], yp, n),
                   cuda::backend().logical(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], yp, n,
                                           detail::stream_for(dev)));
  });
}
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare_tt("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_tt("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_tt("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_tt("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_tt("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_tt("ge", CompareOp::ge, a, b); }
Tensor eq(const Tensor& a, Scalar b) { return compare_ts("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, Scalar b) { return compare_ts("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, Scalar b) { return compare_ts("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, Scalar b) { return compare_ts("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, Scalar b) { return compare_ts("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, Scalar b) { return compare_ts("ge", CompareOp::ge, a, b); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return logical_tt("logical_and", kernels::LogicalOp::land, a, b);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return logical_tt("logical_or", kernels::LogicalOp::lor, a, b);
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return logical_tt("logical_xor", kernels::LogicalOp::lxor, a, b);
}
// x == 0 is "not x" for every dtype (NaN is truthy, and NaN == 0 is false).
Tensor logical_not(const Tensor& a) {
  detail::check_defined("logical_not", a);
  return compare_ts("logical_not", CompareOp::eq, a, Scalar(0));
}

}  // namespace axon
