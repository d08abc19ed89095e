#include <cblas.h>

#include <climits>

#include <axon/error.hpp>
#include <axon/kernels/gemm.hpp>

namespace axon::kernels::cpu {

namespace {
blasint to_blas(int64_t v, const char* what) {
  AXON_CHECK(v >= 0 && v <= INT_MAX, "matmul", "{} = {} exceeds what the BLAS interface can address", what, v);
  return static_cast<blasint>(v);
}
}  // namespace

void gemm(const GemmArgs& g) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  const blasint m = to_blas(g.m, "m"), n = to_blas(g.n, "n"), k = to_blas(g.k, "k");
  const blasint lda = to_blas(g.lda, "lda"), ldb = to_blas(g.ldb, "ldb"), ldc = to_blas(g.ldc, "ldc");
  const CBLAS_TRANSPOSE ta = g.trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = g.trans_b ? CblasTrans : CblasNoTrans;
  switch (g.dtype) {
    case DType::f32: {
      auto* a = static_cast<const float*>(g.a);
      auto* b = static_cast<const float*>(g.b);
      auto* c = static_cast<float*>(g.c);
      for (int64_t i = 0; i < g.batch; ++i)
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a + i * g.stride_a, lda, b + i * g.stride_b, ldb, 0.0f,
                    c + i * g.stride_c, ldc);
      break;
    }
    case DType::f64: {
      auto* a = static_cast<const double*>(g.a);
      auto* b = static_cast<const double*>(g.b);
      auto* c = static_cast<double*>(g.c);
      for (int64_t i = 0; i < g.batch; ++i)
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a + i * g.stride_a, lda, b + i * g.stride_b, ldb, 0.0,
                    c + i * g.stride_c, ldc);
      break;
    }
    default:
      AXON_FAIL("matmul", "the CPU GEMM takes f32 or f64, got {}", dtype_name(g.dtype));
  }
}

}  // namespace axon::kernels::cpu
