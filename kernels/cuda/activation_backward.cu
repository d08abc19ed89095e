// CUDA fused activation backwards: dx = dy * f'(x) in one pass.
#include "activation_launch.cuh"

namespace axon::kernels::cuda {

namespace {
template <ActOp Op, class T>
struct Bwd {
  acc_t<T> alpha, gamma, beta;
  __device__ __forceinline__ T operator()(T x, T dy) const {
    using A = acc_t<T>;
    return convert<T>(convert<A>(dy) * act::derivative<Op, A>(convert<A>(x), alpha, gamma, beta));
  }
};
}  // namespace

void activation_backward(ActOp op, DType dt, const void* x, const void* dy, void* dx, int64_t n,
                         const ActParams& p, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation_backward", {
    using A = acc_t<scalar_t>;
    act::with_op(op, [&]<ActOp Op>() {
      act_detail::launch2("activation_backward", n, Bwd<Op, scalar_t>{A(p.alpha), A(p.gamma), A(p.beta)},
                          static_cast<scalar_t*>(dx), static_cast<const scalar_t*>(x),
                          static_cast<const scalar_t*>(dy), s);
    });
  });
}

}  // namespace axon::kernels::cuda
