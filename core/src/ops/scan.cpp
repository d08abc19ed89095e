// cumsum along one axis; its gradient is the reverse cumsum of the incoming gradient.
#include <axon/kernels/scan.hpp>

#include "axis_layout.hpp"

namespace axon {

namespace {
using autograd::Grads;

#ifdef AXON_HAS_CUDA
void cuda_cumsum(const Tensor& src, const Tensor& y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  const size_t ws = cuda::backend().cumsum_workspace_bytes(outer, n, inner);
  Tensor w = ws ? empty({static_cast<int64_t>(ws)}, DType::u8, src.device()) : Tensor();
  cuda::backend().cumsum(src.dtype(), src.data_ptr(), y.data_ptr(), outer, n, inner, reverse,
                         ws ? w.data_ptr() : nullptr, ws, detail::stream_for(src.device()));
}
#endif

Tensor cumsum_impl(const Tensor& x, int64_t axis, bool reverse) {
  const char* op = "cumsum";
  detail::check_defined(op, x);
  axis = normalize_axis(axis, x.dim(), op);
  Tensor y(x.shape(), kernels::cumsum_out_dtype(x.dtype()), x.device());
  if (x.numel() > 0) {
    auto l = detail::axis_layout(x, axis);
    AXON_ON_DEVICE(
        x.device(),
        kernels::cpu::cumsum(x.dtype(), l.src.data_ptr(), y.data_ptr(), l.outer, l.n, l.inner, reverse),
        cuda_cumsum(l.src, y, l.outer, l.n, l.inner, reverse));
  }
  autograd::record(reverse ? "cumsum_reverse" : "cumsum", {x}, {y},
                   [axis, reverse](const Grads& g) { return Grads{cumsum_impl(g[0], axis, !reverse)}; });
  return y;
}
}  // namespace

Tensor cumsum(const Tensor& x, int64_t axis) { return cumsum_impl(x, axis, false); }

}  // namespace axon
