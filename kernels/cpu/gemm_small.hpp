#pragma once
// A GEMM for few rows (not installed): row-major C = A B with A m x k (m small), B k x n, both
// untransposed. OpenBLAS packs B into its panel layout on every call, which for the few rows of an
// inference batch costs as much as the product (a 1-row dense layer read its weights three times);
// this kernel streams B once per four rows of A instead, accumulating in registers.
#include <cstdint>

namespace axon::kernels::cpu {

// Whether gemm() takes this path: up to 4 rows always; up to 16 while B fits in a core's L2 (it is
// read once per 4 rows). On a 2-core EPYC against single-threaded OpenBLAS (us, k x n = 256 x 256):
// 1 row 5.4 vs 33-62, 4 rows 6-7 vs 31-44, 16 rows 45-66 vs 74-79; 16 rows of 3136 x 128: 830-1080 vs
// 600-660, so that stays with OpenBLAS.
inline bool small_gemm_fits(int64_t m, int64_t n, int64_t k) {
  return m <= 4 || (m <= 16 && k * n <= 64 * 1024);
}

// C[i, j] = sum_p A[i, p] B[p, j] (C overwritten), on the calling thread.
void small_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                int64_t ldc);

}  // namespace axon::kernels::cpu
