// CPU unary maps.
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/elementwise_math.hpp>

#include "elementwise_loops.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {
using namespace ew_loops;

// The float arithmetic of the transcendental ops on the CPU: vmath's vectorizable functions where
// ew::Unary (shared with the CUDA kernels) calls the C library, which keeps a loop scalar. gelu is
// x Phi(x) and gelu_tanh x sigmoid(2u), the same values as 0.5 x (1 + erf) and 0.5 x (1 + tanh u)
// without their cancellation for negative x.
template <UnaryOp Op>
struct VUnary {
  AXON_VM_INLINE float operator()(float x) const {
    if constexpr (Op == UnaryOp::exp) {
      return vm::exp(x);
    } else if constexpr (Op == UnaryOp::expm1) {
      return vm::expm1(x);
    } else if constexpr (Op == UnaryOp::log) {
      return vm::log(x);
    } else if constexpr (Op == UnaryOp::log1p) {
      return vm::log1p(x);
    } else if constexpr (Op == UnaryOp::tanh) {
      return vm::tanh(x);
    } else if constexpr (Op == UnaryOp::sigmoid) {
      return vm::sigmoid(x);
    } else if constexpr (Op == UnaryOp::erf) {
      return vm::erf(x);
    } else if constexpr (Op == UnaryOp::gelu) {
      return x * vm::normal_cdf(x);
    } else {
      static_assert(Op == UnaryOp::gelu_tanh);
      const float k2 = 2 * 0.79788456080286535588f;  // 2 sqrt(2 / pi)
      return x * vm::sigmoid(k2 * (x + 0.044715f * x * x * x));
    }
  }
};

// The contiguous f32 loop of the ops above, with AVX2 and AVX-512 clones (vmath.hpp).
template <class F>
AXON_VM_CLONES void map_f32(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class T, class F>
void run_vmath(const T* x, const Indexer& ix, T* y, int64_t n, F f) {
  if constexpr (std::is_same_v<T, float>) {
    if (ix.contiguous()) {
      parallel_for(n, kGrain, [=](int64_t b, int64_t e) { map_f32(x + b, y + b, e - b, f); });
      return;
    }
  }
  map1<float>(x, ix, y, n, f);
}

// A clamp bound in A; out-of-range bounds saturate (clamping an i32 to [-1e12, 1e12] is the identity).
template <class A>
A bound(bool has, double v, bool is_lo) {
  if (!has) return is_lo ? ew::lowest<A>() : ew::highest<A>();
  if constexpr (std::is_integral_v<A>) {
    if (v <= static_cast<double>(std::numeric_limits<A>::lowest())) return std::numeric_limits<A>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<A>::max())) return std::numeric_limits<A>::max();
  }
  return static_cast<A>(v);
}

template <class T>
void unary_t(UnaryOp op, const T* x, const Indexer& ix, T* y, int64_t n, const UnaryParams& p) {
  using A = acc_t<T>;
  auto run = [&](auto f) { map1<A>(x, ix, y, n, f); };
#define AXON_UNARY_CASE(name) \
  case UnaryOp::name:         \
    return run(ew::Unary<UnaryOp::name, A>{});
  switch (op) {
    AXON_UNARY_CASE(neg)
    AXON_UNARY_CASE(abs)
    AXON_UNARY_CASE(sign)
    AXON_UNARY_CASE(square)
    AXON_UNARY_CASE(relu)
    case UnaryOp::clamp:
      return run(
          ew::Unary<UnaryOp::clamp, A>{bound<A>(p.has_lo, p.p0, true), bound<A>(p.has_hi, p.p1, false)});
    default:
      break;
  }
  if constexpr (std::is_same_v<A, float>) {
#define AXON_VMATH_CASE(name) \
  case UnaryOp::name:         \
    return run_vmath(x, ix, y, n, VUnary<UnaryOp::name>{});
    switch (op) {
      AXON_VMATH_CASE(exp)
      AXON_VMATH_CASE(expm1)
      AXON_VMATH_CASE(log)
      AXON_VMATH_CASE(log1p)
      AXON_VMATH_CASE(tanh)
      AXON_VMATH_CASE(sigmoid)
      AXON_VMATH_CASE(erf)
      AXON_VMATH_CASE(gelu)
      AXON_VMATH_CASE(gelu_tanh)
      default:
        break;
    }
#undef AXON_VMATH_CASE
  }
  if constexpr (std::is_floating_point_v<A>) {
    switch (op) {
      AXON_UNARY_CASE(exp)
      AXON_UNARY_CASE(expm1)
      AXON_UNARY_CASE(log)
      AXON_UNARY_CASE(log1p)
      AXON_UNARY_CASE(sqrt)
      AXON_UNARY_CASE(rsqrt)
      AXON_UNARY_CASE(sin)
      AXON_UNARY_CASE(cos)
      AXON_UNARY_CASE(tanh)
      AXON_UNARY_CASE(sigmoid)
      AXON_UNARY_CASE(erf)
      AXON_UNARY_CASE(erfinv)
      AXON_UNARY_CASE(floor)
      AXON_UNARY_CASE(ceil)
      AXON_UNARY_CASE(round)
      AXON_UNARY_CASE(reciprocal)
      AXON_UNARY_CASE(gelu)
      AXON_UNARY_CASE(gelu_tanh)
      case UnaryOp::pow:
        return run(ew::Unary<UnaryOp::pow, A>{static_cast<A>(p.p0)});
      default:
        break;
    }
  }
#undef AXON_UNARY_CASE
  detail::unsupported_dtype("unary", dtype_v<T>);
}
}  // namespace

void unary(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, const UnaryParams& p) {
  if (n == 0) return;
  switch (dt) {
    case DType::f32:
      return unary_t(op, static_cast<const float*>(x), ix, static_cast<float*>(y), n, p);
    case DType::f64:
      return unary_t(op, static_cast<const double*>(x), ix, static_cast<double*>(y), n, p);
    case DType::bf16:
      return unary_t(op, static_cast<const bf16*>(x), ix, static_cast<bf16*>(y), n, p);
    case DType::f16:
      return unary_t(op, static_cast<const f16*>(x), ix, static_cast<f16*>(y), n, p);
    case DType::i32:
      return unary_t(op, static_cast<const int32_t*>(x), ix, static_cast<int32_t*>(y), n, p);
    case DType::i64:
      return unary_t(op, static_cast<const int64_t*>(x), ix, static_cast<int64_t*>(y), n, p);
    case DType::u8:
      return unary_t(op, static_cast<const uint8_t*>(x), ix, static_cast<uint8_t*>(y), n, p);
    default:
      detail::unsupported_dtype("unary", dt);
  }
}

}  // namespace axon::kernels::cpu
