// Binary arithmetic front-ends (NumPy broadcasting, dtype promotion) and their backward formulas.
#include "elementwise.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::BinaryOp;

// Computes a op b in dtype dt over the broadcast shape; no tape entry.
Tensor binary_raw(const char* name, BinaryOp op, const Tensor& a0, const Tensor& b0, DType dt, Device dev) {
  auto in = detail::binary_operands(name, a0, b0, dt);
  Tensor y(in.shape, dt, dev);
  const int64_t n = y.numel();
  if (n == 0) return y;
  AXON_ON_DEVICE(dev,
                 kernels::cpu::binary(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], y.data_ptr(), n),
                 cuda::backend().binary(op, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], y.data_ptr(), n,
                                        detail::stream_for(dev)));
  return y;
}

Tensor scalar_raw(BinaryOp op, const Tensor& a0, Scalar s, bool scalar_first, DType dt) {
  Tensor a = detail::to_dtype_untracked(a0, dt);
  Tensor y(a.shape(), dt, a.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  kernels::Indexer ix[1];
  const Tensor* ops[1] = {&a};
  detail::ew_indexers(a.shape(), ops, ix);
  AXON_ON_DEVICE(
      a.device(),
      kernels::cpu::binary_scalar(op, dt, a.data_ptr(), ix[0], s.value, scalar_first, y.data_ptr(), n),
      cuda::backend().binary_scalar(op, dt, a.data_ptr(), ix[0], s.value, scalar_first, y.data_ptr(), n,
                                    detail::stream_for(a.device())));
  return y;
}

Device check2(const char* name, const Tensor& a, const Tensor& b) {
  detail::check_defined(name, a, "first input");
  detail::check_defined(name, b, "second input");
  return detail::same_device(name, {&a, &b});
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Device dev = check2("add", a, b);
  Tensor y = binary_raw("add", BinaryOp::add, a, b, promote_types(a.dtype(), b.dtype()), dev);
  autograd::record("add", {a, b}, {y}, [](const Grads& g) { return Grads{g[0], g[0]}; });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Device dev = check2("sub", a, b);
  DType dt = promote_types(a.dtype(), b.dtype());
  // bool add/maximum are logical or, mul/minimum logical and (PyTorch's rule); sub has no such meaning.
  AXON_CHECK(dt != DType::boolean, "sub",
             "subtraction of bool tensors is not supported ({} and {}); use logical_xor", describe(a),
             describe(b));
  Tensor y = binary_raw("sub", BinaryOp::sub, a, b, dt, dev);
  autograd::record("sub", {a, b}, {y}, [](const Grads& g) { return Grads{g[0], neg(g[0])}; });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Device dev = check2("mul", a, b);
  Tensor y = binary_raw("mul", BinaryOp::mul, a, b, promote_types(a.dtype(), b.dtype()), dev);
  autograd::record("mul", {a, b}, {y}, [a, b](const Grads& g) {
    return Grads{is_floating(a.dtype()) ? mul(g[0], b) : Tensor(),
                 is_floating(b.dtype()) ? mul(g[0], a) : Tensor()};
  });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Device dev = check2("div", a, b);
  DType dt = detail::float_or_f32(promote_types(a.dtype(), b.dtype()));
  Tensor y = binary_raw("div", BinaryOp::div, a, b, dt, dev);
  autograd::record("div", {a, b}, {y}, [b, y](const Grads& g) {
    Tensor ga = div(g[0], b);
    return Grads{ga, is_floating(b.dtype()) ? neg(mul(ga, y)) : Tensor()};  // d(a/b)/db = -(a/b)/b
  });
  return y;
}

// Integer powers are computed in f32 (a negative integer exponent has no integer result).
Tensor pow(const Tensor& a, const Tensor& b) {
  Device dev = check2("pow", a, b);
  DType dt = detail::float_or_f32(promote_types(a.dtype(), b.dtype()));
  Tensor y = binary_raw("pow", BinaryOp::pow, a, b, dt, dev);
  autograd::record("pow", {a, b}, {y}, [a, b, y](const Grads& g) {
    // As PyTorch: d/da = b a^(b-1), zero where b == 0; d/db = a^b log a, zero where a == 0 and b >= 0.
    Tensor ga, gb;
    if (is_floating(a.dtype())) ga = where(ne(b, 0), mul(g[0], mul(b, pow(a, sub(b, 1)))), 0);
    if (is_floating(b.dtype())) gb = where(logical_or(ne(a, 0), lt(b, 0)), mul(g[0], mul(y, log(a))), 0);
    return Grads{ga, gb};
  });
  return y;
}

namespace {
// Ties split the gradient half and half (JAX's rule), so maximum(x, x) has gradient 1 for x.
Tensor extremum(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Device dev = check2(name, a, b);
  Tensor y = binary_raw(name, op, a, b, promote_types(a.dtype(), b.dtype()), dev);
  bool is_max = op == BinaryOp::maximum;
  autograd::record(name, {a, b}, {y}, [a, b, is_max](const Grads& g) {
    Tensor half = mul(g[0], 0.5);
    Tensor a_wins = is_max ? gt(a, b) : lt(a, b);
    Tensor b_wins = is_max ? lt(a, b) : gt(a, b);
    Tensor tie = eq(a, b);
    return Grads{where(a_wins, g[0], where(tie, half, 0)), where(b_wins, g[0], where(tie, half, 0))};
  });
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", BinaryOp::minimum, a, b); }

// ---- tensor op scalar

Tensor add(const Tensor& a, Scalar s) {
  detail::check_defined("add", a);
  Tensor y = scalar_raw(BinaryOp::add, a, s, false, detail::scalar_result_dtype(a.dtype(), s));
  autograd::record("add", {a}, {y}, [](const Grads& g) { return Grads{g[0]}; });
  return y;
}

Tensor sub(const Tensor& a, Scalar s) {
  detail::check_defined("sub", a);
  DType dt = detail::scalar_result_dtype(a.dtype(), s);
  Tensor y = scalar_raw(BinaryOp::sub, a, s, false, dt);
  autograd::record("sub", {a}, {y}, [](const Grads& g) { return Grads{g[0]}; });
  return y;
}

Tensor mul(const Tensor& a, Scalar s) {
  detail::check_defined("mul", a);
  Tensor y = scalar_raw(BinaryOp::mul, a, s, false, detail::scalar_result_dtype(a.dtype(), s));
  autograd::record("mul", {a}, {y}, [s](const Grads& g) { return Grads{mul(g[0], s)}; });
  return y;
}

Tensor div(const Tensor& a, Scalar s) {
  detail::check_defined("div", a);
  DType dt = detail::float_or_f32(detail::scalar_result_dtype(a.dtype(), s));
  Tensor y = scalar_raw(BinaryOp::div, a, s, false, dt);
  autograd::record("div", {a}, {y}, [s](const Grads& g) { return Grads{div(g[0], s)}; });
  return y;
}

Tensor rsub(Scalar s, const Tensor& b) {
  detail::check_defined("rsub", b);
  Tensor y = scalar_raw(BinaryOp::sub, b, s, true, detail::scalar_result_dtype(b.dtype(), s));
  autograd::record("rsub", {b}, {y}, [](const Grads& g) { return Grads{neg(g[0])}; });
  return y;
}

Tensor rdiv(Scalar s, const Tensor& b) {
  detail::check_defined("rdiv", b);
  DType dt = detail::float_or_f32(detail::scalar_result_dtype(b.dtype(), s));
  Tensor y = scalar_raw(BinaryOp::div, b, s, true, dt);
  autograd::record("rdiv", {b}, {y}, [b, y](const Grads& g) { return Grads{neg(div(mul(g[0], y), b))}; });
  return y;
}

}  // namespace axon
