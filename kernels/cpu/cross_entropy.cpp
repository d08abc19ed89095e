#include <axon/kernels/cross_entropy.hpp>
#include <axon/kernels/scalar.hpp>
#include <algorithm>
#include <cmath>
#include <limits>

#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {
// Rows per thread at least: about 2^16 elements.
int64_t row_grain(int64_t c) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(c, 1)); }

// log(sum_k e^(x_k - m)) + m of one row, with m its (NaN-propagating) maximum: f32 rows take
// vmath's exp with the sum in f64, the others convert each logit to f64 (the 16-bit floats) or are
// f64.
template <class T>
AXON_VM_CLONES double row_logsumexp(const T* xr, int64_t c) {
  double m, s = 0;
  if constexpr (std::is_same_v<T, float>) {
    const float mf = vm::max_nan(xr, c);
    m = mf;
    double acc[vm::kLanes] = {};
    int64_t k = 0;
    for (; k + vm::kLanes <= c; k += vm::kLanes)
      for (int j = 0; j < vm::kLanes; ++j) acc[j] += static_cast<double>(vm::exp(xr[k + j] - mf));
    for (int j = 0; j < vm::kLanes; ++j) s += acc[j];
    for (; k < c; ++k) s += static_cast<double>(vm::exp(xr[k] - mf));
  } else {
    m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < c; ++k) {
      double v = convert<double>(xr[k]);
      m = (v != v || v > m) ? v : m;
    }
    for (int64_t k = 0; k < c; ++k) s += std::exp(convert<double>(xr[k]) - m);
  }
  if (m != m) return m;          // NaN wins
  if (std::isinf(m)) return m;   // every logit -inf (or one +inf): the limit, not inf - inf
  return m + std::log(s);
}

template <class T>
void fwd(const T* x, const void* labels, bool sparse, T* loss, acc_t<T>* lse, acc_t<T>* ysum, int64_t rows,
         int64_t c) {
  const T* y = static_cast<const T*>(labels);
  const int64_t* ids = static_cast<const int64_t*>(labels);
  parallel_for(rows, row_grain(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      const double l = row_logsumexp(xr, c);
      double out, sy = 1;
      if (sparse) {
        out = l - convert<double>(xr[ids[r]]);
      } else {
        const T* yr = y + r * c;
        double syx = 0;
        sy = 0;
        for (int64_t k = 0; k < c; ++k) {
          double yk = convert<double>(yr[k]);
          sy += yk;
          if (yk != 0) syx += yk * convert<double>(xr[k]);
        }
        out = l * sy - syx;
        ysum[r] = static_cast<acc_t<T>>(sy);
      }
      loss[r] = convert<T>(out);
      lse[r] = static_cast<acc_t<T>>(l);
    }
  });
}

// dx = dloss (e^(x - lse) sum(y) - y) over rows [r0, r1).
template <class T>
AXON_VM_CLONES void bwd_rows(const T* x, const T* y, const int64_t* ids, bool sparse, const acc_t<T>* lse,
                             const acc_t<T>* ysum, const T* dl, T* dx, int64_t r0, int64_t r1, int64_t c) {
  using A = acc_t<T>;
  for (int64_t r = r0; r < r1; ++r) {
    const A g = convert<A>(dl[r]), l = lse[r];
    const T* xr = x + r * c;
    T* dr = dx + r * c;
    if (sparse) {
      for (int64_t k = 0; k < c; ++k) dr[k] = convert<T>(g * vm::exp(convert<A>(xr[k]) - l));
      const int64_t id = ids[r];  // the label's class, apart: a compare in the loop would keep it scalar
      if (id >= 0 && id < c) dr[id] = convert<T>(g * (vm::exp(convert<A>(xr[id]) - l) - A(1)));
    } else {
      const A sy = ysum[r];
      const T* yr = y + r * c;
      for (int64_t k = 0; k < c; ++k) dr[k] = convert<T>(g * (vm::exp(convert<A>(xr[k]) - l) * sy - convert<A>(yr[k])));
    }
  }
}

template <class T>
void bwd(const T* x, const void* labels, bool sparse, const acc_t<T>* lse, const acc_t<T>* ysum, const T* dl,
         T* dx, int64_t rows, int64_t c) {
  const T* y = static_cast<const T*>(labels);
  const int64_t* ids = static_cast<const int64_t*>(labels);
  parallel_for(rows, row_grain(c), [&](int64_t r0, int64_t r1) {
    bwd_rows(x, y, ids, sparse, lse, ysum, dl, dx, r0, r1, c);
  });
}
}  // namespace

void softmax_xent_forward(DType dt, const void* x, const void* labels, bool sparse, void* loss, void* lse,
                          void* ysum, int64_t rows, int64_t classes) {
  if (rows == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_cross_entropy", {
    using A = acc_t<scalar_t>;
    fwd(static_cast<const scalar_t*>(x), labels, sparse, static_cast<scalar_t*>(loss), static_cast<A*>(lse),
        static_cast<A*>(ysum), rows, classes);
  });
}

void softmax_xent_backward(DType dt, const void* x, const void* labels, bool sparse, const void* lse,
                           const void* ysum, const void* dloss, void* dx, int64_t rows, int64_t classes) {
  if (rows * classes == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_cross_entropy_backward", {
    using A = acc_t<scalar_t>;
    bwd(static_cast<const scalar_t*>(x), labels, sparse, static_cast<const A*>(lse), static_cast<const A*>(ysum),
        static_cast<const scalar_t*>(dloss), static_cast<scalar_t*>(dx), rows, classes);
  });
}

}  // namespace axon::kernels::cpu
