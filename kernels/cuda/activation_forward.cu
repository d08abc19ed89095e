// CUDA fused activation forwards (every kernels::ActOp).
#include "activation_launch.cuh"

namespace axon::kernels::cuda {

namespace {
template <ActOp Op, class T>
struct Fwd {
  acc_t<T> alpha, gamma, beta;
  __device__ __forceinline__ T operator()(T x) const {
    return convert<T>(act::forward<Op, acc_t<T>>(convert<acc_t<T>>(x), alpha, gamma, beta));
  }
};
}  // namespace

void activation_forward(ActOp op, DType dt, const void* x, void* y, int64_t n, const ActParams& p,
                        cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation", {
    using A = acc_t<scalar_t>;
    act::with_op(op, [&]<ActOp Op>() {
      act_detail::launch1("activation", n, Fwd<Op, scalar_t>{A(p.alpha), A(p.gamma), A(p.beta)}, static_cast<scalar_t*>(y),
                          static_cast<const scalar_t*>(x), s);
    });
  });
}

}  // namespace axon::kernels::cuda
