#include <axon/kernels/activation.hpp>
#include <axon/kernels/scalar.hpp>

namespace axon::kernels::cpu {

namespace {
template <ActOp Op, class T>
void fwd(const T* x, T* y, int64_t n, const ActParams& p) {
  using A = acc_t<T>;
  const A al = A(p.alpha), ga = A(p.gamma), be = A(p.beta);
  for (int64_t i = 0; i < n; ++i) y[i] = convert<T>(act::forward<Op, A>(convert<A>(x[i]), al, ga, be));
}
template <ActOp Op, class T>
void bwd(const T* x, const T* dy, T* dx, int64_t n, const ActParams& p) {
  using A = acc_t<T>;
  const A al = A(p.alpha), ga = A(p.gamma), be = A(p.beta);
  for (int64_t i = 0; i < n; ++i)
    dx[i] = convert<T>(convert<A>(dy[i]) * act::derivative<Op, A>(convert<A>(x[i]), al, ga, be));
}

}  // namespace

void activation_forward(ActOp op, DType dt, const void* x, void* y, int64_t n, const ActParams& p) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation", {
    act::with_op(op, [&]<ActOp Op>() {
      fwd<Op>(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), n, p);
    });
  });
}

void activation_backward(ActOp op, DType dt, const void* x, const void* dy, void* dx, int64_t n,
                         const ActParams& p) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation_backward", {
    act::with_op(op, [&]<ActOp Op>() {
      bwd<Op>(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx), n,
              p);
    });
  });
}

}  // namespace axon::kernels::cpu
