// CUDA all and any (any input dtype, bool result).
#include "reduce_impl.cuh"

namespace axon::kernels::cuda::reduce_impl {

void reduce_logical(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    void* ws, size_t ws_bytes, cudaStream_t s) {
  AXON_DISPATCH_ALL(dt, "all", {
    auto* xp = static_cast<const scalar_t*>(x);
    auto* yp = static_cast<bool*>(y);
    if (op == ReduceOp::all)
      launch(Logical<scalar_t, true>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "all");
    else
      launch(Logical<scalar_t, false>{}, xp, yp, outer, n, inner, ws, ws_bytes, s, "any");
  });
}

}  // namespace axon::kernels::cuda::reduce_impl
