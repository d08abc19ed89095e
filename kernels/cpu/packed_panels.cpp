// The packed-panel GEMM (packed_panels.hpp): row tiles of up to 6 x 16 accumulated in 12 AVX2
// registers (enough independent FMAs to cover their latency on two FMA pipes), the packed operand
// walked in blocks of kKc rows so that a panel's block stays in L1 across the row tiles.
#include "packed_panels.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <axon/error.hpp>

#include "cpu_features.hpp"
#include "parallel.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AXON_PACKED_X86 1
#endif

namespace axon::kernels::cpu {

namespace {
constexpr int kNv = kPanel / 8;  // ymm registers a row of a tile
constexpr int64_t kNr = kPanel, kMr = 6, kKc = 256;

// Rows [k0, k0 + kc) of panel j: the blocks of one row range lie panel after panel, so that a
// GEMM walking the panels reads one sequential stream.
const float* block(const PackedPanels& p, int64_t j, int64_t k0, int64_t kc) {
  return p.data.get() + (k0 * p.panels() + j * kc) * kNr;
}
}

PackedPanels pack_panels(const float* b, int64_t ldb, int64_t k, int64_t n, bool transposed) {
  PackedPanels p;
  p.k = k, p.n = n;
  const int64_t np = p.panels(), nk = (k + kKc - 1) / kKc;
  p.data.reset(new float[static_cast<size_t>(np * k * kNr)]());
  // Over the pool: a 4 MiB Wh took ~2 ms on one thread, with the other idle.
  parallel_for(nk * np, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t k0 = i / np * kKc, j = i % np, kc = std::min(kKc, k - k0);
      float* dst = const_cast<float*>(block(p, j, k0, kc));
      const int64_t c0 = j * kNr, nc = std::min(kNr, n - c0);
      if (!transposed) {
        for (int64_t r = 0; r < kc; ++r) std::memcpy(dst + r * kNr, b + (k0 + r) * ldb + c0, sizeof(float) * nc);
      } else {
        for (int64_t c = 0; c < nc; ++c) {
          const float* src = b + (c0 + c) * ldb + k0;
          for (int64_t r = 0; r < kc; ++r) dst[r * kNr + c] = src[r];
        }
      }
    }
  });
  return p;
}

#ifdef AXON_PACKED_X86

void stream_copy(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0; ++i) dst[i] = src[i];
  for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

void stream_fence() { _mm_sfence(); }

bool packed_gemm_available() { return cpu_has_avx2_fma(); }

namespace {

// C[R x kNr] (+)= A[R x kc] B[kc x kNr] with B one panel's block (kNr floats, one cache line, a
// row); first asks for the npf lines at pf, its share of the next panel's block, to be brought
// into L1 (the first tiles of a panel otherwise wait on L3 for it: in a W6 profile they took ~1.8x
// the cycles of the others).
template <int R>
__attribute__((target("avx2,fma"))) void tile(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                                               int64_t ldc, bool load, const float* pf, int64_t npf) {
  for (int64_t i = 0; i < npf; ++i) _mm_prefetch(reinterpret_cast<const char*>(pf + i * kNr), _MM_HINT_T0);
  __m256 acc[R][kNv];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v) acc[r][v] = load ? _mm256_loadu_ps(c + r * ldc + 8 * v) : _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[kNv];
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v) bv[v] = _mm256_loadu_ps(b + k * kNr + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
#pragma GCC unroll 4
      for (int v = 0; v < kNv; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v) _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, bool, const float*, int64_t);
constexpr TileFn kTiles[7] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
static_assert(kMr <= 6);

}  // namespace

void packed_gemm(int64_t m, const float* a, int64_t lda, const PackedPanels& b, float* c, int64_t ldc,
                 bool accumulate, int64_t col0, int64_t col1) {
  const int64_t K = b.k, N = std::min(b.n, col1), j0 = col0 / kNr, np = (N + kNr - 1) / kNr;
  if (m <= 0 || col0 >= N) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc + col0, 0, sizeof(float) * (N - col0));
    return;
  }
  // Rows in near-equal tiles of at most kMr.
  const int64_t tiles = (m + kMr - 1) / kMr;
  float edge[kMr * kNr];
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {
    const int64_t kc = std::min(kKc, K - k0);
    const bool load = accumulate || k0 > 0;
    const int64_t share = (kc + tiles - 1) / tiles;
    for (int64_t j = j0; j < np; ++j) {
      const float* bp = block(b, j, k0, kc);
      const int64_t c0 = j * kNr, nc = std::min(kNr, N - c0);
      for (int64_t t = 0, r0 = 0; t < tiles; ++t) {
        const int64_t rows = (m - r0) / (tiles - t);
        float* ct = c + r0 * ldc + c0;
        const int64_t pf0 = std::min(kc, t * share), npf = j + 1 < np ? std::min(kc, pf0 + share) - pf0 : 0;
        if (nc == kNr) {
          kTiles[rows](kc, a + r0 * lda + k0, lda, bp, ct, ldc, load, bp + (kc + pf0) * kNr, npf);
        } else {  // the last, partial panel through a full-width scratch tile
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t q = 0; q < kNr; ++q) edge[i * kNr + q] = load && q < nc ? ct[i * ldc + q] : 0.f;
          kTiles[rows](kc, a + r0 * lda + k0, lda, bp, edge, kNr, true, nullptr, 0);
          for (int64_t i = 0; i < rows; ++i) std::memcpy(ct + i * ldc, edge + i * kNr, sizeof(float) * nc);
        }
        r0 += rows;
      }
    }
  }
}

#else

void stream_copy(float* dst, const float* src, int64_t n) { std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n)); }
void stream_fence() {}

bool packed_gemm_available() { return false; }

void packed_gemm(int64_t, const float*, int64_t, const PackedPanels&, float*, int64_t, bool, int64_t, int64_t) {
  AXON_FAIL("lstm", "the packed-panel GEMM needs an x86-64 CPU with AVX2 and FMA");
}

#endif

}  // namespace axon::kernels::cpu
