// copy_into and the elementwise out= variants (matmul_out is in matmul.cpp, next to the GEMM).
#include <axon/out.hpp>

#include "elementwise.hpp"
#include "out_checks.hpp"

namespace axon {
namespace detail {

void check_out(const char* op, const Tensor& out, const Shape& shape, DType dtype, Device device) {
  AXON_CHECK(out.defined(), op, "the output tensor is undefined: allocate it with the result's shape {} and dtype {}",
             to_string(shape), dtype_name(dtype));
  AXON_CHECK(out.shape() == shape, op, "the output has shape {} but the result has shape {} (output {})",
             to_string(out.shape()), to_string(shape), describe(out));
  AXON_CHECK(out.dtype() == dtype, op, "the output has dtype {} but the result has dtype {} (output {})",
             dtype_name(out.dtype()), dtype_name(dtype), describe(out));
  AXON_CHECK(out.device() == device, op, "the output is on {} but the result is on {} (output {})",
             out.device().str(), device.str(), describe(out));
}

void check_not_recording(const char* op) {
  AXON_CHECK(!autograd::recording(), op,
             "writes into an existing tensor, which no gradient can flow through, while an autograd tape "
             "records: call it under NoGrad or outside value_and_grad");
}

}  // namespace detail

Tensor copy_into(const Tensor& dst, const Tensor& src) {
  detail::check_not_recording("copy_into");
  detail::check_defined("copy_into", src, "source");
  detail::check_out("copy_into", dst, src.shape(), src.dtype(), src.device());
  if (src.numel() != 0) detail::copy_to_view(src, dst);
  return dst;
}

namespace {

// The result dtype follows add / sub / mul / div: promoted, and floating for div.
Tensor binary_out(const char* op, kernels::BinaryOp kind, const Tensor& out, const Tensor& a, const Tensor& b) {
  detail::check_not_recording(op);
  detail::check_defined(op, a, "first input");
  detail::check_defined(op, b, "second input");
  Device dev = detail::same_device(op, {&a, &b});
  DType dt = promote_types(a.dtype(), b.dtype());
  if (kind == kernels::BinaryOp::div) dt = detail::float_or_f32(dt);
  AXON_CHECK(!(kind == kernels::BinaryOp::sub && dt == DType::boolean), op,
             "subtraction of bool tensors is not supported ({} and {}); use logical_xor", describe(a), describe(b));
  auto in = detail::binary_operands(op, a, b, dt);
  detail::check_out(op, out, in.shape, dt, dev);
  const int64_t n = out.numel();
  if (n == 0) return out;
  // The kernels write a contiguous output; a strided one gets the result through a copy.
  Tensor y = out.is_contiguous() ? out : Tensor(in.shape, dt, dev);
  AXON_ON_DEVICE(dev,
                 kernels::cpu::binary(kind, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], y.data_ptr(), n),
                 cuda::backend().binary(kind, dt, in.a.data_ptr(), in.ix[0], in.b.data_ptr(), in.ix[1], y.data_ptr(), n,
                                        detail::stream_for(dev)));
  if (!out.is_contiguous()) detail::copy_to_view(y, out);
  return out;
}

}  // namespace

Tensor add_out(const Tensor& out, const Tensor& a, const Tensor& b) {
  return binary_out("add_out", kernels::BinaryOp::add, out, a, b);
}
Tensor sub_out(const Tensor& out, const Tensor& a, const Tensor& b) {
  return binary_out("sub_out", kernels::BinaryOp::sub, out, a, b);
}
Tensor mul_out(const Tensor& out, const Tensor& a, const Tensor& b) {
  return binary_out("mul_out", kernels::BinaryOp::mul, out, a, b);
}
Tensor div_out(const Tensor& out, const Tensor& a, const Tensor& b) {
  return binary_out("div_out", kernels::BinaryOp::div, out, a, b);
}

}  // namespace axon
