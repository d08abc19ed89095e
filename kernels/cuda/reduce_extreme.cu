// CUDA max and min (NaN propagates).
#include "reduce_impl.cuh"

namespace axon::kernels::cuda::reduce_impl {

void reduce_extreme(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    void* ws, size_t ws_bytes, cudaStream_t s) {
  AXON_DISPATCH_ALL(dt, "max", {
    auto* xp = static_cast<const scalar_t*>(x);
    auto* yp = static_cast<scalar_t*>(y);
    if (op == ReduceOp::max)
      launch(Extreme<scalar_t, true>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "max");
    else
      launch(Extreme<scalar_t, false>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "min");
  });
}

}  // namespace axon::kernels::cuda::reduce_impl
