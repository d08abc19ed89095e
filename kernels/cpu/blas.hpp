#pragma once
// OpenBLAS for the CPU kernels (not installed). OpenBLAS runs single-threaded: callers split their
// work across the kernels' pool (parallel.hpp), one GEMM per part, so that OpenBLAS's own workers
// do not spin beside the pool's threads (on a 2-core machine that halved the conv kernels' speed).
#include <cstdint>

namespace axon::kernels::cpu {

// Row-major C = alpha op(A) op(B) + beta C on the calling thread; op(A) is m x k, op(B) k x n.
// Sizes beyond the BLAS interface's int throw (op "matmul"). f32 runs on OpenBLAS or oneDNN, the
// one gemm_select.cpp picks for the shape; f64 on OpenBLAS.
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);


// The two f32 back ends behind blas_gemm (gemm.cpp, gemm_select.cpp); onednn_sgemm returns false
// (having written nothing) in builds without oneDNN.
void openblas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
bool onednn_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace axon::kernels::cpu
