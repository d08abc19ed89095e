#include "gemm_small.hpp"

#include <algorithm>

#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {

// Eight floats, one AVX2 register in the x86-64-v3 clone (two SSE registers in the baseline one).
// v8u: the same at any float's address, for loads and stores. Never passed by value (that ABI
// differs between the clones).
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

// R rows by V * 8 columns of C: R * V accumulators in registers; each panel row of B is loaded once
// for the R rows.
template <int R, int V>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                                                float* c, int64_t ldc) {
  v8 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = v8{};
  for (int64_t p = 0; p < k; ++p) {
    v8 bv[V];
    for (int v = 0; v < V; ++v) bv[v] = *reinterpret_cast<const v8u*>(b + p * ldb + 8 * v);
    for (int r = 0; r < R; ++r) {
      const float s = a[r * lda + p];
      const v8 av = {s, s, s, s, s, s, s, s};
      for (int v = 0; v < V; ++v) acc[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) *reinterpret_cast<v8u*>(c + r * ldc + 8 * v) = acc[r][v];
}

// R rows of C, the columns beyond the last full group of 8 one at a time.
template <int R>
inline __attribute__((always_inline)) void tail(int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
                                                int64_t ldb, float* c, int64_t ldc) {
  for (int r = 0; r < R; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      float s = 0;
      for (int64_t p = 0; p < k; ++p) s += a[r * lda + p] * b[p * ldb + j];
      c[r * ldc + j] = s;
    }
}

// R rows of C: tiles of 8V columns, then of 8, then single columns.
template <int R, int V>
inline __attribute__((always_inline)) void rows(int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                                                int64_t ldb, float* c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 8 * V <= n; j += 8 * V) tile<R, V>(k, a, lda, b + j, ldb, c + j, ldc);
  for (; j + 8 <= n; j += 8) tile<R, 1>(k, a, lda, b + j, ldb, c + j, ldc);
  if (j < n) tail<R>(n - j, k, a, lda, b + j, ldb, c + j, ldc);
}

}  // namespace

AXON_VM_CLONES void small_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                               int64_t ldb, float* c, int64_t ldc) {
  // 4 x 24 and 1 x 32: 12 and 4 accumulators plus B's panel row fit AVX2's 16 registers.
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) rows<4, 3>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  for (; i < m; ++i) rows<1, 4>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
}

}  // namespace axon::kernels::cpu
