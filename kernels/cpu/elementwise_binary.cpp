// CPU binary arithmetic: tensor op tensor and tensor op scalar.
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/elementwise_math.hpp>

#include "elementwise_loops.hpp"

namespace axon::kernels::cpu {

namespace {
using namespace ew_loops;

template <class T, class Fn>
void dispatch_op(BinaryOp op, Fn&& fn) {
  using A = acc_t<T>;
  switch (op) {
    case BinaryOp::add:
      return fn(ew::Binary<BinaryOp::add, A>{});
    case BinaryOp::mul:
      return fn(ew::Binary<BinaryOp::mul, A>{});
    case BinaryOp::maximum:
      return fn(ew::Binary<BinaryOp::maximum, A>{});
    case BinaryOp::minimum:
      return fn(ew::Binary<BinaryOp::minimum, A>{});
    default:
      break;
  }
  if constexpr (!std::is_same_v<A, bool>) {
    if (op == BinaryOp::sub) return fn(ew::Binary<BinaryOp::sub, A>{});
    if constexpr (std::is_floating_point_v<A>) {
      if (op == BinaryOp::div) return fn(ew::Binary<BinaryOp::div, A>{});
      if (op == BinaryOp::pow) return fn(ew::Binary<BinaryOp::pow, A>{});
    }
  }
  detail::unsupported_dtype("binary", dtype_v<T>);
}
}  // namespace

void binary(BinaryOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
            void* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "binary", {
    using T = scalar_t;
    dispatch_op<T>(op, [&](auto f) {
      map2<acc_t<T>>(static_cast<const T*>(a), ia, static_cast<const T*>(b), ib, static_cast<T*>(y), n, f);
    });
  });
}

void binary_scalar(BinaryOp op, DType dt, const void* a, const Indexer& ia, double s, bool scalar_first,
                   void* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "binary", {
    using T = scalar_t;
    using A = acc_t<T>;
    const A sv = ew::scalar_as<A>(s);
    dispatch_op<T>(op, [&](auto f) {
      if (scalar_first)
        map1<A>(static_cast<const T*>(a), ia, static_cast<T*>(y), n, [f, sv](A x) { return f(sv, x); });
      else
        map1<A>(static_cast<const T*>(a), ia, static_cast<T*>(y), n, [f, sv](A x) { return f(x, sv); });
    });
  });
}

}  // namespace axon::kernels::cpu
