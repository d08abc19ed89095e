#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>
#include <cmath>
#include <limits>
#include <memory>

namespace axon::kernels::cpu {

namespace {
// NaN-propagating running maximum.
inline double max_nan(double m, double v) { return (v != v || v > m) ? v : m; }

template <class T>
void softmax_typed(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
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
