// CPU GEMM: OpenBLAS (or, for f32, oneDNN where gemm_select.cpp finds it faster), single-threaded per
// call (blas.hpp), with the kernels' pool splitting the batch,
// else the rows of C, else its columns, into one GEMM per thread.
#include <cblas.h>

#include <climits>
#include <mutex>
#include <type_traits>

#include <axon/error.hpp>
#include <axon/kernels/gemm.hpp>

#include "blas.hpp"
#include "gemm_small.hpp"
#include "parallel.hpp"

namespace axon::kernels::cpu {

namespace {
blasint to_blas(int64_t v, const char* what) {
  AXON_CHECK(v >= 0 && v <= INT_MAX, "matmul", "{} = {} exceeds what the BLAS interface can address", what, v);
  return static_cast<blasint>(v);
}

void single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

// Below this many multiply-adds a GEMM runs on the calling thread alone.
constexpr double kSplitWork = 1 << 20;

template <class T>
void gemm_t(const GemmArgs& g) {
  auto* a = static_cast<const T*>(g.a);
  auto* b = static_cast<const T*>(g.b);
  auto* c = static_cast<T*>(g.c);
  const double item_work = double(g.m) * double(g.n) * double(g.k);
  const int threads = num_threads();
  if constexpr (std::is_same_v<T, float>) {
    if (!g.trans_a && !g.trans_b && small_gemm_fits(g.m, g.n, g.k)) {
      // Split the columns between threads in multiples of the kernel's 24-column tiles, from a
      // quarter of kSplitWork: few rows make the product a read of B, which two cores share faster.
      const int64_t tiles = (g.n + 23) / 24;
      const int64_t grain =
          std::max<int64_t>(1, static_cast<int64_t>(kSplitWork / 4 / (24.0 * double(g.m) * double(g.k))));
      for (int64_t i = 0; i < g.batch; ++i)
        parallel_for(tiles, grain, [&](int64_t t0, int64_t t1) {
          const int64_t c0 = t0 * 24, c1 = std::min(g.n, t1 * 24);
          small_gemm(g.m, c1 - c0, g.k, a + i * g.stride_a, g.lda, b + i * g.stride_b + c0, g.ldb,
                     c + i * g.stride_c + c0, g.ldc);
        });
      return;
    }
  }
  auto one = [&](int64_t i, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    // Rows r0..r1 of op(A) and C, columns c0..c1 of op(B) and C.
    const T* ai = a + i * g.stride_a + (g.trans_a ? r0 : r0 * g.lda);
    const T* bi = b + i * g.stride_b + (g.trans_b ? c0 * g.ldb : c0);
    blas_gemm(g.trans_a, g.trans_b, r1 - r0, c1 - c0, g.k, T(1), ai, g.lda, bi, g.ldb, T(0),
              c + i * g.stride_c + r0 * g.ldc + c0, g.ldc);
  };
  if (threads == 1 || item_work * double(g.batch) < kSplitWork) {
    for (int64_t i = 0; i < g.batch; ++i) one(i, 0, g.m, 0, g.n);
    return;
  }
  if (g.batch >= threads || item_work < kSplitWork) {
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kSplitWork / std::max(item_work, 1.0)));
    parallel_for(g.batch, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) one(i, 0, g.m, 0, g.n);
    });
    return;
  }
  // Split the longer side of C, in parts of at least 16 rows / columns and kSplitWork each.
  const bool rows = g.m >= g.n;
  const int64_t len = rows ? g.m : g.n, other = rows ? g.n : g.m;
  const int64_t grain =
      std::max<int64_t>(16, static_cast<int64_t>(kSplitWork / std::max(double(other) * double(g.k), 1.0)));
  for (int64_t i = 0; i < g.batch; ++i)
    parallel_for(len, grain, [&](int64_t p0, int64_t p1) {
      if (rows)
        one(i, p0, p1, 0, g.n);
      else
        one(i, 0, g.m, p0, p1);
    });
}
}  // namespace

void openblas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  single_threaded();
  cblas_sgemm(CblasRowMajor, tr(trans_a), tr(trans_b), to_blas(m, "m"), to_blas(n, "n"), to_blas(k, "k"), alpha,
              a, to_blas(lda, "lda"), b, to_blas(ldb, "ldb"), beta, c, to_blas(ldc, "ldc"));
}

void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  single_threaded();
  cblas_dgemm(CblasRowMajor, tr(trans_a), tr(trans_b), to_blas(m, "m"), to_blas(n, "n"), to_blas(k, "k"), alpha,
              a, to_blas(lda, "lda"), b, to_blas(ldb, "ldb"), beta, c, to_blas(ldc, "ldc"));
}

void gemm(const GemmArgs& g) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  // Checked up front, not inside a pool thread.
  to_blas(g.m, "m"), to_blas(g.n, "n"), to_blas(g.k, "k");
  to_blas(g.lda, "lda"), to_blas(g.ldb, "ldb"), to_blas(g.ldc, "ldc");
  switch (g.dtype) {
    case DType::f32: return gemm_t<float>(g);
    case DType::f64: return gemm_t<double>(g);
    default:
      AXON_FAIL("matmul", "the CPU GEMM takes f32 or f64, got {}", dtype_name(g.dtype));
  }
}

}  // namespace axon::kernels::cpu
