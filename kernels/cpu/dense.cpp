// CPU dense epilogue (bias + activation after the GEMM) and its backward (act' and the bias gradient),
// each one pass over the m x n output, vectorized (AVX2 / AVX-512 clones) and split across the pool.
#include <algorithm>
#include <vector>

#include <axon/error.hpp>
#include <axon/kernels/dense.hpp>

#include "cpu_features.hpp"
#include "dense_act.hpp"
#include "parallel.hpp"
#include "tanh_avx2.hpp"

namespace axon::kernels::cpu {

namespace {
using dense_detail::with_act;

// Elements per part of the pool's split.
constexpr int64_t kGrain = int64_t(1) << 15;

template <DenseAct Act, class T>
AXON_VM_CLONES void forward_rows(T* y, const T* b, int64_t r0, int64_t r1, int64_t n) {
  for (int64_t i = r0; i < r1; ++i) {
    T* row = y + i * n;
    if (b != nullptr) {
      for (int64_t j = 0; j < n; ++j) row[j] = dense_act<Act, T>(row[j] + b[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] = dense_act<Act, T>(row[j]);
    }
  }
}

// Columns [c0, c1): dz over every row, and the column sums in double (acc: c1 - c0 zeroed doubles),
// so the bias gradient does not depend on how the columns were split.
template <DenseAct Act, class T>
AXON_VM_CLONES void backward_columns(const T* y, const T* dy, T* dz, double* acc, int64_t m, int64_t n, int64_t c0,
                                     int64_t c1) {
  const int64_t w = c1 - c0;
  for (int64_t i = 0; i < m; ++i) {
    const T* yr = y + i * n + c0;
    const T* gr = dy + i * n + c0;
    T* zr = dz != nullptr ? dz + i * n + c0 : nullptr;
    if (zr != nullptr) {
      for (int64_t j = 0; j < w; ++j) zr[j] = dense_detail::backward<Act, T>(yr[j], gr[j]);
      if (acc != nullptr)
        for (int64_t j = 0; j < w; ++j) acc[j] += double(zr[j]);
    } else if (acc != nullptr) {
      for (int64_t j = 0; j < w; ++j) acc[j] += double(dense_detail::backward<Act, T>(yr[j], gr[j]));
    }
  }
}

#ifdef AXON_AVX2_INLINE
// f32 tanh rows in AVX2 + FMA: the register tanh of the one-pass kernel's tiles (tanh_avx2.hpp),
// 8 columns at a time, the last n % 8 through the loop above: a fifth less time than that loop's
// vectorized compare-and-blend clamps (256 x 256 with a bias: 26 against 34 us, one core).
__attribute__((target("avx2,fma"))) void tanh_rows_avx2(float* y, const float* b, int64_t r0, int64_t r1,
                                                        int64_t n) {
  const int64_t n8 = n / 8 * 8;
  for (int64_t i = r0; i < r1; ++i) {
    float* row = y + i * n;
    for (int64_t j = 0; j < n8; j += 8) {
      __m256 v = _mm256_loadu_ps(row + j);
      if (b != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(b + j));
      _mm256_storeu_ps(row + j, avx2::tanh8(v));
    }
    for (int64_t j = n8; j < n; ++j) row[j] = dense_act<DenseAct::tanh, float>(b != nullptr ? row[j] + b[j] : row[j]);
  }
}
#endif

// Rows [r0, r1) of act = tanh on the AVX2 path; false where that does not apply (f64, no AVX2).
bool tanh_rows_fast(float* y, const float* b, int64_t r0, int64_t r1, int64_t n) {
#ifdef AXON_AVX2_INLINE
  if (avx2_kernels()) {
    tanh_rows_avx2(y, b, r0, r1, n);
    return true;
  }
#endif
  return false;
}
bool tanh_rows_fast(double*, const double*, int64_t, int64_t, int64_t) { return false; }

template <class T>
void forward_t(DenseAct a, T* y, const T* b, int64_t m, int64_t n) {
  with_act(a, [&]<DenseAct Act>() {
    if (Act == DenseAct::none && b == nullptr) return;
    parallel_for(m, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
      if constexpr (Act == DenseAct::tanh)
        if (tanh_rows_fast(y, b, r0, r1, n)) return;
      forward_rows<Act, T>(y, b, r0, r1, n);
    });
  });
}

template <class T>
void backward_t(DenseAct a, const T* y, const T* dy, T* dz, T* db, int64_t m, int64_t n) {
  with_act(a, [&]<DenseAct Act>() {
    // Tall outputs (a conv's N * H * W rows to a column): fixed blocks of rows, each one contiguous pass
    // with its own column sums, added in block order after. The blocks depend on m and n alone, so the
    // bias gradient does not depend on the thread count.
    const int64_t block = std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1));
    if (m >= 4 * block) {
      const int64_t blocks = (m + block - 1) / block;
      std::vector<double> acc(db != nullptr ? size_t(blocks * n) : 0, 0.0);
      parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t r0 = b * block, rows = std::min(m, r0 + block) - r0;
          backward_columns<Act, T>(y + r0 * n, dy + r0 * n, dz != nullptr ? dz + r0 * n : nullptr,
                                   db != nullptr ? acc.data() + b * n : nullptr, rows, n, 0, n);
        }
      });
      if (db != nullptr)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t b = 0; b < blocks; ++b) sum += acc[size_t(b * n + j)];
          db[j] = static_cast<T>(sum);
        }
      return;
    }
    parallel_for(n, std::max<int64_t>(1, kGrain / std::max<int64_t>(m, 1)), [&](int64_t c0, int64_t c1) {
      std::vector<double> acc(db != nullptr ? size_t(c1 - c0) : 0, 0.0);
      backward_columns<Act, T>(y, dy, dz, db != nullptr ? acc.data() : nullptr, m, n, c0, c1);
      if (db != nullptr)
        for (int64_t j = c0; j < c1; ++j) db[j] = static_cast<T>(acc[size_t(j - c0)]);
    });
  });
}
}  // namespace

void dense_epilogue(DenseAct act, DType dt, void* y, const void* b, int64_t m, int64_t n) {
  if (m == 0 || n == 0) return;
  switch (dt) {
    case DType::f32: return forward_t(act, static_cast<float*>(y), static_cast<const float*>(b), m, n);
    case DType::f64: return forward_t(act, static_cast<double*>(y), static_cast<const double*>(b), m, n);
    default: AXON_FAIL("fused_dense", "the CPU epilogue takes f32 or f64, got {}", dtype_name(dt));
  }
}

void dense_epilogue_backward(DenseAct act, DType dt, const void* y, const void* dy, void* dz, void* db, int64_t m,
                             int64_t n) {
  if (n == 0) return;
  switch (dt) {
    case DType::f32:
      return backward_t(act, static_cast<const float*>(y), static_cast<const float*>(dy), static_cast<float*>(dz),
                        static_cast<float*>(db), m, n);
    case DType::f64:
      return backward_t(act, static_cast<const double*>(y), static_cast<const double*>(dy), static_cast<double*>(dz),
                        static_cast<double*>(db), m, n);
    default: AXON_FAIL("fused_dense", "the CPU epilogue takes f32 or f64, got {}", dtype_name(dt));
  }
}

}  // namespace axon::kernels::cpu
