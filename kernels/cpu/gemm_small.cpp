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

// One row of C: B streamed row after row (as it lies in memory, which the prefetcher follows; a
// 1-row dense layer is a read of its weights), C's row kept in L1 and updated once per 4 rows of B.
inline __attribute__((always_inline)) void one_row(int64_t n, int64_t k, const float* a, const float* b, int64_t ldb,
                                                   float* c) {
  constexpr int64_t kCols = 512;  // 2 KiB of C at a time
  for (int64_t j0 = 0; j0 < n; j0 += kCols) {
    const int64_t cols = std::min(kCols, n - j0), vec = cols / 8 * 8;
    float* cj = c + j0;
    for (int64_t j = 0; j < cols; ++j) cj[j] = 0;
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      const float* b0 = b + p * ldb + j0;
      const float s0 = a[p], s1 = a[p + 1], s2 = a[p + 2], s3 = a[p + 3];
      const v8 a0 = {s0, s0, s0, s0, s0, s0, s0, s0}, a1 = {s1, s1, s1, s1, s1, s1, s1, s1};
      const v8 a2 = {s2, s2, s2, s2, s2, s2, s2, s2}, a3 = {s3, s3, s3, s3, s3, s3, s3, s3};
      for (int64_t j = 0; j < vec; j += 8) {
        const v8 x0 = *reinterpret_cast<const v8u*>(b0 + j), x1 = *reinterpret_cast<const v8u*>(b0 + ldb + j);
        const v8 x2 = *reinterpret_cast<const v8u*>(b0 + 2 * ldb + j), x3 = *reinterpret_cast<const v8u*>(b0 + 3 * ldb + j);
        *reinterpret_cast<v8u*>(cj + j) += (a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3);
      }
      for (int64_t j = vec; j < cols; ++j)
        cj[j] += (s0 * b0[j] + s1 * b0[ldb + j]) + (s2 * b0[2 * ldb + j] + s3 * b0[3 * ldb + j]);
    }
    for (; p < k; ++p)
      for (int64_t j = 0; j < cols; ++j) cj[j] += a[p] * b[p * ldb + j0 + j];
  }
}

}  // namespace

AXON_VM_CLONES void small_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                               int64_t ldb, float* c, int64_t ldc) {
  // 4 x 24: 12 accumulators plus B's panel row fit AVX2's 16 registers.
  // Strips of 24 columns outside, rows inside: a strip of B (24 x k floats, 24 KiB at k = 256) stays
  // in L1 for every group of 4 rows, where rows outside would stream all of B from L2 per group.
  const int64_t m4 = m / 4 * 4;
  if (m4 > 0) {
    int64_t j = 0;
    for (; j + 24 <= n; j += 24)
      for (int64_t i = 0; i < m4; i += 4) tile<4, 3>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc);
    for (int64_t i = 0; i < m4; i += 4) rows<4, 3>(n - j, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc);
  }
  for (int64_t i = m4; i < m; ++i) one_row(n, k, a + i * lda, b, ldb, c + i * ldc);
}

}  // namespace axon::kernels::cpu
