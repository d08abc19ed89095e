// CUDA comparisons of a tensor with a scalar (every dtype, bool output).
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda {

void compare_scalar(CompareOp op, DType dt, const void* a, const Indexer& ia, double sc, bool* y, int64_t n,
                    cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "compare", {
    using T = scalar_t;
    using A = acc_t<T>;
    const A sv = ew::scalar_as<A>(sc);
    auto run = [&](auto f) {
      ew::launch("compare", n, ew::WithScalar<T, bool, decltype(f), false>{f, sv}, y, s,
                 static_cast<const T*>(a), ia);
    };
    switch (op) {
      case CompareOp::eq:
        run(ew::Compare<CompareOp::eq>{});
        break;
      case CompareOp::ne:
        run(ew::Compare<CompareOp::ne>{});
        break;
      case CompareOp::lt:
        run(ew::Compare<CompareOp::lt>{});
        break;
      case CompareOp::le:
        run(ew::Compare<CompareOp::le>{});
        break;
      case CompareOp::gt:
        run(ew::Compare<CompareOp::gt>{});
        break;
      case CompareOp::ge:
        run(ew::Compare<CompareOp::ge>{});
        break;
    }
  });
}

}  // namespace axon::kernels::cuda
