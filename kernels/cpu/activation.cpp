#include <axon/kernels/activation.hpp>
#include <axon/kernels/scalar.hpp>

#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {
// Elements per thread at least.
constexpr int64_t kGrain = int64_t(1) << 16;

// The float formulas of the CPU: act::forward / act::derivative's values (the CUDA kernels share
// those) over vmath's vectorizable functions, rearranged where that avoids a cancellation or a
// transcendental: mish's tanh(softplus(x)) is n / (n + 2) with n = e^x (e^x + 2); gelu is x Phi(x);
// 1 + tanh(u) is 2 sigmoid(2u). Selects instead of ?: keep the loops vectorizable (see vmath.hpp).
struct Sig {  // sigmoid(v) and 1 - sigmoid(v), each without cancellation
  float s, oms;
};
AXON_VM_INLINE Sig sig_pair(float v) {
  const float e = vm::exp(-vm::fabs(v));
  const float inv = 1.0f / (1.0f + e);
  const bool pos = v >= 0.0f;
  return {vm::select(pos, 1.0f, e) * inv, vm::select(pos, e, 1.0f) * inv};
}
AXON_VM_INLINE float clip01(float v) { return vm::at_least(vm::at_most(v, 1.0f), 0.0f); }
constexpr float kSqrt2OverPi = 0.79788456080286535588f, kGeluC = 0.044715f;

template <ActOp Op>
AXON_VM_INLINE float forward_f32(float x, float al, float ga, float be) {
  using vm::select;
  if constexpr (Op == ActOp::softplus) {
    return select(x > 0.0f, x, 0.0f) + vm::log1p(vm::exp(-vm::fabs(x)));
  } else if constexpr (Op == ActOp::log_sigmoid) {
    return select(x < 0.0f, x, 0.0f) - vm::log1p(vm::exp(-vm::fabs(x)));
  } else if constexpr (Op == ActOp::silu) {
    return x * vm::sigmoid(x);
  } else if constexpr (Op == ActOp::mish) {
    const float e = vm::exp(vm::at_most(x, 20.0f));  // from 20 on, tanh(softplus(x)) rounds to 1
    const float n = e * (e + 2.0f);
    return x * (n / (n + 2.0f));
  } else if constexpr (Op == ActOp::elu) {
    return select(x > 0.0f, x, al * vm::expm1(x));
  } else if constexpr (Op == ActOp::celu) {
    return select(x > 0.0f, x, al * vm::expm1(x / al));
  } else if constexpr (Op == ActOp::selu) {
    return ga * select(x > 0.0f, x, al * vm::expm1(x));
  } else if constexpr (Op == ActOp::gelu) {
    return x * vm::normal_cdf(x);
  } else if constexpr (Op == ActOp::gelu_tanh) {
    return x * vm::sigmoid(2.0f * kSqrt2OverPi * (x + kGeluC * x * x * x));
  } else if constexpr (Op == ActOp::hard_sigmoid) {
    return clip01(al * x + be);
  } else if constexpr (Op == ActOp::hard_silu) {
    return x * clip01(al * x + be);
  } else if constexpr (Op == ActOp::leaky_relu) {
    return select(x > 0.0f, x, al * x);
  } else {
    static_assert(Op == ActOp::softsign);
    return x / (vm::fabs(x) + 1.0f);
  }
}

template <ActOp Op>
AXON_VM_INLINE float derivative_f32(float x, float al, float ga, float be) {
  using vm::select;
  if constexpr (Op == ActOp::softplus) {
    return vm::sigmoid(x);
  } else if constexpr (Op == ActOp::log_sigmoid) {
    return vm::sigmoid(-x);
  } else if constexpr (Op == ActOp::silu) {
    const Sig s = sig_pair(x);
    return s.s * (1.0f + x * s.oms);
  } else if constexpr (Op == ActOp::mish) {
    // t + x (1 - t^2) sigmoid(x) with t = n / (n + 2): 1 - t^2 = 4 (n + 1) / (n + 2)^2.
    const float e = vm::exp(vm::at_most(x, 20.0f));
    const float n = e * (e + 2.0f), d = n + 2.0f;
    const float d1 = x * (4.0f * (n + 1.0f)) * e / (d * d * (1.0f + e));
    return select(x > 20.0f, 1.0f, n / d + d1);  // beyond 20 the second term is below 1e-15
  } else if constexpr (Op == ActOp::elu) {
    return select(x > 0.0f, 1.0f, al * vm::exp(x));
  } else if constexpr (Op == ActOp::celu) {
    return select(x > 0.0f, 1.0f, vm::exp(x / al));
  } else if constexpr (Op == ActOp::selu) {
    return ga * select(x > 0.0f, 1.0f, al * vm::exp(x));
  } else if constexpr (Op == ActOp::gelu) {
    return vm::normal_cdf(x) + x * vm::normal_pdf(x);
  } else if constexpr (Op == ActOp::gelu_tanh) {
    // (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2 with t = tanh(u) = 2 s - 1, s = sigmoid(2u):
    // s + 2 x s (1 - s) k (1 + 3 c x^2). Beyond |x| = 10 (|2u| > 87) it is s's limit, 0 or 1, exactly
    // as in float, which keeps x^3's overflow out.
    const float xc = vm::at_least(vm::at_most(x, 10.0f), -10.0f);
    const Sig p = sig_pair(2.0f * kSqrt2OverPi * (xc + kGeluC * xc * xc * xc));
    const float d = p.s + (2.0f * kSqrt2OverPi) * xc * (p.s * p.oms) * (1.0f + 3.0f * kGeluC * xc * xc);
    return select(x > 10.0f, 1.0f, select(x < -10.0f, 0.0f, d));
  } else if constexpr (Op == ActOp::hard_sigmoid) {  // the kink rules of act::derivative, on u = al x
    const float u = al * x;
    return select((u > -be) & (u < 1.0f - be), al, 0.0f);
  } else if constexpr (Op == ActOp::hard_silu) {
    const float u = al * x;
    return select(u < -be, 0.0f, select(u > 1.0f - be, 1.0f, 2.0f * u + be));
  } else if constexpr (Op == ActOp::leaky_relu) {
    return select(x > 0.0f, 1.0f, al);
  } else {
    static_assert(Op == ActOp::softsign);
    const float d = vm::fabs(x) + 1.0f;
    return 1.0f / (d * d);
  }
}

// The f32 loops, with AVX2 and AVX-512 clones (vmath.hpp).
template <ActOp Op>
AXON_VM_CLONES void fwd_f32(const float* x, float* y, int64_t n, float al, float ga, float be) {
  for (int64_t i = 0; i < n; ++i) y[i] = forward_f32<Op>(x[i], al, ga, be);
}
template <ActOp Op>
AXON_VM_CLONES void bwd_f32(const float* x, const float* dy, float* dx, int64_t n, float al, float ga, float be) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_f32<Op>(x[i], al, ga, be);
}

// f32 and the 16-bit floats (computed in f32) take the formulas above, f64 act:: (the C library).
template <ActOp Op, class T>
void fwd(const T* x, T* y, int64_t n, const ActParams& p) {
  using A = acc_t<T>;
  const A al = A(p.alpha), ga = A(p.gamma), be = A(p.beta);
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) {
    if constexpr (std::is_same_v<T, float>) {
      fwd_f32<Op>(x + b, y + b, e - b, al, ga, be);
    } else if constexpr (std::is_same_v<A, float>) {
      for (int64_t i = b; i < e; ++i) y[i] = convert<T>(forward_f32<Op>(convert<A>(x[i]), al, ga, be));
    } else {
      for (int64_t i = b; i < e; ++i) y[i] = act::forward<Op, A>(x[i], al, ga, be);
    }
  });
}
template <ActOp Op, class T>
void bwd(const T* x, const T* dy, T* dx, int64_t n, const ActParams& p) {
  using A = acc_t<T>;
  const A al = A(p.alpha), ga = A(p.gamma), be = A(p.beta);
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) {
    if constexpr (std::is_same_v<T, float>) {
      bwd_f32<Op>(x + b, dy + b, dx + b, e - b, al, ga, be);
    } else if constexpr (std::is_same_v<A, float>) {
      for (int64_t i = b; i < e; ++i)
        dx[i] = convert<T>(convert<A>(dy[i]) * derivative_f32<Op>(convert<A>(x[i]), al, ga, be));
    } else {
      for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * act::derivative<Op, A>(x[i], al, ga, be);
    }
  });
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
