#pragma once
// Fused activation kernels: one pass over memory for the forward (x -> y) and one for the backward
// (x, dy -> dx) of activations whose composite form would cost several passes. Contiguous arrays of
// n elements of a floating dtype; 16-bit types compute in float. The scalar formulas are below, shared
// by the CPU and CUDA kernels so that both devices compute the same thing.
#include <math.h>

#include <axon/kernels/common.hpp>

namespace axon::kernels {

enum class ActOp : uint8_t {
  softplus, log_sigmoid, silu, mish, elu, celu, selu, gelu, gelu_tanh,
  hard_sigmoid, hard_silu, leaky_relu, softsign
};
struct ActParams {
  double alpha = 1, gamma = 1;  // elu/celu/selu/leaky_relu/hard_sigmoid alpha; selu gamma
  double beta = 0;              // hard_sigmoid / hard_silu offset
};

namespace act {
AXON_HD float f_exp(float x) { return ::expf(x); }
AXON_HD double f_exp(double x) { return ::exp(x); }
AXON_HD float f_expm1(float x) { return ::expm1f(x); }
AXON_HD double f_expm1(double x) { return ::expm1(x); }
AXON_HD float f_log1p(float x) { return ::log1pf(x); }
AXON_HD double f_log1p(double x) { return ::log1p(x); }
AXON_HD float f_tanh(float x) { return ::tanhf(x); }
AXON_HD double f_tanh(double x) { return ::tanh(x); }
AXON_HD float f_erf(float x) { return ::erff(x); }
AXON_HD double f_erf(double x) { return ::erf(x); }
AXON_HD float f_abs(float x) { return ::fabsf(x); }
AXON_HD double f_abs(double x) { return ::fabs(x); }

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows. NaN propagates through log1p.
template <class A> AXON_HD A softplus(A x) { return (x > A(0) ? x : A(0)) + f_log1p(f_exp(-f_abs(x))); }
// 1 / (1 + e^-x) without overflow on either side.
template <class A> AXON_HD A sigmoid(A x) {
  if (x >= A(0)) return A(1) / (A(1) + f_exp(-x));
  A e = f_exp(x);
  return e / (A(1) + e);
}

// clip(v, 0, 1), NaN passing through
template <class A> AXON_HD A clip01(A v) { return v < A(0) ? A(0) : (v > A(1) ? A(1) : v); }

template <ActOp Op, class A>
AXON_HD A forward(A x, A alpha, A gamma, A beta) {
  if constexpr (Op == ActOp::softplus) {
    return softplus(x);
  } else if constexpr (Op == ActOp::log_sigmoid) {
    return (x < A(0) ? x : A(0)) - f_log1p(f_exp(-f_abs(x)));
  } else if constexpr (Op == ActOp::silu) {
    return x * sigmoid(x);
  } else if constexpr (Op == ActOp::mish) {
    return x * f_tanh(softplus(x));
  } else if constexpr (Op == ActOp::elu) {
    return x > A(0) ? x : alpha * f_expm1(x);
  } else if constexpr (Op == ActOp::celu) {
    return x > A(0) ? x : alpha * f_expm1(x / alpha);
  } else if constexpr (Op == ActOp::selu) {
    return gamma * (x > A(0) ? x : alpha * f_expm1(x));
  } else if constexpr (Op == ActOp::gelu) {
    return A(0.5) * x * (A(1) + f_erf(x * A(0.70710678118654752440)));
  } else if constexpr (Op == ActOp::hard_sigmoid) {
    return clip01(alpha * x + beta);
  } else if constexpr (Op == ActOp::hard_silu) {
    return x * clip01(alpha * x + beta);
  } else if constexpr (Op == ActOp::leaky_relu) {
    return x > A(0) ? x : alpha * x;
  } else if constexpr (Op == ActOp::softsign) {
    return x / (f_abs(x) + A(1));
  } else {
    const A k = A(0.79788456080286535588), c = A(0.044715);
    return A(0.5) * x * (A(1) + f_tanh(k * (x + c * x * x * x)));
  }
}

// dy/dx at x (the backward multiplies by dy). At a kink the one-sided value PyTorch uses is taken:
// relu'(0) = 0 and relu6 / hard_tanh are 0 at their bounds (core ops), hard_sigmoid 0 at both
// ends, hard_silu the inner formula's value at both ends, leaky_relu'(0) = alpha, elu'(0) = alpha,
// celu'(0) = 1, selu'(0) = gamma alpha (the x <= 0 branch).
template <ActOp Op, class A>
AXON_HD A derivative(A x, A alpha, A gamma, A beta) {
  if constexpr (Op == ActOp::softplus) {
    return sigmoid(x);
  } else if constexpr (Op == ActOp::log_sigmoid) {
    return sigmoid(-x);
  } else if constexpr (Op == ActOp::silu) {
    A s = sigmoid(x);
    return s * (A(1) + x * (A(1) - s));
  } else if constexpr (Op == ActOp::mish) {
    A t = f_tanh(softplus(x));
    return t + x * (A(1) - t * t) * sigmoid(x);
  } else if constexpr (Op == ActOp::elu) {
    return x > A(0) ? A(1) : alpha * f_exp(x);
  } else if constexpr (Op == ActOp::celu) {
    return x > A(0) ? A(1) : f_exp(x / alpha);
  } else if constexpr (Op == ActOp::selu) {
    return gamma * (x > A(0) ? A(1) : alpha * f_exp(x));
  } else if constexpr (Op == ActOp::gelu) {
    A cdf = A(0.5) * (A(1) + f_erf(x * A(0.70710678118654752440)));
    A pdf = f_exp(A(-0.5) * x * x) * A(0.39894228040143267794);
    return cdf + x * pdf;
  } else if constexpr (Op == ActOp::hard_sigmoid) {
    // PyTorch's hardsigmoid_backward: 0 at both kinks. The kinks are tested on u = alpha x, a
    // product no compiler fuses into an FMA, so CPU and CUDA agree exactly at them.
    A u = alpha * x;
    return u > -beta && u < A(1) - beta ? alpha : A(0);
  } else if constexpr (Op == ActOp::hard_silu) {
    // PyTorch's hardswish_backward: the inner formula 2 alpha x + beta holds on the closed
    // interval, so the kinks get -beta and 2 - beta (-0.5 at x = -3 and 1.5 at x = 3).
    A u = alpha * x;
    return u < -beta ? A(0) : (u > A(1) - beta ? A(1) : A(2) * u + beta);
  } else if constexpr (Op == ActOp::leaky_relu) {
    return x > A(0) ? A(1) : alpha;
  } else if constexpr (Op == ActOp::softsign) {
    A d = f_abs(x) + A(1);
    return A(1) / (d * d);
  } else {
    const A k = A(0.79788456080286535588), c = A(0.044715);
    A x2 = x * x;
    A t = f_tanh(k * x * (A(1) + c * x2));
    return A(0.5) * (A(1) + t) + A(0.5) * x * (A(1) - t * t) * k * (A(1) + A(3) * c * x2);
  }
}
// Calls f.template operator()<Op>() for the runtime op (host side of CPU and CUDA kernels alike).
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

}  // namespace act

namespace cpu {
void activation_forward(ActOp op, DType dt, const void* x, void* y, int64_t n, const ActParams& p);
void activation_backward(ActOp op, DType dt, const void* x, const void* dy, void* dx, int64_t n,
                         const ActParams& p);
}  // namespace cpu
namespace cuda {
void activation_forward(ActOp op, DType dt, const void* x, void* y, int64_t n, const ActParams& p,
                        cudaStream_t s);
void activation_backward(ActOp op, DType dt, const void* x, const void* dy, void* dx, int64_t n,
                         const ActParams& p, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
