// CPU layer / rms norm: one pass per row for the statistics (accumulated in double), one for the
// output. Rows are independent, so large inputs split rows across threads.
#include <axon/kernels/norm.hpp>
#include <axon/kernels/scalar.hpp>
#include <cmath>
#include <thread>
#include <vector>

namespace axon::kernels::cpu {

namespace {
template <class T>
using S = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Runs f(begin, end) over [0, rows) on up to two threads when the work is large enough to pay.
template <class F>
void parallel_rows(int64_t rows, int64_t n, F f) {
  unsigned hw = std::thread::hardware_concurrency();
  if (rows < 2 || rows * n < (1 << 16) || hw < 2) return f(int64_t(0), rows);
  int64_t nt = std::min<int64_t>(hw, std::min<int64_t>(rows, 8));
  std::vector<std::thread> ts;
  int64_t per = (rows + nt - 1) / nt;
  for (int64_t t = 1; t < nt; ++t) {
    int64_t b = t * per, e = std::min(rows, b + per);
    if (b < e) ts.emplace_back([=] { f(b, e); });
  }
  f(int64_t(0), std::min(rows, per));
  for (auto& t : ts) t.join();
}

template <class T>
void forward(const T* x, const T* w, const T* b, T* y, S<T>* mean, S<T>* rstd, int64_t rows, int64_t n,
             double eps, bool rms) {
  parallel_rows(rows, n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      double m = 0;
      if (!rms) {
        for (int64_t k = 0; k < n; ++k) m += convert<double>(xr[k]);
        m /= double(n);
      }
      double v = 0;
      for (int64_t k = 0; k < n; ++k) {
        double d = convert<double>(xr[k]) - m;
        v += d * d;
      }
      double rs = 1.0 / std::sqrt(v / double(n) + eps);
      mean[r] = static_cast<S<T>>(m);
      rstd[r] = static_cast<S<T>>(rs);
      for (int64_t k = 0; k < n; ++k) {
        double o = (convert<double>(xr[k]) - m) * rs;
        if (w) o *= convert<double>(w[k]);
        if (b) o += convert<double>(b[k]);
        yr[k] = convert<T>(o);
      }
    }
  });
}

template <class T>
void backward(const T* x, const T* w, const S<T>* mean, const S<T>* rstd, const T* dy, T* dx, int64_t rows,
              int64_t n, bool rms) {
  parallel_rows(rows, n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * n;
      const T* gr = dy + r * n;
      T* dr = dx + r * n;
      double m = rms ? 0.0 : double(mean[r]), rs = rstd[r];
      double s1 = 0, s2 = 0;
      for (int64_t k = 0; k < n; ++k) {
        double xh = (convert<double>(xr[k]) - m) * rs;
        double g = convert<double>(gr[k]) * (w ? convert<double>(w[k]) : 1.0);
        s1 += g;
        s2 += g * xh;
      }
      s1 = rms ? 0.0 : s1 / double(n);
      s2 /= double(n);
      for (int64_t k = 0; k < n; ++k) {
        double xh = (convert<double>(xr[k]) - m) * rs;
        double g = convert<double>(gr[k]) * (w ? convert<double>(w[k]) : 1.0);
        dr[k] = convert<T>(rs * (g - s1 - xh * s2));
      }
    }
  });
}

template <class T>
void partials(const T* x, const S<T>* mean, const S<T>* rstd, const T* dy, S<T>* p, int64_t rows, int64_t n,
              int64_t chunks, bool rms) {
  std::vector<double> a(static_cast<size_t>(n)), c(static_cast<size_t>(n));
  int64_t per = (rows + chunks - 1) / chunks;
  for (int64_t ch = 0; ch < chunks; ++ch) {
    std::fill(a.begin(), a.end(), 0.0);
    std::fill(c.begin(), c.end(), 0.0);
    for (int64_t r = ch * per; r < std::min(rows, (ch + 1) * per); ++r) {
      double m = rms ? 0.0 : double(mean[r]), rs = rstd[r];
      for (int64_t k = 0; k < n; ++k) {
        double g = convert<double>(dy[r * n + k]);
        a[k] += g * (convert<double>(x[r * n + k]) - m) * rs;
        c[k] += g;
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      p[ch * n + k] = static_cast<S<T>>(a[k]);
      p[(chunks + ch) * n + k] = static_cast<S<T>>(c[k]);
    }
  }
}
}  // namespace

void norm_forward(DType dt, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                  int64_t rows, int64_t n, double eps, bool rms) {
  if (rows * n == 0) return;
  AXON_DISPATCH_FLOAT(
      dt, "layer_norm",
      forward(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w),
              static_cast<const scalar_t*>(b), static_cast<scalar_t*>(y), static_cast<S<scalar_t>*>(mean),
              static_cast<S<scalar_t>*>(rstd), rows, n, eps, rms));
}

void norm_backward(DType dt, const void* x, const void* w, const void* mean, const void* rstd, const void* dy,
                   void* dx, int64_t rows, int64_t n, bool rms) {
  if (rows * n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "layer_norm_backward",
                      backward(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w),
                               static_cast<const S<scalar_t>*>(mean), static_cast<const S<scalar_t>*>(rstd),
                               static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx), rows, n, rms));
}

void norm_param_partials(DType dt, const void* x, const void* mean, const void* rstd, const void* dy,
                         void* partial, int64_t rows, int64_t n, int64_t chunks, bool rms) {
  if (n == 0 || chunks == 0) return;
  AXON_DISPATCH_FLOAT(dt, "layer_norm_backward",
                      partials(static_cast<const scalar_t*>(x), static_cast<const S<scalar_t>*>(mean),
                               static_cast<const S<scalar_t>*>(rstd), static_cast<const scalar_t*>(dy),
                               static_cast<S<scalar_t>*>(partial), rows, n, chunks, rms));
}

}  // namespace axon::kernels::cpu
