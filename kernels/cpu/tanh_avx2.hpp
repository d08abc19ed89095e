#pragma once
// vm::tanh_rational (vmath.hpp) on eight floats in AVX2 + FMA registers (not installed), for the
// kernels that apply it to values still in registers: the one-pass dense kernel's tiles
// (gemm_dense.cpp) and the LSTM cell (lstm_cell_x86.cpp). Callers are compiled for, or check, AVX2
// and FMA (packed_gemm_available()). The clamps are min / max with the constant first, so that a
// NaN, which x86's min and max pass through only as their second operand, stays NaN; the odd
// function runs on |x| and gets x's sign back, which is exact (P and Q take x^2), so that it costs
// two bit operations instead of the compare-and-blend pairs the compiler makes of vmath's clamps
// (the blends share the FMA ports that a tile's multiply-adds need).
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AXON_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

namespace axon::kernels::cpu::avx2 {

// |x| clamped to 9, then |x| P(x^2) and Q(x^2) of vm::tanh_rational's fit.
AXON_AVX2_INLINE void tanh_fraction(__m256 ax, __m256& num, __m256& den) {
  ax = _mm256_min_ps(_mm256_set1_ps(9.0f), ax);
  const __m256 z = _mm256_mul_ps(ax, ax), one = _mm256_set1_ps(1.0f);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(-8.49191594e-14f), z, _mm256_set1_ps(5.27920589e-11f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-2.02278603e-08f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.11549625e-05f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(3.10401921e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.30840659e-01f));
  p = _mm256_fmadd_ps(p, z, one);
  __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(2.54623679e-04f), z, _mm256_set1_ps(2.44954303e-02f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(4.64173943e-01f));
  den = _mm256_fmadd_ps(q, z, one);
  num = _mm256_mul_ps(ax, p);
}

// y (>= 0) as vm::tanh_rational finishes it, 1 from 1 - 2^-23 on, with the sign bits of x.
AXON_AVX2_INLINE __m256 finish(__m256 y, __m256 x) {
  const __m256 big = _mm256_cmp_ps(y, _mm256_set1_ps(0x1.fffffcp-1f), _CMP_GE_OQ);  // false for NaN
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
