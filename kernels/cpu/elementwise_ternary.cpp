// CPU where and clamp with tensor bounds.
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/elementwise_math.hpp>

#include <type_traits>

#include "elementwise_loops.hpp"

namespace axon::kernels::cpu {

using namespace ew_loops;

namespace {
// y = c ? a : (b or bv) over [lo, hi): both sides loaded and the condition read as bytes, so the
// compiler vectorizes the select (everything in locals: no store to y can alias them).
template <class T>
void select_contiguous(const unsigned char* c, const T* a, const T* b, T bv, T* y, int64_t lo, int64_t hi) {
  if (b) {
    for (int64_t i = lo; i < hi; ++i) {
      const T u = a[i], v = b[i];
      y[i] = c[i] ? u : v;
    }
  } else {
    for (int64_t i = lo; i < hi; ++i) {
      const T u = a[i];
      y[i] = c[i] ? u : bv;
    }
  }
}
}  // namespace

void where(DType dt, const bool* c, const Indexer& ic, const void* a, const Indexer& ia, const void* b,
           const Indexer& ib, double b_scalar, void* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "where", {
    using T = scalar_t;
    auto* ap = static_cast<const T*>(a);
    auto* yp = static_cast<T*>(y);
    if constexpr (std::is_arithmetic_v<T>) {
      // Contiguous operands: a vectorized select. The generic loop below branches per element, and
      // random masks (relu's backward) mispredict half the time.
      if (ic.contiguous() && ia.contiguous() && (!b || ib.contiguous())) {
        auto* cb = reinterpret_cast<const unsigned char*>(c);
        auto* bp = static_cast<const T*>(b);
        const T bv = b ? T() : convert<T>(ew::scalar_as<acc_t<T>>(b_scalar));
        parallel_for(n, kGrain, [=](int64_t lo, int64_t hi) { select_contiguous(cb, ap, bp, bv, yp, lo, hi); });
        return;
      }
    }
    if (b) {
      // Selected in the storage type: no conversion, so every dtype round-trips exactly.
      map3<T>(c, ic, ap, ia, static_cast<const T*>(b), ib, yp, n, [](bool k, T u, T v) { return k ? u : v; });
    } else {
      const T bv = convert<T>(ew::scalar_as<acc_t<T>>(b_scalar));
      map3<T>(c, ic, ap, ia, ap, ia, yp, n, [bv](bool k, T u, T) { return k ? u : bv; });
    }
  });
}

void clamp(DType dt, const void* x, const Indexer& ix, const void* lo, const Indexer& ilo, const void* hi,
           const Indexer& ihi, void* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "clamp", {
    using T = scalar_t;
    using A = acc_t<T>;
    if constexpr (!std::is_same_v<T, bool>) {
      const bool has_lo = lo != nullptr, has_hi = hi != nullptr;
      // A missing bound reads x again (any valid pointer will do); clamp3 ignores it.
      auto* xp = static_cast<const T*>(x);
      auto* lp = has_lo ? static_cast<const T*>(lo) : xp;
      auto* hp = has_hi ? static_cast<const T*>(hi) : xp;
      map3<A>(xp, ix, lp, has_lo ? ilo : ix, hp, has_hi ? ihi : ix, static_cast<T*>(y), n,
              [has_lo, has_hi](T v, A l, A h) { return ew::clamp3(convert<A>(v), l, h, has_lo, has_hi); });
    } else {
      detail::unsupported_dtype("clamp", dt);
    }
  });
}

}  // namespace axon::kernels::cpu
