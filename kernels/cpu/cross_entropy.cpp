#include <axon/kernels/cross_entropy.hpp>
#include <axon/kernels/scalar.hpp>
#include <cmath>
#include <limits>

namespace axon::kernels::cpu {

namespace {
template <class T>
void fwd(const T* x, const void* labels, bool sparse, T* loss, acc_t<T>* lse, acc_t<T>* ysum, int64_t rows,
         int64_t c) {
  const T* y = static_cast<const T*>(labels);
  const int64_t* ids = static_cast<const int64_t*>(labels);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    double m = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (int64_t k = 0; k < c; ++k) {
      double v = convert<double>(xr[k]);
      nan |= v != v;
      m = v > m ? v : m;
    }
    double s = 0;
    for (int64_t k = 0; k < c; ++k) s += std::exp(convert<double>(xr[k]) - m);
    double l = nan ? std::numeric_limits<double>::quiet_NaN() : m + std::log(s);
    if (!nan && std::isinf(m)) l = m;  // every logit -inf (or one +inf): the limit, not inf - inf; NaN wins
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
}

template <class T>
void bwd(const T* x, const void* labels, bool sparse, const acc_t<T>* lse, const acc_t<T>* ysum, const T* dl,
         T* dx, int64_t rows, int64_t c) {
  using A = acc_t<T>;
  const T* y = static_cast<const T*>(labels);
  const int64_t* ids = static_cast<const int64_t*>(labels);
  for (int64_t r = 0; r < rows; ++r) {
    const A g = convert<A>(dl[r]), l = lse[r], sy = sparse ? A(1) : ysum[r];
    for (int64_t k = 0; k < c; ++k) {
      A yk = sparse ? A(ids[r] == k ? 1 : 0) : convert<A>(y[r * c + k]);
      dx[r * c + k] = convert<T>(g * (std::exp(convert<A>(x[r * c + k]) - l) * sy - yk));
    }
  }
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
