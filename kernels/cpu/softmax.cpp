#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>
#include <cmath>
#include <limits>
#include <algorithm>
#include <type_traits>

#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {
// Rows per thread at least: about 2^16 elements.
int64_t row_grain(int64_t n) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(n, 1)); }

// Rows (inner == 1) of f32/f64: one exp per element in the type's own precision (vmath's for f32),
// parked in y, summed in f64, then scaled in place (or replaced by x - m - log(sum)).
template <class T>
AXON_VM_CLONES void softmax_rows(const T* x, T* y, int64_t r0, int64_t r1, int64_t n, bool log) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    const T m = vm::max_nan(xr, n);
    for (int64_t k = 0; k < n; ++k) yr[k] = vm::exp(xr[k] - m);
    const double s = vm::sum_f64(yr, n);
    if (log) {
      const T ls = static_cast<T>(std::log(s));
      for (int64_t k = 0; k < n; ++k) yr[k] = (xr[k] - m) - ls;
    } else {
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t k = 0; k < n; ++k) yr[k] *= inv;
    }
  }
}

// Along a strided axis (inner > 1; and the rows of the 16-bit floats): blocks of up to kBlock
// adjacent columns, each a vectorizable loop over its columns for every k. The arithmetic type A
// is f32 for f32 and the 16-bit floats (vmath's exp), f64 for f64; the sums are f64.
template <class T>
AXON_VM_CLONES void softmax_columns(const T* x, T* y, int64_t n, int64_t inner, int64_t i0, int64_t len, bool log) {
  using A = acc_t<T>;
  constexpr int64_t kBlock = 256;
  A m[kBlock];
  double s[kBlock];
  for (int64_t i = 0; i < len; ++i) {
    m[i] = -std::numeric_limits<A>::infinity();
    s[i] = 0;
  }
  for (int64_t k = 0; k < n; ++k) {
    const T* xk = x + k * inner + i0;
    for (int64_t i = 0; i < len; ++i) {
      const A v = convert<A>(xk[i]);
      m[i] = vm::select((v != v) | (v > m[i]), v, m[i]);
    }
  }
  for (int64_t k = 0; k < n; ++k) {
    const T* xk = x + k * inner + i0;
    for (int64_t i = 0; i < len; ++i) s[i] += static_cast<double>(vm::exp(convert<A>(xk[i]) - m[i]));
  }
  for (int64_t i = 0; i < len; ++i) s[i] = log ? std::log(s[i]) : 1.0 / s[i];
  for (int64_t k = 0; k < n; ++k) {
    const T* xk = x + k * inner + i0;
    T* yk = y + k * inner + i0;
    if (log) {
      for (int64_t i = 0; i < len; ++i) yk[i] = convert<T>((convert<A>(xk[i]) - m[i]) - static_cast<A>(s[i]));
    } else {
      for (int64_t i = 0; i < len; ++i) yk[i] = convert<T>(vm::exp(convert<A>(xk[i]) - m[i]) * static_cast<A>(s[i]));
    }
  }
}

template <class T>
void softmax_typed(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (inner == 1) {
      parallel_for(outer, row_grain(n), [=](int64_t r0, int64_t r1) { softmax_rows(x, y, r0, r1, n, log); });
      return;
    }
  }
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / (n * std::min(inner, kBlock)));
  parallel_for(outer * blocks, grain, [=](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
      softmax_columns(x + o * n * inner, y + o * n * inner, n, inner, i0, std::min(kBlock, inner - i0), log);
    }
  });
}
}  // namespace

void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "softmax",
      softmax_typed(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), outer, n, inner, log));
}

}  // namespace axon::kernels::cpu
