#pragma once
// Scalar functors of the elementwise ops, shared by the CPU and CUDA kernels so both devices compute
// the same formulas. `A` is the arithmetic type (acc_t: f32 for the 16-bit floats). Included by
// kernel translation units only.
#include <math.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/scalar.hpp>

namespace axon::kernels::ew {

// The C math library by overload: on the device these resolve to CUDA's own functions.
#define AXON_EW_MATH1(name, ff, fd)               \
  AXON_HD float name(float x) { return ::ff(x); } \
  AXON_HD double name(double x) { return ::fd(x); }
AXON_EW_MATH1(m_exp, expf, exp)
AXON_EW_MATH1(m_expm1, expm1f, expm1)
AXON_EW_MATH1(m_log, logf, log)
AXON_EW_MATH1(m_log1p, log1pf, log1p)
AXON_EW_MATH1(m_sqrt, sqrtf, sqrt)
AXON_EW_MATH1(m_sin, sinf, sin)
AXON_EW_MATH1(m_cos, cosf, cos)
AXON_EW_MATH1(m_tanh, tanhf, tanh)
AXON_EW_MATH1(m_erf, erff, erf)
AXON_EW_MATH1(m_floor, floorf, floor)
AXON_EW_MATH1(m_ceil, ceilf, ceil)
AXON_EW_MATH1(m_rint, rintf, rint)  // round half to even in the default rounding mode
#undef AXON_EW_MATH1
AXON_HD float m_pow(float a, float b) { return ::powf(a, b); }
AXON_HD double m_pow(double a, double b) { return ::pow(a, b); }

#if defined(__CUDA_ARCH__)
AXON_HD float m_rsqrt(float x) { return ::rsqrtf(x); }
AXON_HD double m_rsqrt(double x) { return ::rsqrt(x); }
AXON_HD float m_erfinv(float x) { return ::erfinvf(x); }
AXON_HD double m_erfinv(double x) { return ::erfinv(x); }
#else
inline float m_rsqrt(float x) { return 1.0f / ::sqrtf(x); }
inline double m_rsqrt(double x) { return 1.0 / ::sqrt(x); }
// The host C library has no erfinv: M. Giles' single-precision approximation ("Approximating the
// erfinv function", GPU Computing Gems) refined by Newton steps on erf in double.
inline double m_erfinv(double x) {
  if (x != x || x < -1 || x > 1) return std::numeric_limits<double>::quiet_NaN();
  if (x == 1) return std::numeric_limits<double>::infinity();
  if (x == -1) return -std::numeric_limits<double>::infinity();
  double w = -::log((1.0 - x) * (1.0 + x)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = ::sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  double r = p * x;
  const double two_over_sqrt_pi = 1.1283791670955126;
  for (int it = 0; it < 3; ++it) {
    double d = two_over_sqrt_pi * ::exp(-r * r);
    if (d == 0) break;
    r -= (::erf(r) - x) / d;
  }
  return r;
}
inline float m_erfinv(float x) { return static_cast<float>(m_erfinv(static_cast<double>(x))); }
#endif

template <class A>
AXON_HD bool is_nan(A x) {
  if constexpr (std::is_floating_point_v<A>)
    return x != x;
  else
    return false;
}

// One functor per op so kernels specialise on it; `Op` is a UnaryOp template argument.
template <UnaryOp Op, class A>
struct Unary {
  A p0{}, p1{};  // pow exponent; clamp bounds (already the identity bound when absent)
  AXON_HD A operator()(A x) const {
    constexpr A zero = A(0), one = A(1);
    if constexpr (Op == UnaryOp::neg) {
      return static_cast<A>(-x);
    } else if constexpr (Op == UnaryOp::abs) {
      if constexpr (std::is_unsigned_v<A>)
        return x;
      else
        return x < zero ? static_cast<A>(-x) : x;  // NaN passes through
    } else if constexpr (Op == UnaryOp::sign) {
      if constexpr (std::is_unsigned_v<A>)
        return x > zero ? one : zero;
      else
        return x > zero ? one : (x < zero ? static_cast<A>(-one) : x);  // keeps 0, -0 and NaN
    } else if constexpr (Op == UnaryOp::square) {
      return static_cast<A>(x * x);
    } else if constexpr (Op == UnaryOp::relu) {
      if constexpr (std::is_unsigned_v<A>)
        return x;
      else
        return x < zero ? zero : x;  // NaN passes through
    } else if constexpr (Op == UnaryOp::clamp) {
      A v = x < p0 ? p0 : x;
      return v > p1 ? p1 : v;  // lo > hi gives hi; NaN passes through
    } else if constexpr (Op == UnaryOp::exp) {
      return m_exp(x);
    } else if constexpr (Op == UnaryOp::expm1) {
      return m_expm1(x);
    } else if constexpr (Op == UnaryOp::log) {
      return m_log(x);
    } else if constexpr (Op == UnaryOp::log1p) {
      return m_log1p(x);
    } else if constexpr (Op == UnaryOp::sqrt) {
      return m_sqrt(x);
    } else if constexpr (Op == UnaryOp::rsqrt) {
      return m_rsqrt(x);
    } else if constexpr (Op == UnaryOp::sin) {
      return m_sin(x);
    } else if constexpr (Op == UnaryOp::cos) {
      return m_cos(x);
    } else if constexpr (Op == UnaryOp::tanh) {
      return m_tanh(x);
    } else if constexpr (Op == UnaryOp::sigmoid) {
      return one / (one + m_exp(-x));
    } else if constexpr (Op == UnaryOp::erf) {
      return m_erf(x);
    } else if constexpr (Op == UnaryOp::erfinv) {
      return m_erfinv(x);
    } else if constexpr (Op == UnaryOp::floor) {
      return m_floor(x);
    } else if constexpr (Op == UnaryOp::ceil) {
      return m_ceil(x);
    } else if constexpr (Op == UnaryOp::round) {
      return m_rint(x);
    } else if constexpr (Op == UnaryOp::reciprocal) {
      return one / x;
    } else if constexpr (Op == UnaryOp::gelu) {
      return A(0.5) * x * (one + m_erf(x * A(0.70710678118654752440)));
    } else if constexpr (Op == UnaryOp::gelu_tanh) {
      const A k = A(0.79788456080286535588);  // sqrt(2 / pi)
      return A(0.5) * x * (one + m_tanh(k * (x + A(0.044715) * x * x * x)));
    } else if constexpr (Op == UnaryOp::pow) {
      return m_pow(x, p0);
    }
  }
};

template <BinaryOp Op, class A>
struct Binary {
  AXON_HD A operator()(A a, A b) const {
    if constexpr (std::is_same_v<A, bool>) {  // bool arithmetic is logic (see ops.hpp)
      if constexpr (Op == BinaryOp::add || Op == BinaryOp::maximum)
        return a || b;
      else
        return a && b;
    } else if constexpr (Op == BinaryOp::add) {
      return static_cast<A>(a + b);
    } else if constexpr (Op == BinaryOp::sub) {
      return static_cast<A>(a - b);
    } else if constexpr (Op == BinaryOp::mul) {
      return static_cast<A>(a * b);
    } else if constexpr (Op == BinaryOp::div) {
      return a / b;
    } else if constexpr (Op == BinaryOp::pow) {
      return m_pow(a, b);
    } else if constexpr (Op == BinaryOp::maximum) {
      return is_nan(a) ? a : (a > b ? a : b);  // NaN propagates from either side
    } else {
      return is_nan(a) ? a : (a < b ? a : b);
    }
  }
};
// s op a (rsub, rdiv).
template <BinaryOp Op, class A>
struct BinaryReversed {
  AXON_HD A operator()(A a, A b) const { return Binary<Op, A>{}(b, a); }
};

template <CompareOp Op>
struct Compare {
  template <class A>
  AXON_HD bool operator()(A a, A b) const {
    if constexpr (Op == CompareOp::eq)
      return a == b;
    else if constexpr (Op == CompareOp::ne)
      return a != b;
    else if constexpr (Op == CompareOp::lt)
      return a < b;
    else if constexpr (Op == CompareOp::le)
      return a <= b;
    else if constexpr (Op == CompareOp::gt)
      return a > b;
    else
      return a >= b;
  }
};

// Calls fn with the Compare functor of a runtime op (host side of CPU and CUDA kernels alike).
template <class Fn>
void dispatch_compare(CompareOp op, Fn&& fn) {
  switch (op) {
    case CompareOp::eq:
      return fn(Compare<CompareOp::eq>{});
    case CompareOp::ne:
      return fn(Compare<CompareOp::ne>{});
    case CompareOp::lt:
      return fn(Compare<CompareOp::lt>{});
    case CompareOp::le:
      return fn(Compare<CompareOp::le>{});
    case CompareOp::gt:
      return fn(Compare<CompareOp::gt>{});
    case CompareOp::ge:
      return fn(Compare<CompareOp::ge>{});
  }
}

template <LogicalOp Op>
struct Logical {
  template <class A>
  AXON_HD bool operator()(A a, A b) const {
    bool x = a != A(0), y = b != A(0);  // NaN is true, as in C and NumPy
    if constexpr (Op == LogicalOp::land)
      return x && y;
    else if constexpr (Op == LogicalOp::lor)
      return x || y;
    else
      return x != y;
  }
};

// Clamp against tensor bounds: the missing bound is passed as the identity by the kernel.
template <class A>
AXON_HD A clamp3(A x, A lo, A hi, bool has_lo, bool has_hi) {
  A v = (has_lo && x < lo) ? lo : x;
  if constexpr (std::is_floating_point_v<A>) {
    if (has_lo && is_nan(lo)) v = lo;
    if (has_hi && is_nan(hi)) return hi;
  }
  return (has_hi && v > hi) ? hi : v;
}

// A host scalar as A. Integers go through int64 so that out-of-range values wrap (u8 + (-1) is
// 255, as uint8 arithmetic) instead of being undefined float-to-integer conversions.
template <class A>
inline A scalar_as(double s) {
  if constexpr (std::is_integral_v<A> && !std::is_same_v<A, bool>) {
    if (!(s >= -9.2e18 && s <= 9.2e18)) return A(0);  // NaN or beyond int64: no meaningful value
    return static_cast<A>(static_cast<int64_t>(s));
  } else {
    return convert<A>(s);
  }
}

// Lowest / highest value of A, as a clamp's missing bound.
template <class A>
AXON_HD A lowest() {
  if constexpr (std::is_floating_point_v<A>)
    return -std::numeric_limits<A>::infinity();
  else
    return std::numeric_limits<A>::lowest();
}
template <class A>
AXON_HD A highest() {
  if constexpr (std::is_floating_point_v<A>)
    return std::numeric_limits<A>::infinity();
  else
    return std::numeric_limits<A>::max();
}

}  // namespace axon::kernels::ew
