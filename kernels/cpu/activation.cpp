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

// Calls f.template operator()<Op>() for the runtime op.
template <class F>
void with_op(ActOp op, F&& f) {
  switch (op) {
    case ActOp::softplus: f.template operator()<ActOp::softplus>(); break;
    case ActOp::log_sigmoid: f.template operator()<ActOp::log_sigmoid>(); break;
    case ActOp::silu: f.template operator()<ActOp::silu>(); break;
    case ActOp::mish: f.template operator()<ActOp::mish>(); break;
    case ActOp::elu: f.template operator()<ActOp::elu>(); break;
    case ActOp::celu: f.template operator()<ActOp::celu>(); break;
    case ActOp::selu: f.template operator()<ActOp::selu>(); break;
    case ActOp::gelu: f.template operator()<ActOp::gelu>(); break;
    case ActOp::gelu_tanh: f.template operator()<ActOp::gelu_tanh>(); break;
    case ActOp::hard_sigmoid: f.template operator()<ActOp::hard_sigmoid>(); break;
    case ActOp::hard_silu: f.template operator()<ActOp::hard_silu>(); break;
    case ActOp::leaky_relu: f.template operator()<ActOp::leaky_relu>(); break;
    case ActOp::softsign: f.template operator()<ActOp::softsign>(); break;
  }
}
}  // namespace

void activation_forward(ActOp op, DType dt, const void* x, void* y, int64_t n, const ActParams& p) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation", {
    with_op(op, [&]<ActOp Op>() {
      fwd<Op>(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), n, p);
    });
  });
}

void activation_backward(ActOp op, DType dt, const void* x, const void* dy, void* dx, int64_t n,
                         const ActParams& p) {
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "activation_backward", {
    with_op(op, [&]<ActOp Op>() {
      bwd<Op>(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx), n,
              p);
    });
  });
}

}  // namespace axon::kernels::cpu
