// fused_dense: the GEMM (matmul's, OpenBLAS or cuBLAS), then bias + activation in one in-place pass;
// the backward forms act' and the bias gradient in one pass, then the two GEMMs of matmul's backward.
// One tape entry instead of matmul + add + activation's three, and no temporaries between them.
#include <axon/kernels/dense.hpp>
#include <axon/nn_ops.hpp>
#include <axon/out.hpp>

#include "fused_epilogue.hpp"
#include "internal.hpp"
#include "out_checks.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::DenseAct;
constexpr const char* kOp = "fused_dense";

// Whether y = act(x2 w + b) goes to the CPU kernel's dense_forward (its choice of a GEMM and the
// epilogue pass or one fused pass): contiguous operands on the CPU.
bool cpu_dense_fits(const Tensor& x2, const Tensor& w) {
  return x2.device().is_cpu() && x2.is_contiguous() && w.is_contiguous();
}

// y: [rows, n], contiguous.
void cpu_dense(DenseAct act, const Tensor& y, const Tensor& x2, const Tensor& w, const Tensor& b) {
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  kernels::cpu::dense_forward(act, y.dtype(), x2.data_ptr(), w.data_ptr(), bc.defined() ? bc.data_ptr() : nullptr,
                              y.data_ptr(), x2.size(0), w.size(0), w.size(1));
}

void check_operands(const Tensor& x, const Tensor& w, const Tensor& b) {
  const char* op = "fused_dense";
  detail::check_defined(op, x, "input");
  detail::check_defined(op, w, "kernel");
  AXON_CHECK(x.dim() >= 1, op, "the input must have rank >= 1 ([..., features]), got {}", describe(x));
  AXON_CHECK(w.dim() == 2, op, "the kernel must have shape [in, out], got {}", describe(w));
  AXON_CHECK(x.shape().back() == w.size(0), op, "input {} has {} features but the kernel {} expects {}", describe(x),
             x.shape().back(), describe(w), w.size(0));
  AXON_CHECK(is_floating(x.dtype()) && x.dtype() == w.dtype(), op,
             "input and kernel must have the same floating dtype, got {} and {}", describe(x), describe(w));
  if (b.defined()) {
    AXON_CHECK(b.dim() == 1 && b.size(0) == w.size(1), op, "bias must have shape [{}] for kernel {}, got {}",
               w.size(1), describe(w), describe(b));
    AXON_CHECK(b.dtype() == x.dtype(), op, "bias must have the input's dtype {}, got {}", dtype_name(x.dtype()),
               describe(b));
    detail::same_device(op, {&x, &w, &b});
  } else {
    detail::same_device(op, {&x, &w});
  }
}
}  // namespace

Tensor fused_dense(const Tensor& x, const Tensor& w, const Tensor& b, FusedActivation activation) {
  check_operands(x, w, b);
  const DenseAct act = detail::kernel_act(activation, kOp);
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64) {  // the 16-bit types: the composite ops
    Tensor z = matmul(x, w);
    return detail::activate(activation, b.defined() ? add(z, b) : z, kOp);
  }
  const int64_t in = w.size(0), out = w.size(1);
  Shape shape = x.shape();
  shape.back() = out;
  const int64_t rows = numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Tensor x2, y;
  {
    NoGrad ng;
    x2 = x.reshape({rows, in});
    if (cpu_dense_fits(x2, w)) {
      y = empty({rows, out}, x.dtype(), x.device());
      cpu_dense(act, y, x2, w, b);
    } else {
      y = matmul(x2, w);  // fresh and contiguous: the epilogue writes it in place
      detail::epilogue(act, y, b, rows, out);
    }
    y = y.reshape(shape);
  }
  if (!autograd::recording()) return y;
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  autograd::record("fused_dense", inputs, {y}, [x, x2, w, y, activation, act, rows, in, out,
                                               has_bias = b.defined()](const Grads& g) {
    Grads d(has_bias ? 3 : 2);
    const bool want_db = has_bias && autograd::needs_input_grad(2);
    Tensor dz, xm = x2;
    if (autograd::recording()) {  // grad of grad: differentiable ops on the recorded x and y
      dz = detail::composite_backward(activation, y, g[0], kOp).reshape({rows, out});
      xm = x.reshape({rows, in});
      if (want_db) d[2] = sum(dz, {0});
    } else {
      const Tensor dy = g[0].reshape({rows, out}).contiguous();
      auto [dzc, db] = detail::epilogue_backward(act, y.reshape({rows, out}), dy, want_db, rows, out);
      dz = dzc;
      if (want_db) d[2] = db;
    }
    if (autograd::needs_input_grad(0)) d[0] = matmul(dz, w.transpose(0, 1)).reshape(x.shape());
    if (autograd::needs_input_grad(1)) d[1] = matmul(xm.transpose(0, 1), dz);
    return d;
  });
  return y;
}

Tensor fused_dense_out(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b,
                       FusedActivation activation) {
  const char* op = "fused_dense_out";
  detail::check_not_recording(op);
  check_operands(x, w, b);
  Shape shape = x.shape();
  shape.back() = w.size(1);
  detail::check_out(op, out, shape, x.dtype(), x.device());
  if ((x.dtype() != DType::f32 && x.dtype() != DType::f64) || !out.is_contiguous())
    return copy_into(out, fused_dense(x, w, b, activation));
  const int64_t in = w.size(0), n = w.size(1);
  const int64_t rows = numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const Tensor y = out.reshape({rows, n}), x2 = x.reshape({rows, in});  // y: a view of `out`, contiguous
  const DenseAct act = detail::kernel_act(activation, "fused_dense_out");
  if (cpu_dense_fits(x2, w)) {
    cpu_dense(act, y, x2, w, b);
    return out;
  }
  matmul_out(y, x2, w);
  detail::epilogue(act, out, b, rows, n);
  return out;
}

}  // namespace axon
