// CPU softmax / log-softmax backward, fused: one f64 sum per row (or column) and one writing pass,
// instead of the composite's mul, sum, sub and mul (four passes and three temporaries).
#include <algorithm>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/softmax.hpp>

#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {
// softmax: dx = y * (g - s) with s = sum(g * y); log-softmax: dx = g - exp(y) * s with s = sum(g).
// (Log a template parameter: the loops vectorize without computing both sides.)
template <bool Log, class A>
AXON_VM_INLINE double term(A y, A g) {
  if constexpr (Log) return double(g);
  else return double(g) * double(y);
}
template <bool Log, class A>
AXON_VM_INLINE A grad(A y, A g, A s) {
  if constexpr (Log) return g - vm::exp(y) * s;
  else return y * (g - s);
}

template <bool Log, class T>
AXON_VM_CLONES void rows(const T* y, const T* g, T* dx, int64_t r0, int64_t r1, int64_t n) {
  using A = acc_t<T>;
  for (int64_t r = r0; r < r1; ++r) {
    const T* yr = y + r * n;
    const T* gr = g + r * n;
    T* dr = dx + r * n;
    // Independent accumulators (as vm::sum_f64): one running double would serialize on its adds.
    double acc[vm::kLanes] = {};
    int64_t k = 0;
    for (; k + vm::kLanes <= n; k += vm::kLanes)
      for (int j = 0; j < vm::kLanes; ++j) acc[j] += term<Log>(convert<A>(yr[k + j]), convert<A>(gr[k + j]));
    double s = 0;
    for (int j = 0; j < vm::kLanes; ++j) s += acc[j];
    for (; k < n; ++k) s += term<Log>(convert<A>(yr[k]), convert<A>(gr[k]));
    const A sa = static_cast<A>(s);
    for (k = 0; k < n; ++k) dr[k] = convert<T>(grad<Log>(convert<A>(yr[k]), convert<A>(gr[k]), sa));
  }
}

// inner > 1: blocks of up to kBlock adjacent columns, each loop over its columns vectorizable.
constexpr int64_t kBlock = 256;
template <bool Log, class T>
AXON_VM_CLONES void columns(const T* y, const T* g, T* dx, int64_t n, int64_t inner, int64_t i0, int64_t len) {
  using A = acc_t<T>;
  double s[kBlock];
  std::fill(s, s + len, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const T* yk = y + k * inner + i0;
    const T* gk = g + k * inner + i0;
    for (int64_t i = 0; i < len; ++i) s[i] += term<Log>(convert<A>(yk[i]), convert<A>(gk[i]));
  }
  for (int64_t k = 0; k < n; ++k) {
    const int64_t at = k * inner + i0;
    for (int64_t i = 0; i < len; ++i)
      dx[at + i] = convert<T>(grad<Log>(convert<A>(y[at + i]), convert<A>(g[at + i]), static_cast<A>(s[i])));
  }
}

template <bool Log, class T>
void typed(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / n);
    parallel_for(outer, grain, [=](int64_t r0, int64_t r1) { rows<Log>(y, g, dx, r0, r1, n); });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / (n * std::min(inner, kBlock)));
  parallel_for(outer * blocks, grain, [=](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kBlock, base = o * n * inner;
      columns<Log>(y + base, g + base, dx + base, n, inner, i0, std::min(kBlock, inner - i0));
    }
  });
}
}  // namespace

void softmax_backward(DType dt, const void* y, const void* g, void* dx, int64_t outer, int64_t n, int64_t inner,
                      bool log) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_backward",
                      (log ? typed<true, scalar_t> : typed<false, scalar_t>)(
                          static_cast<const scalar_t*>(y), static_cast<const scalar_t*>(g),
                          static_cast<scalar_t*>(dx), outer, n, inner));
}

}  // namespace axon::kernels::cpu
