#pragma once
// A right-hand GEMM operand packed once into 16-column panels, for GEMMs that reuse the same
// weights many times with few rows (the LSTM scan's h_prev Wh and dgates Wh^T at every step; not
// installed). OpenBLAS packs its operands on every call: at 128 steps that re-packed the 4 MiB of
// Wh 128 times, 12% of the W6 profile. The kernel is AVX2 + FMA (6 x 16 register tiles); callers
// check packed_gemm_available() and keep a BLAS path for other CPUs and f64.
#include <cstdint>
#include <memory>

namespace axon::kernels::cpu {

inline constexpr int64_t kPanel = 16;

struct PackedPanels {
  int64_t k = 0, n = 0;  // the logical operand is k x n; n is padded to whole panels with zeros
  std::unique_ptr<float[]> data;  // panel p at p * k * kPanel: for each row kk, its kPanel columns
  int64_t panels() const { return (n + kPanel - 1) / kPanel; }
};

// Whether this CPU runs the packed kernel (AVX2 and FMA).
bool packed_gemm_available();

// Packs B = b (k x n, row stride ldb), or with `transposed` B = b^T where b is n x k.
PackedPanels pack_panels(const float* b, int64_t ldb, int64_t k, int64_t n, bool transposed);

// Columns [col0, col1) of C = A B (accumulate: C += A B), A m x k (row stride lda), C m x n (row
// stride ldc), on the calling thread; col0 is a multiple of kPanel.
void packed_gemm(int64_t m, const float* a, int64_t lda, const PackedPanels& b, float* c, int64_t ldc,
                 bool accumulate, int64_t col0, int64_t col1);

// dst[0, n) = src[0, n) with non-temporal stores where dst is 16-byte aligned: for rows written once
// and read back only long after (the LSTM scans' gates, c and h), which a plain store would first
// read from memory and then keep in cache. stream_fence() orders them before a join.
void stream_copy(float* dst, const float* src, int64_t n);
void stream_fence();

}  // namespace axon::kernels::cpu
