#pragma once
// vm::tanh_rational (vmath.hpp) on eight floats in AVX2 + FMA registers (not installed), for the
// kernels that apply it to values still in registers: the one-pass dense kernel's tiles
// (gemm_dense.cpp) and the LSTM cell (lstm_cell_x86.cpp). Callers are compiled for, or check, AVX2
// and FMA (cpu_features.hpp). The clamp is a min with the constant first, so that a NaN, which x86's
// min and max pass through only as their second operand, stays NaN; the odd function runs on |x| and
// gets x's sign back, which is exact (P and Q take x^2), so that the clamps at -9 and -1 are two bit
// operations instead of the compare-and-blend pairs the compiler makes of vmath's (the blends share
// the FMA ports that a tile's multiply-adds need).
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "vmath.hpp"

#define AXON_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

namespace axon::kernels::cpu::avx2 {

// |x| clamped to 9, then |x| P(x^2) and Q(x^2) of vm::tanh_rational's fit (vm::tanh_fit).
AXON_AVX2_INLINE void tanh_fraction(__m256 ax, __m256& num, __m256& den) {
  using namespace vm::tanh_fit;
  ax = _mm256_min_ps(_mm256_set1_ps(kClamp), ax);
  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(kP[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kP[i]));
  __m256 q = _mm256_set1_ps(kQ[0]);
  for (int i = 1; i < 4; ++i) q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(kQ[i]));
  den = q;
  num = _mm256_mul_ps(ax, p);
}

// y (>= 0) as vm::tanh_rational finishes it, 1 from 1 - 2^-23 on, with the sign bits of x.
AXON_AVX2_INLINE __m256 finish(__m256 y, __m256 x) {
  const __m256 big = _mm256_cmp_ps(y, _mm256_set1_ps(vm::tanh_fit::kNearOne), _CMP_GE_OQ);  // false for NaN
  y = _mm256_blendv_ps(y, _mm256_set1_ps(1.0f), big);
  return _mm256_or_ps(y, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
}

// vm::tanh_rational's fit with one division: at most 6 ulp from tanh.
AXON_AVX2_INLINE __m256 tanh8(__m256 x) {
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  __m256 num, den;
  tanh_fraction(ax, num, den);
  return finish(_mm256_div_ps(num, den), x);
}

// The division as a reciprocal estimate and one Newton step (Q in [1, 2e4]: 12 bits, then ~22), and
// no exact 1 beyond 9 (1 - 1.2e-7 there): within 4e-7 of tanh absolutely, for loops of them that the
// divider would bound (the LSTM cell's five tanh per 8 cells).
AXON_AVX2_INLINE __m256 tanh8_fast(__m256 x) {
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  __m256 num, den;
  tanh_fraction(ax, num, den);
  __m256 r = _mm256_rcp_ps(den);
  r = _mm256_mul_ps(r, _mm256_fnmadd_ps(den, r, _mm256_set1_ps(2.0f)));
  const __m256 y = _mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(num, r));
  return _mm256_or_ps(y, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
}

}  // namespace axon::kernels::cpu::avx2

#endif
