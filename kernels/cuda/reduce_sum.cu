// CUDA sum (and mean, through its scale) and prod.
#include "reduce_impl.cuh"

namespace axon::kernels::cuda::reduce_impl {

void reduce_sum_prod(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                     double scale, void* ws, size_t ws_bytes, cudaStream_t s) {
  AXON_DISPATCH_ALL(dt, "sum", {
    auto* xp = static_cast<const scalar_t*>(x);
    if (op == ReduceOp::sum) {
      Sum<scalar_t> r{scale};
      launch(r, xp, static_cast<typename Sum<scalar_t>::Out*>(y), outer, n, inner, ws, ws_bytes, s, "sum");
    } else {
      Prod<scalar_t> r{};
      launch(r, xp, static_cast<typename Prod<scalar_t>::Out*>(y), outer, n, inner, ws, ws_bytes, s, "prod");
    }
  });
}

}  // namespace axon::kernels::cuda::reduce_impl
