// softmax and log_softmax along one axis: one fused kernel each, and their backward formulas.
// Integer inputs are promoted to f32 (as the other floating math ops).
#include <axon/kernels/softmax.hpp>

#include "axis_layout.hpp"

namespace axon {

namespace {
using autograd::Grads;

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
        kernels::cuda::softmax(xf.dtype(), l.src.data_ptr(), y.data_ptr(), l.outer, l.n, l.inner, log,
                               detail::stream_for(xf.device())));
  }
  int64_t ax = x.dim() == 0 ? -1 : axis;  // sum over the axis; a 0-d tensor has none (sums over all = itself)
  Axes red = x.dim() == 0 ? Axes{} : Axes{ax};
  if (log) {
    autograd::record(op, {xf}, {y}, [y, red](const Grads& g) {
      return Grads{sub(g[0], mul(exp(y), sum(g[0], red, true)))};
    });
  } else {
    autograd::record(op, {xf}, {y}, [y, red](const Grads& g) {
      return Grads{mul(y, sub(g[0], sum(mul(g[0], y), red, true)))};
    });
  }
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl("softmax", x, axis, false); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_impl("log_softmax", x, axis, true); }

}  // namespace axon
