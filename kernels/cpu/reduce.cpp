#include <axon/kernels/reduce.hpp>
#include <axon/kernels/scalar.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

namespace axon::kernels::cpu {

namespace {

// Floating values accumulate in double (a sum of 1e6 f32 values stays within f32 rounding of the
// exact sum); integers and bool in int64.
template <class T>
using wide_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, double, int64_t>;

template <class A>
inline bool isnan_(A a) {
  if constexpr (std::is_floating_point_v<A>)
    return a != a;
  else
    return false;
}

template <class T>
struct Sum {
  using A = wide_t<T>;
  using Out = std::conditional_t<std::is_floating_point_v<A>, T, int64_t>;
  double scale;
  A init() const { return A(0); }
  A project(T v, int64_t) const { return convert<A>(v); }
  A combine(A a, A b) const { return a + b; }
  Out finish(A a) const {
    if constexpr (std::is_floating_point_v<A>)
      return convert<Out>(a * scale);
    else
      return a;
  }
};
template <class T>
struct Prod {
  using A = wide_t<T>;
  using Out = std::conditional_t<std::is_floating_point_v<A>, T, int64_t>;
  A init() const { return A(1); }
  A project(T v, int64_t) const { return convert<A>(v); }
  A combine(A a, A b) const {
    if constexpr (std::is_integral_v<A>)  // wraps like PyTorch instead of signed-overflow UB
      return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
    else
      return a * b;
  }
  Out finish(A a) const { return convert<Out>(a); }
};
// NaN propagates through max and min.
template <class T, bool IsMax>
struct Extreme {
  using A = wide_t<T>;
  using Out = T;
  A init() const {
    if constexpr (std::is_floating_point_v<A>)
      return IsMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
    else if constexpr (std::is_same_v<T, bool>)
      return IsMax ? 0 : 1;
    else
      return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  A project(T v, int64_t) const { return convert<A>(v); }
  A combine(A a, A b) const {
    if (isnan_(a)) return a;
    if (isnan_(b)) return b;
    return IsMax ? (b > a ? b : a) : (b < a ? b : a);
  }
  Out finish(A a) const { return convert<Out>(a); }
};
template <class T, bool IsAll>
struct Logical {
  using A = bool;
  using Out = bool;
  A init() const { return IsAll; }
  A project(T v, int64_t) const { return convert<bool>(v); }
  A combine(A a, A b) const { return IsAll ? (a && b) : (a || b); }
  Out finish(A a) const { return a; }
};
template <class V>
struct ArgAcc {
  V v;
  int64_t i;  // -1: nothing seen yet
};
// Order-independent: the better value wins, the smaller index breaks ties, NaN beats numbers.
template <class T, bool IsMax>
struct Arg {
  using V = wide_t<T>;
  using A = ArgAcc<V>;
  using Out = int64_t;
  A init() const { return {V(0), -1}; }
  A project(T v, int64_t i) const { return {convert<V>(v), i}; }
  A combine(A a, A b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool an = isnan_(a.v), bn = isnan_(b.v);
    if (an || bn) {
      if (an && bn) return a.i <= b.i ? a : b;
      return an ? a : b;
    }
    bool b_better = IsMax ? b.v > a.v : b.v < a.v;
    if (b_better || (b.v == a.v && b.i < a.i)) return b;
    return a;
  }
  Out finish(A a) const { return a.i; }
};

template <class T, class R>
void run(const R& r, const T* x, typename R::Out* y, int64_t outer, int64_t n, int64_t inner) {
  using A = typename R::A;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      // Four independent chains: faster, and summation error grows more slowly.
      A a0 = r.init(), a1 = r.init(), a2 = r.init(), a3 = r.init();
      int64_t k = 0;
      for (; k + 4 <= n; k += 4) {
        a0 = r.combine(a0, r.project(row[k], k));
        a1 = r.combine(a1, r.project(row[k + 1], k + 1));
        a2 = r.combine(a2, r.project(row[k + 2], k + 2));
        a3 = r.combine(a3, r.project(row[k + 3], k + 3));
      }
      for (; k < n; ++k) a0 = r.combine(a0, r.project(row[k], k));
      y[o] = r.finish(r.combine(r.combine(a0, a1), r.combine(a2, a3)));
    }
    return;
  }
  std::unique_ptr<A[]> acc(new A[static_cast<size_t>(inner)]);  // not vector<bool>: A may be bool
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) acc[i] = r.init();
    for (int64_t k = 0; k < n; ++k) {
      const T* row = x + (o * n + k) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] = r.combine(acc[i], r.project(row[i], k));
    }
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = r.finish(acc[i]);
  }
}

template <class T>
void dispatch(ReduceOp op, const T* x, void* y, int64_t outer, int64_t n, int64_t inner, double scale) {
  auto go = [&](const auto& r) {
    using R = std::decay_t<decltype(r)>;
    run(r, x, static_cast<typename R::Out*>(y), outer, n, inner);
  };
  switch (op) {
    case ReduceOp::sum:
      go(Sum<T>{scale});
      break;
    case ReduceOp::prod:
      go(Prod<T>{});
      break;
    case ReduceOp::max:
      go(Extreme<T, true>{});
      break;
    case ReduceOp::min:
      go(Extreme<T, false>{});
      break;
    case ReduceOp::all:
      go(Logical<T, true>{});
      break;
    case ReduceOp::any:
      go(Logical<T, false>{});
      break;
    case ReduceOp::argmax:
      go(Arg<T, true>{});
      break;
    case ReduceOp::argmin:
      go(Arg<T, false>{});
      break;
  }
}

}  // namespace

void reduce(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
            double scale) {
  if (outer * inner == 0) return;
  AXON_DISPATCH_ALL(dt, "reduce", dispatch(op, static_cast<const scalar_t*>(x), y, outer, n, inner, scale));
}

}  // namespace axon::kernels::cpu
