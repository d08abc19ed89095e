// The vectors here never cross a call (always inlined): GCC's note that passing them by value
// changes the ABI without AVX is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "gemm_dense.hpp"

#include <algorithm>

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
// store, and the activation over the tile while it is in L1.
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
  if constexpr (Act == DenseAct::tanh)  // in registers; the other activations on the stored tile
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) acc[r][v] = vm::tanh_rational(acc[r][v]);
  const int64_t width = Full ? 8 * V : cols;
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
    if constexpr (Full) {
      for (int v = 0; v < V; ++v) *reinterpret_cast<v8u*>(row + 8 * v) = acc[r][v];
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] = acc[r][0][j];
    }
    if constexpr (Act == DenseAct::relu || Act == DenseAct::sigmoid)
      for (int64_t j = 0; j < width; ++j) row[j] = dense_act<Act, float>(row[j]);
  }
}

// R rows of y, columns [c0, c1): strips of 16, then of 8, then the rest.
template <DenseAct Act, int R>
AXON_DENSE_INLINE void rows(int64_t c0, int64_t c1, int64_t k, int64_t n, const float* a, const float* w,
                            const float* b, float* c) {
  int64_t j = c0;
  const float* bj = nullptr;
  for (; j + 16 <= c1; j += 16) {
    bj = b != nullptr ? b + j : nullptr;
    tile<Act, R, 2, true>(k, a, k, w + j, n, bj, c + j, n, 16);
  }
  for (; j + 8 <= c1; j += 8) {
    bj = b != nullptr ? b + j : nullptr;
    tile<Act, R, 1, true>(k, a, k, w + j, n, bj, c + j, n, 8);
  }
  if (j < c1) tile<Act, R, 1, false>(k, a, k, w + j, n, b != nullptr ? b + j : nullptr, c + j, n, c1 - j);
}

template <DenseAct Act>
AXON_VM_CLONES void block(int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                          const float* w, const float* b, float* y) {
  int64_t i = r0;
  for (; i + 6 <= r1; i += 6) rows<Act, 6>(c0, c1, k, n, x + i * k, w, b, y + i * n);
  switch (r1 - i) {
    case 5: return rows<Act, 5>(c0, c1, k, n, x + i * k, w, b, y + i * n);
    case 4: return rows<Act, 4>(c0, c1, k, n, x + i * k, w, b, y + i * n);
    case 3: return rows<Act, 3>(c0, c1, k, n, x + i * k, w, b, y + i * n);
    case 2: return rows<Act, 2>(c0, c1, k, n, x + i * k, w, b, y + i * n);
    case 1: return rows<Act, 1>(c0, c1, k, n, x + i * k, w, b, y + i * n);
    default: return;
  }
}

}  // namespace

void dense_block(DenseAct act, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                 const float* w, const float* b, float* y) {
  with_act(act, [&]<DenseAct Act>() { block<Act>(r0, r1, c0, c1, k, n, x, w, b, y); });
}

}  // namespace axon::kernels::cpu
