// The vectors here never cross a call (always inlined): GCC's note that passing them by value
// changes the ABI without AVX is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "gemm_dense.hpp"

#include <algorithm>
#include <vector>

#include "dense_act.hpp"

namespace axon::kernels::cpu {

namespace {
using dense_detail::with_act;

// Eight floats, one AVX2 register in the x86-64-v3 clone; v8u: the same at any float's address.
// Never passed by value (that ABI differs between the clones).
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define AXON_DENSE_INLINE inline __attribute__((always_inline))

// Eight floats of a row of w from column j: all of them, or the first `cols` (< 8, the rest zero),
// so that the columns beyond the last full group of 8 go through the same vector arithmetic.
template <bool Full>
AXON_DENSE_INLINE void load(v8& v, const float* p, int64_t cols) {
  if constexpr (Full) {
    v = *reinterpret_cast<const v8u*>(p);
  } else {
    v = v8{};
    for (int64_t j = 0; j < cols; ++j) v[j] = p[j];
  }
}

// R rows by V groups of 8 columns of y (the last group `cols` wide when not Full): R * V
// accumulators in registers, each row of w's strip loaded once for the R rows; then the bias, the
// store, and the activation over the tile while it is in L1 (measured no slower than the tanh on the
// registers, which holds the next tile's FMAs back behind 12 divisions).
template <DenseAct Act, int R, int V, bool Full>
AXON_DENSE_INLINE void tile(int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, const float* b,
                            float* c, int64_t ldc, int64_t cols) {
  v8 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = v8{};
  for (int64_t p = 0; p < k; ++p) {
    v8 wv[V];
    for (int v = 0; v < V; ++v) load<Full>(wv[v], w + p * ldw + 8 * v, cols);
    for (int r = 0; r < R; ++r) {
      const float s = a[r * lda + p];
      const v8 av = {s, s, s, s, s, s, s, s};
      for (int v = 0; v < V; ++v) acc[r][v] += av * wv[v];
    }
  }
  if (b != nullptr) {
    for (int v = 0; v < V; ++v) {
      v8 bv;
      load<Full>(bv, b + 8 * v, cols);
      for (int r = 0; r < R; ++r) acc[r][v] += bv;
    }
  }
  const int64_t width = Full ? 8 * V : cols;
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
    if constexpr (Full) {
      for (int v = 0; v < V; ++v) *reinterpret_cast<v8u*>(row + 8 * v) = acc[r][v];
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] = acc[r][0][j];
    }
    if constexpr (Act != DenseAct::none)
      for (int64_t j = 0; j < width; ++j) row[j] = dense_act<Act, float>(row[j]);
  }
}

// Rows [r0, r1) of y, columns [j, j + 8V) (or the `cols` at j when not Full): 6-row tiles, then the
// remaining rows in one tile.
template <DenseAct Act, int V, bool Full>
AXON_DENSE_INLINE void strip(int64_t r0, int64_t r1, int64_t j, int64_t cols, int64_t k, int64_t n, const float* x,
                             const float* w, int64_t ldw, const float* b, float* y) {
  const float* bj = b != nullptr ? b + j : nullptr;
  int64_t i = r0;
  for (; i + 6 <= r1; i += 6) tile<Act, 6, V, Full>(k, x + i * k, k, w, ldw, bj, y + i * n + j, n, cols);
  const float* xi = x + i * k;
  float* yi = y + i * n + j;
  switch (r1 - i) {
    case 5: return tile<Act, 5, V, Full>(k, xi, k, w, ldw, bj, yi, n, cols);
    case 4: return tile<Act, 4, V, Full>(k, xi, k, w, ldw, bj, yi, n, cols);
    case 3: return tile<Act, 3, V, Full>(k, xi, k, w, ldw, bj, yi, n, cols);
    case 2: return tile<Act, 2, V, Full>(k, xi, k, w, ldw, bj, yi, n, cols);
    case 1: return tile<Act, 1, V, Full>(k, xi, k, w, ldw, bj, yi, n, cols);
    default: return;
  }
}

// Strips of 16 columns outside, rows inside: each strip of w is first copied into a contiguous
// k x 16 panel (this thread's, 16 KiB at k = 256), which then stays in L1 for every row block. Read
// in place, a strip's rows lie n floats apart, and at n = 256 they fall into 4 of L1's 64 sets: the
// strip would come from L2 again for each row block. The copy costs one read of w per call, ~3 us
// for 256 x 256, and keeps the kernel reading the weights as they are now (no stale packed copy).
// Then a strip of 8 and the last columns, read in place.
template <DenseAct Act>
AXON_VM_CLONES void block(int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                          const float* w, const float* b, float* y) {
  // Up to 3 row blocks read the strips in place: there the copy costs about what it saves.
  const bool pack = r1 - r0 > 18;
  thread_local std::vector<float> panel;
  if (pack && panel.size() < size_t(16 * k)) panel.resize(size_t(16 * k));
  float* pp = panel.data();
  int64_t j = c0;
  for (; j + 16 <= c1; j += 16) {
    const float* wj = w + j;
    if (!pack) {
      strip<Act, 2, true>(r0, r1, j, 16, k, n, x, wj, n, b, y);
      continue;
    }
    for (int64_t p = 0; p < k; ++p) {
      *reinterpret_cast<v8u*>(pp + 16 * p) = *reinterpret_cast<const v8u*>(wj + p * n);
      *reinterpret_cast<v8u*>(pp + 16 * p + 8) = *reinterpret_cast<const v8u*>(wj + p * n + 8);
    }
    strip<Act, 2, true>(r0, r1, j, 16, k, n, x, pp, 16, b, y);
  }
  for (; j + 8 <= c1; j += 8) strip<Act, 1, true>(r0, r1, j, 8, k, n, x, w + j, n, b, y);
  if (j < c1) strip<Act, 1, false>(r0, r1, j, c1 - j, k, n, x, w + j, n, b, y);
}

}  // namespace

void dense_block(DenseAct act, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                 const float* w, const float* b, float* y) {
  with_act(act, [&]<DenseAct Act>() { block<Act>(r0, r1, c0, c1, k, n, x, w, b, y); });
}

}  // namespace axon::kernels::cpu
