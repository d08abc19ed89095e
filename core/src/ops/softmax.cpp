// softmax and log_softmax along one axis: one fused kernel each, and their backward formulas.
// Integer inputs are promoted to f32 (as the other floating math ops).
#include <axon/kernels/softmax.hpp>

#include "axis_layout.hpp"

namespace axon {

namespace {
using autograd::Grads;

// The input gradient of softmax (log-softmax) from its output y and output gradient g: one fused
// kernel (the composite y * (g - sum(g * y)) took four). Recorded with its own backward, written
// with differentiable ops, so gradients of gradients still work:
//   softmax:     dx = y (g - s), s = sum(g y):  dL/dg = y (h - sum(h y)),
//                                               dL/dy = h (g - s) - g sum(h y);
//   log-softmax: dx = g - e^y S, S = sum(g):    dL/dg = h - sum(h e^y),  dL/dy = -h e^y S.
Tensor softmax_backward(const Tensor& y, const Tensor& g_in, int64_t axis, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  AXON_CHECK(g_in.shape() == y.shape() && g_in.device() == y.device(), op,
             "the output gradient {} does not match the output {}", describe(g_in), describe(y));
  Tensor g = g_in.dtype() == y.dtype() ? g_in : cast(g_in, y.dtype());
  Tensor dx(y.shape(), y.dtype(), y.device());
  if (y.numel() > 0) {
    auto ly = detail::axis_layout(y, axis);
    auto lg = detail::axis_layout(g, axis);
    AXON_ON_DEVICE(y.device(),
                   kernels::cpu::softmax_backward(y.dtype(), ly.src.data_ptr(), lg.src.data_ptr(), dx.data_ptr(),
                                                  ly.outer, ly.n, ly.inner, log),
                   cuda::backend().softmax_backward(y.dtype(), ly.src.data_ptr(), lg.src.data_ptr(), dx.data_ptr(),
                                                    ly.outer, ly.n, ly.inner, log, detail::stream_for(y.device())));
  }
  // Sum over the axis; a 0-d tensor has none (a sum over all axes is itself).
  Axes red = y.dim() == 0 ? Axes{} : Axes{axis};
  autograd::record(op, {y, g}, {dx}, [y, g, red, log](const Grads& h) {
    if (log) {
      Tensor ey = exp(y);
      return Grads{neg(mul(mul(h[0], ey), sum(g, red, true))), sub(h[0], sum(mul(h[0], ey), red, true))};
    }
    Tensor hy = sum(mul(h[0], y), red, true);
    return Grads{sub(mul(h[0], sub(g, sum(mul(g, y), red, true))), mul(g, hy)), mul(y, sub(h[0], hy))};
  });
  return dx;
}

Tensor softmax_impl(const char* op, const Tensor& x, int64_t axis, bool log) {
  detail::check_defined(op, x);
  axis = normalize_axis(axis, x.dim(), op);
  Tensor xf = is_floating(x.dtype()) ? x : cast(x, DType::f32);
  Tensor y(xf.shape(), xf.dtype(), xf.device());
  if (xf.numel() > 0) {
    auto l = detail::axis_layout(xf, axis);
    AXON_ON_DEVICE(
        xf.device(),
        kernels::cpu::softmax(xf.dtype(), l.src.data_ptr(), y.data_ptr(), l.outer, l.n, l.inner, log),
        cuda::backend().softmax(xf.dtype(), l.src.data_ptr(), y.data_ptr(), l.outer, l.n, l.inner, log,
                                detail::stream_for(xf.device())));
  }
  autograd::record(op, {xf}, {y}, [y, axis, log](const Grads& g) { return Grads{softmax_backward(y, g[0], axis, log)}; });
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl("softmax", x, axis, false); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_impl("log_softmax", x, axis, true); }

}  // namespace axon
