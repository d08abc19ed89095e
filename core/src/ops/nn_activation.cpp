// Fused activations: forward and backward kernels, with composite backwards for grad of grad.
#include <cmath>

#include <axon/kernels/activation.hpp>
#include <axon/nn_ops.hpp>

#include "elementwise.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::ActOp;
using kernels::ActParams;

Tensor prepare(const Tensor& x, DType dt) {
  Tensor c = detail::to_dtype_untracked(x, dt);
  return c.is_contiguous() ? c : contiguous(c);
}

// f'(x) written with axon ops: what the tape differentiates when the backward itself is recorded.
Tensor composite_derivative(ActOp op, const Tensor& x, const ActParams& p) {
  switch (op) {
    case ActOp::softplus: return sigmoid(x);
    case ActOp::log_sigmoid: return sigmoid(neg(x));
    case ActOp::silu: {
      Tensor s = sigmoid(x);
      return mul(s, add(mul(x, rsub(1, s)), 1));
    }
    case ActOp::mish: {
      Tensor t = tanh(softplus(x));
      return add(t, mul(mul(x, rsub(1, square(t))), sigmoid(x)));
    }
    case ActOp::elu: return where(gt(x, 0), ones_like(x), mul(exp(x), p.alpha));
    case ActOp::celu: return where(gt(x, 0), ones_like(x), exp(div(x, p.alpha)));
    case ActOp::selu: return where(gt(x, 0), full_like(x, p.gamma), mul(exp(x), p.alpha * p.gamma));
    case ActOp::gelu: {
      Tensor cdf = mul(add(erf(mul(x, 0.70710678118654752440)), 1), 0.5);
      Tensor pdf = mul(exp(mul(square(x), -0.5)), 0.39894228040143267794);
      return add(cdf, mul(x, pdf));
    }
    case ActOp::gelu_tanh: {
      const double k = 0.79788456080286535588, c = 0.044715;
      Tensor x2 = square(x);
      Tensor t = tanh(mul(mul(x, add(mul(x2, c), 1)), k));
      return add(mul(add(t, 1), 0.5), mul(mul(x, rsub(1, square(t))), mul(add(mul(x2, 3 * c), 1), 0.5 * k)));
    }
    // The kink rules of kernels::act::derivative, on the same u = alpha x.
    case ActOp::hard_sigmoid: {
      Tensor u = mul(x, p.alpha);
      return where(logical_and(gt(u, -p.beta), lt(u, 1 - p.beta)), full_like(x, p.alpha), zeros_like(x));
    }
    case ActOp::hard_silu: {
      Tensor u = mul(x, p.alpha);
      return where(lt(u, -p.beta), zeros_like(x), where(gt(u, 1 - p.beta), ones_like(x), add(mul(u, 2), p.beta)));
    }
    case ActOp::leaky_relu: return where(gt(x, 0), ones_like(x), full_like(x, p.alpha));
    case ActOp::softsign: return reciprocal(square(add(abs(x), 1)));
  }
  AXON_FAIL("activation", "unknown fused activation");
}

// x0: the op's input (connected to the tape); x: its contiguous floating copy the kernel reads.
Tensor fused_backward(ActOp op, const Tensor& x0, const Tensor& x, const Tensor& dy0, const ActParams& p) {
  if (autograd::recording()) return mul(dy0, composite_derivative(op, x0, p));
  Tensor dy = dy0.shape() == x.shape() ? dy0 : expand(dy0, x.shape());
  dy = prepare(dy, x.dtype());
  Tensor dx(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return dx;
  AXON_ON_DEVICE(x.device(),
                 kernels::cpu::activation_backward(op, x.dtype(), x.data_ptr(), dy.data_ptr(), dx.data_ptr(), n, p),
                 cuda::backend().activation_backward(op, x.dtype(), x.data_ptr(), dy.data_ptr(), dx.data_ptr(), n, p,
                                                     detail::stream_for(x.device())));
  return dx;
}

Tensor fused(const char* name, ActOp op, const Tensor& x0, const ActParams& p = {}) {
  detail::check_defined(name, x0);
  const DType dt = detail::float_or_f32(x0.dtype());
  Tensor x = prepare(x0, dt);
  Tensor y(x.shape(), dt, x.device());
  const int64_t n = x.numel();
  if (n > 0) {
    AXON_ON_DEVICE(x.device(), kernels::cpu::activation_forward(op, dt, x.data_ptr(), y.data_ptr(), n, p),
                   cuda::backend().activation_forward(op, dt, x.data_ptr(), y.data_ptr(), n, p,
                                                      detail::stream_for(x.device())));
  }
  autograd::record(name, {x0}, {y}, [op, x0, x, p](const Grads& g) {
    return Grads{fused_backward(op, x0, x, g[0], p)};
  });
  return y;
}
}  // namespace

Tensor softplus(const Tensor& x) { return fused("softplus", ActOp::softplus, x); }
Tensor log_sigmoid(const Tensor& x) { return fused("log_sigmoid", ActOp::log_sigmoid, x); }
Tensor silu(const Tensor& x) { return fused("silu", ActOp::silu, x); }
Tensor mish(const Tensor& x) { return fused("mish", ActOp::mish, x); }
Tensor elu(const Tensor& x, double alpha) { return fused("elu", ActOp::elu, x, {.alpha = alpha}); }
Tensor celu(const Tensor& x, double alpha) {
  AXON_CHECK(alpha != 0, "celu", "alpha must be nonzero (it divides x), got {}", alpha);
  return fused("celu", ActOp::celu, x, {.alpha = alpha});
}
Tensor selu(const Tensor& x, double alpha, double gamma) {
  return fused("selu", ActOp::selu, x, {.alpha = alpha, .gamma = gamma});
}
Tensor gelu_fused(const Tensor& x, bool tanh_approximation) {
  return fused("gelu", tanh_approximation ? ActOp::gelu_tanh : ActOp::gelu, x);
}
Tensor hard_sigmoid(const Tensor& x, double alpha, double beta) {
  return fused("hard_sigmoid", ActOp::hard_sigmoid, x, {.alpha = alpha, .beta = beta});
}
Tensor hard_silu(const Tensor& x, double alpha, double beta) {
  return fused("hard_silu", ActOp::hard_silu, x, {.alpha = alpha, .beta = beta});
}
Tensor hard_tanh(const Tensor& x, double lo, double hi) {
  AXON_CHECK(lo <= hi, "hard_tanh", "the lower bound {} exceeds the upper bound {}", lo, hi);
  Tensor y;
  {
    NoGrad no_grad;  // clamp's own gradient passes at the bounds; this op's does not
    y = clamp(x, Scalar(lo), Scalar(hi));
  }
  // PyTorch's hardtanh_backward: 0 where x <= lo or x >= hi (so at the kinks), NaN passes.
  autograd::record("hard_tanh", {x}, {y}, [x, lo, hi](const Grads& g) {
    return Grads{where(logical_or(le(x, lo), ge(x, hi)), zeros_like(g[0]), g[0])};
  });
  return y;
}
Tensor relu6(const Tensor& x) { return hard_tanh(x, 0.0, 6.0); }
Tensor leaky_relu(const Tensor& x, double alpha) { return fused("leaky_relu", ActOp::leaky_relu, x, {.alpha = alpha}); }
Tensor softsign(const Tensor& x) { return fused("softsign", ActOp::softsign, x); }

}  // namespace axon
