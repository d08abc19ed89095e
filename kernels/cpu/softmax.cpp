#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

namespace axon::kernels::cpu {

namespace {
// NaN-propagating running maximum.
inline double max_nan(double m, double v) { return (v != v || v > m) ? v : m; }

// Rows (inner == 1) of f32/f64: one exp per element in the type's own precision (the sum in f64),
// the exponentials parked in y and scaled in place.
template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < n; ++k) m = (xr[k] != xr[k] || xr[k] > m) ? xr[k] : m;
    double s = 0;
    if (log) {
      for (int64_t k = 0; k < n; ++k) s += std::exp(xr[k] - m);
      T ls = static_cast<T>(std::log(s));
      for (int64_t k = 0; k < n; ++k) yr[k] = (xr[k] - m) - ls;
    } else {
      for (int64_t k = 0; k < n; ++k) {
        T e = std::exp(xr[k] - m);
        yr[k] = e;
        s += e;
      }
      T inv = static_cast<T>(1.0 / s);
      for (int64_t k = 0; k < n; ++k) yr[k] *= inv;
    }
  }
}

template <class T>
void softmax_typed(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (inner == 1) return softmax_rows(x, y, outer, n, log);
  }
  std::unique_ptr<double[]> m(new double[static_cast<size_t>(inner)]),
      s(new double[static_cast<size_t>(inner)]);
  for (int64_t o = 0; o < outer; ++o) {
    const T* xo = x + o * n * inner;
    T* yo = y + o * n * inner;
    for (int64_t i = 0; i < inner; ++i) {
      m[i] = -std::numeric_limits<double>::infinity();
      s[i] = 0;
    }
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) m[i] = max_nan(m[i], convert<double>(xo[k * inner + i]));
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) s[i] += std::exp(convert<double>(xo[k * inner + i]) - m[i]);
    for (int64_t i = 0; i < inner; ++i) s[i] = log ? std::log(s[i]) : 1.0 / s[i];
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) {
        double d = convert<double>(xo[k * inner + i]) - m[i];
        yo[k * inner + i] = convert<T>(log ? d - s[i] : std::exp(d) * s[i]);
      }
  }
}
}  // namespace

void softmax(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "softmax",
      softmax_typed(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), outer, n, inner, log));
}

}  // namespace axon::kernels::cpu
