// The LSTM cell's forward pass in AVX2 + FMA (lstm_cell_x86.hpp): five divisions per 8 cells were
// what bounded the rational-tanh loop the compiler vectorizes (4.2 ns a cell on the 2-core EPYC).
#include "lstm_cell_x86.hpp"

#include <algorithm>

#include <axon/error.hpp>

#if defined(__x86_64__) && defined(__GNUC__)
#include "tanh_avx2.hpp"

namespace axon::kernels::cpu {

namespace {

#define AXON_AVX2 AXON_AVX2_INLINE

using avx2::tanh8_fast;

AXON_AVX2 __m256 sigmoid8(__m256 x) {
  const __m256 half = _mm256_set1_ps(0.5f);
  return _mm256_fmadd_ps(half, tanh8_fast(_mm256_mul_ps(half, x)), half);
}

// Eight units at pointers already offset to them.
AXON_AVX2 void cells8(float* gi, float* gf, float* gg, float* go, const float* bi, const float* bf, const float* bg,
                      const float* bo, const float* cp, float* c, float* h) {
  const __m256 i = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gi), _mm256_loadu_ps(bi)));
  const __m256 f = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gf), _mm256_loadu_ps(bf)));
  const __m256 a = tanh8_fast(_mm256_add_ps(_mm256_loadu_ps(gg), _mm256_loadu_ps(bg)));
  const __m256 o = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(go), _mm256_loadu_ps(bo)));
  const __m256 cv = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp), _mm256_mul_ps(i, a));
  _mm256_storeu_ps(gi, i);
  _mm256_storeu_ps(gf, f);
  _mm256_storeu_ps(gg, a);
  _mm256_storeu_ps(go, o);
  _mm256_storeu_ps(c, cv);
  _mm256_storeu_ps(h, _mm256_mul_ps(o, tanh8_fast(cv)));
}

}  // namespace

__attribute__((target("avx2,fma"))) void lstm_cell_forward_avx2(float* g, const float* bias, const float* cp, float* c,
                                                                 float* h, int64_t U) {
  float *gi = g, *gf = g + U, *gg = g + 2 * U, *go = g + 3 * U;
  const float *bi = bias, *bf = bias + U, *bg = bias + 2 * U, *bo = bias + 3 * U;
  int64_t u = 0;
  for (; u + 8 <= U; u += 8) cells8(gi + u, gf + u, gg + u, go + u, bi + u, bf + u, bg + u, bo + u, cp + u, c + u, h + u);
  if (u == U) return;
  // The last units through zero-padded copies.
  const int64_t n = U - u;
  float t[11][8] = {};
  for (int64_t k = 0; k < n; ++k) {
    t[0][k] = gi[u + k], t[1][k] = gf[u + k], t[2][k] = gg[u + k], t[3][k] = go[u + k];
    t[4][k] = bi[u + k], t[5][k] = bf[u + k], t[6][k] = bg[u + k], t[7][k] = bo[u + k], t[8][k] = cp[u + k];
  }
  cells8(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10]);
  for (int64_t k = 0; k < n; ++k) {
    gi[u + k] = t[0][k], gf[u + k] = t[1][k], gg[u + k] = t[2][k], go[u + k] = t[3][k];
    c[u + k] = t[9][k], h[u + k] = t[10][k];
  }
}

}  // namespace axon::kernels::cpu

#else

namespace axon::kernels::cpu {
void lstm_cell_forward_avx2(float*, const float*, const float*, float*, float*, int64_t) {
  AXON_FAIL("lstm", "the AVX2 LSTM cell needs an x86-64 CPU");
}
}  // namespace axon::kernels::cpu

#endif
