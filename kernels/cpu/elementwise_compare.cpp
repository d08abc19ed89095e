// CPU comparisons and logical ops: any input dtype, bool output.
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/elementwise_math.hpp>

#include "elementwise_loops.hpp"

namespace axon::kernels::cpu {

namespace {
using namespace ew_loops;

}  // namespace

void compare(CompareOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "compare", {
    using T = scalar_t;
    using A = acc_t<T>;
    ew::dispatch_compare(op, [&](auto f) {
      map2<A>(static_cast<const T*>(a), ia, static_cast<const T*>(b), ib, y, n,
              [f](A u, A v) { return f(u, v); });
    });
  });
}

void compare_scalar(CompareOp op, DType dt, const void* a, const Indexer& ia, double s, bool* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "compare", {
    using T = scalar_t;
    using A = acc_t<T>;
    const A sv = ew::scalar_as<A>(s);
    ew::dispatch_compare(
        op, [&](auto f) { map1<A>(static_cast<const T*>(a), ia, y, n, [f, sv](A u) { return f(u, sv); }); });
  });
}

void logical(LogicalOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "logical", {
    using T = scalar_t;
    using A = acc_t<T>;
    auto run = [&](auto f) {
      map2<A>(static_cast<const T*>(a), ia, static_cast<const T*>(b), ib, y, n,
              [f](A u, A v) { return f(u, v); });
    };
    switch (op) {
      case LogicalOp::land:
        run(ew::Logical<LogicalOp::land>{});
        break;
      case LogicalOp::lor:
        run(ew::Logical<LogicalOp::lor>{});
        break;
      case LogicalOp::lxor:
        run(ew::Logical<LogicalOp::lxor>{});
        break;
    }
  });
}

}  // namespace axon::kernels::cpu
