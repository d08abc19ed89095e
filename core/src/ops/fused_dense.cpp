// fused_dense: the GEMM (matmul's, OpenBLAS or cuBLAS), then bias + activation in one in-place pass;
// the backward forms act' and the bias gradient in one pass, then the two GEMMs of matmul's backward.
// One tape entry instead of matmul + add + activation's three, and no temporaries between them.
#include <axon/kernels/dense.hpp>
#include <axon/nn_ops.hpp>
#include <axon/out.hpp>

#include "internal.hpp"
#include "out_checks.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::DenseAct;

DenseAct kernel_act(FusedActivation a) {
  switch (a) {
    case FusedActivation::none: return DenseAct::none;
    case FusedActivation::relu: return DenseAct::relu;
    case FusedActivation::tanh: return DenseAct::tanh;
    case FusedActivation::sigmoid: return DenseAct::sigmoid;
  }
  AXON_FAIL("fused_dense", "unknown activation {}", static_cast<int>(a));
}

Tensor activate(FusedActivation a, const Tensor& z) {
  switch (a) {
    case FusedActivation::none: return z;
    case FusedActivation::relu: return relu(z);
    case FusedActivation::tanh: return tanh(z);
    case FusedActivation::sigmoid: return sigmoid(z);
  }
  AXON_FAIL("fused_dense", "unknown activation {}", static_cast<int>(a));
}

// dy * act'(z) from y = act(z), in differentiable ops (the backward recorded for grad of grad).
Tensor composite_backward(FusedActivation a, const Tensor& y, const Tensor& dy) {
  switch (a) {
    case FusedActivation::none: return dy;
    case FusedActivation::relu: return where(gt(y, 0), dy, 0);
    case FusedActivation::tanh: return mul(dy, rsub(1, square(y)));
    case FusedActivation::sigmoid: return mul(dy, mul(y, rsub(1, y)));
  }
  AXON_FAIL("fused_dense", "unknown activation {}", static_cast<int>(a));
}

// y[rows, n] (contiguous, the GEMM's result) = act(y + b) in place, on y's device.
void epilogue(DenseAct act, const Tensor& y, const Tensor& b, int64_t rows, int64_t n) {
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  const void* bp = bc.defined() ? bc.data_ptr() : nullptr;
  AXON_ON_DEVICE(y.device(), kernels::cpu::dense_epilogue(act, y.dtype(), y.data_ptr(), bp, rows, n),
                 cuda::backend().dense_epilogue(act, y.dtype(), y.data_ptr(), bp, rows, n,
                                                detail::stream_for(y.device())));
}

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
  const DenseAct act = kernel_act(activation);
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64) {  // the 16-bit types: the composite ops
    Tensor z = matmul(x, w);
    return activate(activation, b.defined() ? add(z, b) : z);
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
      epilogue(act, y, b, rows, out);
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
      dz = composite_backward(activation, y, g[0]).reshape({rows, out});
      xm = x.reshape({rows, in});
      if (want_db) d[2] = sum(dz, {0});
    } else {
      const Tensor dy = g[0].reshape({rows, out}).contiguous();
      const Tensor yc = y.reshape({rows, out});
      Tensor db = want_db ? empty({out}, dy.dtype(), dy.device()) : Tensor();
      dz = act == DenseAct::none ? dy : empty({rows, out}, dy.dtype(), dy.device());
      void* dz_ptr = act == DenseAct::none ? nullptr : dz.data_ptr();
      void* db_ptr = want_db ? db.data_ptr() : nullptr;
      AXON_ON_DEVICE(dy.device(),
                     kernels::cpu::dense_epilogue_backward(act, dy.dtype(), yc.data_ptr(), dy.data_ptr(), dz_ptr,
                                                           db_ptr, rows, out),
                     cuda::backend().dense_epilogue_backward(act, dy.dtype(), yc.data_ptr(), dy.data_ptr(), dz_ptr,
                                                             db_ptr, rows, out, detail::stream_for(dy.device())));
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
  if (cpu_dense_fits(x2, w)) {
    cpu_dense(kernel_act(activation), y, x2, w, b);
    return out;
  }
  matmul_out(y, x2, w);
  epilogue(kernel_act(activation), out, b, rows, n);
  return out;
}

}  // namespace axon
