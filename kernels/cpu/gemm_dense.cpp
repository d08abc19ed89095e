// The vectors here never cross a call (always inlined): GCC's note that passing them by value
// changes the ABI without AVX is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "gemm_dense.hpp"

#include <algorithm>
#include <vector>

#include "cpu_features.hpp"
#include "dense_act.hpp"
#include "tanh_avx2.hpp"

namespace axon::kernels::cpu {

namespace {
using dense_detail::with_act;

// Eight floats, one AVX2 register in the x86-64-v3 clone; v8u: the same at any float's address.
// Never passed by value (that ABI differs between the clones).
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define AXON_DENSE_INLINE inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__)
#define AXON_DENSE_AVX2 1
#endif

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

// The tiles twice (gemm_dense_tiles.inc): for the baseline, and for AVX2 + FMA where the CPU has
// them (avx2_kernels(), cpu_features.hpp).
namespace baseline {
#define AXON_DENSE_TANH_IN_REGISTERS 0
#include "gemm_dense_tiles.inc"
#undef AXON_DENSE_TANH_IN_REGISTERS
}  // namespace baseline

#ifdef AXON_DENSE_AVX2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2_tiles {
#define AXON_DENSE_TANH_IN_REGISTERS 1
#include "gemm_dense_tiles.inc"
#undef AXON_DENSE_TANH_IN_REGISTERS
}  // namespace avx2_tiles
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

template <DenseAct Act>
void block(int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x, const float* w,
           const float* b, float* y) {
#ifdef AXON_DENSE_AVX2
  if (avx2_kernels()) return avx2_tiles::block_rows<Act>(r0, r1, c0, c1, k, n, x, w, b, y);
#endif
  baseline::block_rows<Act>(r0, r1, c0, c1, k, n, x, w, b, y);
}

}  // namespace

void dense_block(DenseAct act, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                 const float* w, const float* b, float* y) {
  with_act(act, [&]<DenseAct Act>() { block<Act>(r0, r1, c0, c1, k, n, x, w, b, y); });
}

}  // namespace axon::kernels::cpu
