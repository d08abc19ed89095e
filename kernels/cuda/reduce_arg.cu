// CUDA argmax and argmin (first index on ties, NaN counts as the extreme).
#include "reduce_impl.cuh"

namespace axon::kernels::cuda::reduce_impl {

void reduce_arg(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                void* ws, size_t ws_bytes, cudaStream_t s) {
  AXON_DISPATCH_ALL(dt, "argmax", {
    auto* xp = static_cast<const scalar_t*>(x);
    auto* yp = static_cast<int64_t*>(y);
    if (op == ReduceOp::argmax)
      launch(Arg<scalar_t, true>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "argmax");
    else
      launch(Arg<scalar_t, false>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "argmin");
  });
}

}  // namespace axon::kernels::cuda::reduce_impl
