// layer_norm_last and rms_norm_last: fused kernels forward and backward (kernels/*/norm*).
#include <axon/kernels/norm.hpp>
#include <axon/norm_ops.hpp>

#include "elementwise.hpp"
#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

DType stat_dtype(DType dt) { return dt == DType::f64 ? DType::f64 : DType::f32; }

Tensor prepare(const Tensor& x, DType dt) {
  NoGrad ng;
  Tensor c = detail::to_dtype_untracked(x, dt);
  return c.is_contiguous() ? c : contiguous(c);
}

void check_param(const char* op, const char* what, const Tensor& p, const Tensor& x) {
  if (!p.defined()) return;
  int64_t n = x.shape().back();
  AXON_CHECK(p.dim() == 1 && p.size(0) == n, op,
             "{} must have shape [{}] (the last axis of the input {}), got {}", what, n, describe(x),
             describe(p));
  AXON_CHECK(is_floating(p.dtype()), op, "{} must be floating, got {}", what, describe(p));
}

// The backward as axon ops (for grad of grad): x0, gamma0 connected to the enclosing tape.
Grads composite_backward(bool rms, const Tensor& x0, const Tensor& gamma0, bool has_beta, double eps,
                         double shift, DType dt, const Tensor& g) {
  Tensor x = cast(x0, dt);
  Axes last{-1};
  Tensor xh, rs;
  if (rms) {
    rs = rsqrt(add(mean(square(x), last, true), eps));
    xh = mul(x, rs);
  } else {
    Tensor xc = sub(x, mean(x, last, true));
    rs = rsqrt(add(mean(square(xc), last, true), eps));
    xh = mul(xc, rs);
  }
  Tensor w;
  if (gamma0.defined()) w = rms && shift != 0 ? add(cast(gamma0, dt), shift) : cast(gamma0, dt);
  Tensor dxh = w.defined() ? mul(g, w) : g;
  Tensor inner = mul(xh, mean(mul(dxh, xh), last, true));
  if (!rms) inner = add(inner, mean(dxh, last, true));
  Tensor dx = mul(rs, sub(dxh, inner));
  Shape pshape{x.shape().back()};
  Tensor dgamma = gamma0.defined() ? sum_to(mul(g, xh), pshape) : Tensor();
  Tensor dbeta = has_beta ? sum_to(g, pshape) : Tensor();
  return {dx, dgamma, dbeta};
}

Tensor norm_impl(const char* op, bool rms, const Tensor& x0, const Tensor& gamma0, const Tensor& beta0,
                 double eps, double shift) {
  detail::check_defined(op, x0);
  AXON_CHECK(x0.dim() >= 1, op, "the input must have at least one axis, got {}", describe(x0));
  check_param(op, "gamma", gamma0, x0);
  check_param(op, "beta", beta0, x0);
  AXON_CHECK(eps >= 0, op, "epsilon must be >= 0, got {}", eps);
  const Device dev = detail::same_device(op, {&x0, &gamma0, &beta0});
  const DType dt = detail::float_or_f32(x0.dtype());
  const int64_t n = x0.shape().back();
  const int64_t rows = n == 0 ? 0 : x0.numel() / n;
  Tensor x = prepare(x0, dt);
  Tensor w, b;
  {
    NoGrad ng;
    if (gamma0.defined()) w = prepare(rms && shift != 0 ? add(cast(gamma0, dt), shift) : gamma0, dt);
    if (beta0.defined()) b = prepare(beta0, dt);
  }
  Tensor y(x.shape(), dt, dev);
  Tensor mu({rows}, stat_dtype(dt), dev), rstd({rows}, stat_dtype(dt), dev);
  const void* wp = w.defined() ? w.data_ptr() : nullptr;
  const void* bp = b.defined() ? b.data_ptr() : nullptr;
  if (rows * n > 0)
    AXON_ON_DEVICE(dev,
                   kernels::cpu::norm_forward(dt, x.data_ptr(), wp, bp, y.data_ptr(), mu.data_ptr(),
                                              rstd.data_ptr(), rows, n, eps, rms),
                   cuda::backend().norm_forward(dt, x.data_ptr(), wp, bp, y.data_ptr(), mu.data_ptr(),
                                                rstd.data_ptr(), rows, n, eps, rms, detail::stream_for(dev)));
  autograd::record(op, {x0, gamma0, beta0}, {y}, [=](const Grads& g) -> Grads {
    bool has_beta = beta0.defined();
    if (autograd::recording()) return composite_backward(rms, x0, gamma0, has_beta, eps, shift, dt, g[0]);
    Tensor dy = prepare(g[0], dt);
    Tensor dx(x.shape(), dt, dev);
    const void* wq = w.defined() ? w.data_ptr() : nullptr;
    if (rows * n > 0)
      AXON_ON_DEVICE(
          dev,
          kernels::cpu::norm_backward(dt, x.data_ptr(), wq, mu.data_ptr(), rstd.data_ptr(), dy.data_ptr(),
                                      dx.data_ptr(), rows, n, rms),
          cuda::backend().norm_backward(dt, x.data_ptr(), wq, mu.data_ptr(), rstd.data_ptr(), dy.data_ptr(),
                                        dx.data_ptr(), rows, n, rms, detail::stream_for(dev)));
    Tensor dgamma, dbeta;
    if (gamma0.defined() || has_beta) {
      int64_t chunks = 1;
#ifdef AXON_HAS_CUDA
      if (dev.is_cuda()) chunks = cuda::backend().norm_param_chunks(rows, n);
#endif
      Tensor part({2, chunks, n}, stat_dtype(dt), dev);
      if (n > 0)
        AXON_ON_DEVICE(
            dev,
            kernels::cpu::norm_param_partials(dt, x.data_ptr(), mu.data_ptr(), rstd.data_ptr(), dy.data_ptr(),
                                              part.data_ptr(), rows, n, chunks, rms),
            cuda::backend().norm_param_partials(dt, x.data_ptr(), mu.data_ptr(), rstd.data_ptr(),
                                                dy.data_ptr(), part.data_ptr(), rows, n, chunks, rms,
                                                detail::stream_for(dev)));
      Tensor sums = sum(part, {1});
      if (gamma0.defined()) dgamma = sums.select(0, 0);
      if (has_beta) dbeta = sums.select(0, 1);
    }
    return {dx, dgamma, dbeta};
  });
  return y;
}
}  // namespace

Tensor layer_norm_last(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  return norm_impl("layer_norm", false, x, gamma, beta, eps, 0);
}

Tensor rms_norm_last(const Tensor& x, const Tensor& gamma, double eps, double shift) {
  return norm_impl("rms_norm", true, x, gamma, Tensor(), eps, shift);
}

}  // namespace axon
