#pragma once
// Vectorizable float math for the CPU kernels: exp, expm1, log, log1p, tanh, erf, sigmoid and the
// pieces the fused activations share (the normal CDF of gelu without cancellation). The C library's
// versions are calls, so a loop over them cannot vectorize; these are branch-free (special cases are
// selects), reduce their range with integer bit tricks and evaluate polynomials, so GCC vectorizes a
// loop that inlines them. Largest errors over every f32 input (against double; the same with and
// without FMA contraction to within 0.15): exp 1.04 ulp, expm1 1.49, log 0.84, log1p 1.41, tanh
// 1.33, erf 1.75, sigmoid 2.41; normal_cdf 5 (down to x = -8.4). That includes denormal inputs and
// results and the overflow / underflow thresholds; signed zeros, infinities and NaN come out exactly
// as the C library's. tests/test_vmath.cpp checks all this.
// The double overloads are the C library's. CPU only: the CUDA kernels keep their own functions.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__GNUC__)
#define AXON_VM_INLINE inline __attribute__((always_inline))
#else
#define AXON_VM_INLINE inline
#endif

// Put on a hot loop's function: GCC also compiles it for AVX2 + FMA (x86-64-v3) and AVX-512
// (x86-64-v4) and picks the clone at load time (an ifunc), so those machines run 8- and 16-wide while
// the library still targets baseline x86-64. The clones compute the same values up to FMA
// contraction, which the error bounds above allow for.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(AXON_NO_TARGET_CLONES)
#define AXON_VM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AXON_VM_CLONES
#endif

namespace axon::kernels::cpu::vm {

AXON_VM_INLINE uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
AXON_VM_INLINE float from_bits(uint32_t b) { return std::bit_cast<float>(b); }
AXON_VM_INLINE float fabs(float x) { return from_bits(bits(x) & 0x7fffffffu); }
// |mag| with the sign bit of s.
AXON_VM_INLINE float with_sign_of(float mag, float s) {
  return from_bits((bits(mag) & 0x7fffffffu) | (bits(s) & 0x80000000u));
}
// c ? a : b as a bit mask: GCC's jump threading turns a ?: whose arms fold to constants into
// branches (and stores in each), which stops the loop vectorizer; this form stays a data select.
AXON_VM_INLINE float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return from_bits((bits(a) & m) | (bits(b) & ~m));
}
AXON_VM_INLINE double select(bool c, double a, double b) {
  const uint64_t m = 0u - static_cast<uint64_t>(c);
  return std::bit_cast<double>((std::bit_cast<uint64_t>(a) & m) | (std::bit_cast<uint64_t>(b) & ~m));
}
AXON_VM_INLINE int32_t select(bool c, int32_t a, int32_t b) {
  const int32_t m = -static_cast<int32_t>(c);
  return (a & m) | (b & ~m);
}
// NaN-propagating clamps (the comparisons are false for NaN, which passes through).
AXON_VM_INLINE float at_most(float x, float hi) { return select(x > hi, hi, x); }
AXON_VM_INLINE float at_least(float x, float lo) { return select(x < lo, lo, x); }

// c0 + c1 x + c2 x^2 + ... by Estrin's scheme: pairs c_2i + c_2i+1 x, then the same over x^2. The
// same error as Horner's rule for these polynomials but a dependency chain of log2(n) steps instead
// of n, which is what bounds a vectorized loop over them.
template <int N>
AXON_VM_INLINE float poly_arr(float x, const float (&c)[N]) {
  if constexpr (N == 1) {
    return c[0];
  } else {
    float p[(N + 1) / 2];
    for (int i = 0; i < N / 2; ++i) p[i] = c[2 * i] + c[2 * i + 1] * x;
    if constexpr (N % 2 == 1) p[N / 2] = c[N - 1];
    return poly_arr(x * x, p);
  }
}
template <class... C>
AXON_VM_INLINE float poly(float x, C... cs) {
  const float c[] = {cs...};
  return poly_arr(x, c);
}

namespace detail {
inline constexpr float kShifter = 0x1.8p23f;  // adding it rounds a float below 2^22 to an integer
inline constexpr float kLog2e = 0x1.715476p+0f;
inline constexpr float kLn2Hi = 0x1.62e4p-1f;  // 9 trailing zero bits: k * kLn2Hi is exact for |k| < 512
inline constexpr float kLn2Lo = 0x1.7f7d1cp-20f;

// 2^k for k in [-126, 127], from the exponent field.
AXON_VM_INLINE float pow2i(int32_t k) { return from_bits(static_cast<uint32_t>(k + 127) << 23); }

// e^(a + b + c) for a + b + c in [-174, 89] or NaN: a - k ln2_hi must be exact (a dominant, or a
// multiple of ulp(a) that k ln2_hi is also one of: true for any float a of magnitude below 2^9 once
// |a - k ln 2| <= 2 |a|), b and c are O(1) parts added to the reduced argument, which keeps the
// precision of an argument given as several floats (erfc's -x^2 + g(x)). A plain exp has b = c = 0.
AXON_VM_INLINE float exp_parts(float a, float b, float c) {
  const float t = (a + b + c) * kLog2e + kShifter;
  const float kf = t - kShifter;  // round((a + b + c) / ln 2), exactly
  const int32_t k = static_cast<int32_t>(bits(t) - bits(kShifter));
  const float r = (((a - kf * kLn2Hi) + b) + c) - kf * kLn2Lo;  // |r| <= ln2 / 2 (+ rounding)
  // e^r = 1 + r + r^2 Q(r): Cephes' expf minimax polynomial.
  const float q = poly(r, 5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f, 8.3334519073e-3f,
                       1.3981999507e-3f, 1.9875691500e-4f);
  const float p = (r * r) * q + r + 1.0f;
  // Two factors of 2^(k/2) keep each scale normal: k in [-251, 128] reaches the denormals (rounded
  // once, at the last product) and the overflow to inf without a special case.
  const int32_t k1 = k >> 1;
  return p * pow2i(k1) * pow2i(k - k1);
}

// log(2^k (1 + f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: fdlibm's logf kernel (s = f / (2 + f),
// log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2))), accurate without FMA.
AXON_VM_INLINE float log_kernel(float f, int32_t k) {
  const float s = f / (2.0f + f);
  const float z = s * s, w = z * z;
  const float t1 = w * (0x1.999c26p-2f + w * 0x1.f13c4cp-3f);  // Lg2, Lg4 of FreeBSD's e_logf.c
  const float t2 = z * (0x1.555554p-1f + w * 0x1.23d3dcp-2f);  // Lg1, Lg3
  const float r = t2 + t1;
  const float hfsq = 0.5f * f * f;
  const float dk = static_cast<float>(k);
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}

// The bias that makes the exponent field of x * 2^-k pick k with the mantissa in [sqrt(1/2), sqrt(2)).
inline constexpr uint32_t kSqrtHalfBits = 0x3f3504f3u;

// erfc(a) = e^(-a^2 + g(a)) for a >= 0.6: g(a) = log(erfc(a)) + a^2 is smooth and slowly varying,
// fitted (least squares, float coefficients, error 6.4e-9) as g0 + u G(u) in u = a - 3.3 over [0.6, 6].
// u = uh + ul exactly (uh = a - 3.3 rounds below 1.65), and g0 goes to the exponential apart from
// u G(u), which keeps their sum's rounding out of the argument. Beyond 6, g continues along its
// tangent (g is convex and flattens, so erfc keeps ~20% relative accuracy out to its underflow).
// hi + lo = a^2 exactly, hi <= ~115.
AXON_VM_INLINE float erfc_tail(float a, float hi, float lo) {
  constexpr float c = 3.3f;
  const float ac = at_most(a, 6.0f);
  const float uh = ac - c;
  const float ul = ac - (uh + c);  // Fast2Sum's error term: |c| >= |ac| whenever uh is inexact
  const float gu = poly(uh, -0.280054629f, 0.0366044901f, -0.00598768611f, 0.00103662827f,
                        -0.000180065297f, 3.06635375e-05f, -4.98047575e-06f, 7.04075603e-07f,
                        -9.1956089e-08f, 1.96258299e-08f, -2.2439739e-09f, -8.97856067e-10f,
                        2.08519993e-10f);
  const float v = uh * gu + (ul * gu + (a - ac) * -0.16232928f);
  return exp_parts(-hi, -1.8078444f, v + (5.39211982e-08f - lo));
}
// x^2 = hi + lo exactly (Dekker's split into 12-bit halves; no FMA needed), for |x| <= 2^60.
AXON_VM_INLINE void square2(float x, float& hi, float& lo) {
  const float xh = from_bits(bits(x) & 0xfffff000u), xl = x - xh;
  hi = xh * xh;
  lo = (2.0f * xh) * xl + xl * xl;
}
// (erf(x) - x) / x = Q(x^2) for |x| < 0.9 (Chebyshev fit, error 3e-10).
AXON_VM_INLINE float erf_small_q(float z) {
  return poly(z, 0.128379166f, -0.376126349f, 0.11283718f, -0.0268606655f, 0.00520422682f,
              -0.000817963213f, 8.52940138e-05f);
}
}  // namespace detail

AXON_VM_INLINE float exp(float x) {
  return detail::exp_parts(at_least(at_most(x, 89.0f), -104.0f), -0.0f, -0.0f);  // x + -0 is x
}

AXON_VM_INLINE float expm1(float x) {
  using namespace detail;
  // Below -18, e^x < 2^-25 and the result rounds to -1; above 89 it is inf.
  const float xc = at_least(at_most(x, 89.0f), -18.0f);
  const float t = xc * kLog2e + kShifter;
  const float kf = t - kShifter;
  const int32_t k = static_cast<int32_t>(bits(t) - bits(kShifter));
  const float r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
  // e^r - 1 = r + r^2 (1/2 + r P(r)) on |r| <= ln2 / 2 (Chebyshev fit, error 8e-9).
  const float u = r + (r * r) * (0.5f + r * poly(r, 0.166666672f, 0.0416665561f, 0.00833332073f,
                                                 0.00139261759f, 0.000198826907f));
  // e^x - 1 = 2^k u + (2^k - 1), computed as 2 (2^(k-1) u + (2^(k-1) - 1/2)) so that k = 128 does not
  // overflow the scale; for k <= 25 the constant part is exact.
  const float h = pow2i(k - 1);
  const float y = (u * h + (h - 0.5f)) * 2.0f;
  return select(fabs(x) < 0x1p-25f, x, y);  // e^x - 1 rounds to x there (and keeps -0 and denormals)
}

AXON_VM_INLINE float log(float x) {
  using namespace detail;
  const bool sub = x < 0x1p-126f;  // denormals (and non-positives, fixed below) are scaled by 2^23
  const float xs = select(sub, x * 0x1p23f, x);
  const uint32_t ix = bits(xs) - kSqrtHalfBits;
  const int32_t k = static_cast<int32_t>(ix) >> 23;  // exponent with the mantissa in [sqrt(1/2), sqrt(2))
  const float m = from_bits((ix & 0x007fffffu) + kSqrtHalfBits);
  float y = log_kernel(m - 1.0f, k - select(sub, 23, 0));
  y = select(x == 0.0f, -std::numeric_limits<float>::infinity(), y);
  y = select(x < 0.0f, std::numeric_limits<float>::quiet_NaN(), y);
  return select(x <= std::numeric_limits<float>::max(), y, x + x);  // +inf stays, NaN propagates
}

AXON_VM_INLINE float log1p(float x) {
  using namespace detail;
  const float u = 1.0f + x;
  const int32_t k = static_cast<int32_t>(bits(u) - kSqrtHalfBits) >> 23;
  // f = (1 + x) 2^-k - 1 = x 2^-k + (2^-k - 1): both terms exact, one rounding in the sum. x 2^-k by
  // the exponent field (k != 0 only for |x| >= 0.29, a normal number); 2^-k = 2^(2-k) / 4 stays
  // exact for k up to 128.
  const float xs = from_bits(bits(x) - (static_cast<uint32_t>(k) << 23));
  const float f = xs + (0.25f * from_bits(0x40800000u - (static_cast<uint32_t>(k) << 23)) - 1.0f);
  float y = with_sign_of(log_kernel(select(k == 0, x, f), k), x);  // the kernel gives +0 for -0
  y = select(x == -1.0f, -std::numeric_limits<float>::infinity(), y);
  y = select(x < -1.0f, std::numeric_limits<float>::quiet_NaN(), y);
  return select(x <= std::numeric_limits<float>::max(), y, x + x);
}

// 1 / (1 + e^-x) with no overflow on either side and full relative accuracy as it tends to 0.
AXON_VM_INLINE float sigmoid(float x) {
  const float e = exp(-fabs(x));
  return select(x >= 0.0f, 1.0f, e) / (1.0f + e);
}

AXON_VM_INLINE float tanh(float x) {
  const float a = fabs(x);
  // |x| < 0.625: x + x^3 P(x^2) (Chebyshev fit, error 1.6e-9), relative accuracy down to 0.
  const float z = x * x;
  const float small = x + (x * z) * poly(z, -0.333333343f, 0.133333042f, -0.0539592579f, 0.0217689183f,
                                         -0.00834394526f, 0.00229274482f);
  // Otherwise 1 - 2 / (e^2|x| + 1), >= 0.55, saturating to 1 (e^2|x| = inf included).
  const float big = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  return with_sign_of(select(a < 0.625f, small, big), x);  // NaN takes `big`, NaN; -0 stays -0
}

// tanh at a third of tanh()'s cost, for the dense layers' epilogues (the surrogate MLP's inference
// spent a fifth of its time in tanh): x P(x^2) / Q(x^2) on x clamped to [-9, 9] (beyond which tanh
// rounds to +-1), one division and no exponential. A rational fit of tanh's relative error (6.7e-9
// in exact arithmetic; fitted for this project); in floats at most 6 ulp (relative 4e-7, worst near
// |x| = 6), exact at 0 and -0, +-1 at the infinities, NaN for NaN. The same code takes a float or a
// GCC vector of floats.
namespace detail {
AXON_VM_INLINE float pick(bool c, float a, float b) { return select(c, a, b); }
template <class V, class M>
AXON_VM_INLINE V pick(M c, V a, V b) {
  return c ? a : b;
}
}  // namespace detail
// The fit, shared with its AVX2 form (tanh_avx2.hpp): P's coefficients from z^6 down, Q's from z^3
// down, the clamp, and the value from which a result is rounded to 1: with its multiply-adds
// contracted into FMAs the fit stays at 1 - 2^-23, 2 ulp short of 1, from the clamp on (tanh rounds
// to 1 from 9.01); rounding it up costs at most 2 ulp below.
namespace tanh_fit {
inline constexpr float kP[7] = {-8.49191594e-14f, 5.27920589e-11f, -2.02278603e-08f, 1.11549625e-05f,
                                3.10401921e-03f,  1.30840659e-01f, 1.0f};
inline constexpr float kQ[4] = {2.54623679e-04f, 2.44954303e-02f, 4.64173943e-01f, 1.0f};
inline constexpr float kClamp = 9.0f, kNearOne = 0x1.fffffcp-1f;
}  // namespace tanh_fit
template <class V>
AXON_VM_INLINE V tanh_rational(V x) {
  using namespace tanh_fit;
  const V zero{}, one = zero + 1.0f, clamp = zero + kClamp;
  x = detail::pick(x > clamp, clamp, x);
  x = detail::pick(x < -clamp, -clamp, x);
  const V z = x * x;
  const V p = (((((kP[0] * z + kP[1]) * z + kP[2]) * z + kP[3]) * z + kP[4]) * z + kP[5]) * z + kP[6];
  const V q = ((kQ[0] * z + kQ[1]) * z + kQ[2]) * z + kQ[3];
  const V y = x * p / q;
  const V near_one = zero + kNearOne;
  return detail::pick(y >= near_one, one, detail::pick(y <= -near_one, -one, y));
}

AXON_VM_INLINE float erf(float x) {
  using namespace detail;
  const float small = x + x * erf_small_q(x * x);
  const float a = at_most(fabs(x), 6.0f);  // erf(x) rounds to +-1 from 3.92 on
  float hi, lo;
  square2(a, hi, lo);
  const float big = 1.0f - erfc_tail(a, hi, lo);
  // 1 - erfc(|x|) from 0.9 on, where erfc <= 0.2 and its relative error hardly shows.
  return select(fabs(x) < 0.9f, small, with_sign_of(big, x));
}

// Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF, without the cancellation of
// (1 + erf(x / sqrt 2)) / 2 for negative x: relative accuracy holds into the lower tail (until
// x < -8.5, where Phi < 1e-17, it degrades to ~20%; it underflows near x = -14).
AXON_VM_INLINE float normal_cdf(float x) {
  using namespace detail;
  const float w = x * 0x1.6a09e6p-1f;  // x / sqrt(2)
  const float small = 0.5f + 0.5f * (w + w * erf_small_q(w * w));  // >= 0.2: little cancellation
  const float ax = at_most(fabs(x), 15.0f);
  float hi, lo;
  square2(ax, hi, lo);  // w^2 = x^2 / 2 exactly: scaling by 1/2 is exact
  const float e = 0.5f * erfc_tail(ax * 0x1.6a09e6p-1f, 0.5f * hi, 0.5f * lo);
  const float big = select(x < 0.0f, e, 1.0f - e);
  return select(fabs(w) < 0.6f, small, big);
}

// The standard normal density e^(-x^2/2) / sqrt(2 pi), with x^2 / 2 carried exactly.
AXON_VM_INLINE float normal_pdf(float x) {
  float hi, lo;
  detail::square2(at_most(fabs(x), 15.0f), hi, lo);
  return detail::exp_parts(-0.5f * hi, -0.5f * lo, 0.0f) * 0x1.988454p-2f;
}

// Row reductions in 8 independent lanes, combined in a fixed order (the result does not depend on
// the vector width). A single running max or sum is one serial dependency chain that the compiler
// may not reorder for floats; the lanes of a sum vectorize as they are, but a NaN-propagating max
// is no reduction GCC knows, so its lanes are written as a GNU vector.
inline constexpr int kLanes = 8;

// max over x[0..n), NaN if any element is NaN, -inf for n == 0.
template <class T>
AXON_VM_INLINE T max_nan(const T* x, int64_t n) {
  auto step = [](T m, T v) { return select((v != v) | (v > m), v, m); };
  T m = -std::numeric_limits<T>::infinity();
  int64_t k = 0;
#if defined(__GNUC__)
  typedef T V __attribute__((vector_size(kLanes * sizeof(T))));
  if (n >= kLanes) {
    V acc;
    __builtin_memcpy(&acc, x, sizeof(V));
    for (k = kLanes; k + kLanes <= n; k += kLanes) {
      V v;
      __builtin_memcpy(&v, x + k, sizeof(V));
      acc = ((v != v) | (v > acc)) ? v : acc;
    }
    for (int j = 0; j < kLanes; ++j) m = step(m, acc[j]);
  }
#endif
  for (; k < n; ++k) m = step(m, x[k]);
  return m;
}

// sum of x[0..n) in double.
template <class T>
AXON_VM_INLINE double sum_f64(const T* x, int64_t n) {
  double acc[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(x[k + j]);
  double s = 0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  for (; k < n; ++k) s += static_cast<double>(x[k]);
  return s;
}

// The double overloads: the C library (f64 is not where these kernels spend their time).
inline double exp(double x) { return std::exp(x); }
inline double expm1(double x) { return std::expm1(x); }
inline double log(double x) { return std::log(x); }
inline double log1p(double x) { return std::log1p(x); }
inline double tanh(double x) { return std::tanh(x); }
inline double erf(double x) { return std::erf(x); }
inline double sigmoid(double x) {
  const double e = std::exp(-std::fabs(x));
  return (x >= 0 ? 1.0 : e) / (1.0 + e);
}
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752440); }
inline double normal_pdf(double x) { return std::exp(-0.5 * x * x) * 0.39894228040143267794; }
inline double fabs(double x) { return std::fabs(x); }

}  // namespace axon::kernels::cpu::vm
