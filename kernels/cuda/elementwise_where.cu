// CUDA where (every dtype) and clamp with tensor bounds.
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda {

namespace {
template <class T>
struct Select {
  __device__ __forceinline__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};
template <class T>
struct SelectScalar {
  T b;
  __device__ __forceinline__ T operator()(bool c, T a) const { return c ? a : b; }
};
template <class T>
struct ClampTensors {
  bool has_lo, has_hi;
  __device__ __forceinline__ T operator()(T x, T lo, T hi) const {
    using A = acc_t<T>;
    return ew::cvt<T>(ew::clamp3(ew::cvt<A>(x), ew::cvt<A>(lo), ew::cvt<A>(hi), has_lo, has_hi));
  }
};
}  // namespace

void where(DType dt, const bool* c, const Indexer& ic, const void* a, const Indexer& ia, const void* b,
           const Indexer& ib, double b_scalar, void* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "where", {
    using T = scalar_t;
    auto* yp = static_cast<T*>(y);
    auto* ap = static_cast<const T*>(a);
    if (b)
      ew::launch("where", n, Select<T>{}, yp, s, c, ic, ap, ia, static_cast<const T*>(b), ib);
    else
      ew::launch("where", n, SelectScalar<T>{convert<T>(ew::scalar_as<acc_t<T>>(b_scalar))}, yp, s, c, ic, ap,
                 ia);
  });
}

void clamp(DType dt, const void* x, const Indexer& ix, const void* lo, const Indexer& ilo, const void* hi,
           const Indexer& ihi, void* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "clamp", {
    using T = scalar_t;
    if constexpr (!std::is_same_v<T, bool>) {
      auto* xp = static_cast<const T*>(x);
      const bool has_lo = lo != nullptr, has_hi = hi != nullptr;
      // A missing bound reads x again; ClampTensors ignores it.
      ew::launch("clamp", n, ClampTensors<T>{has_lo, has_hi}, static_cast<T*>(y), s, xp, ix,
                 has_lo ? static_cast<const T*>(lo) : xp, has_lo ? ilo : ix,
                 has_hi ? static_cast<const T*>(hi) : xp, has_hi ? ihi : ix);
    } else {
      detail::unsupported_dtype("clamp", dt);
    }
  });
}

}  // namespace axon::kernels::cuda
