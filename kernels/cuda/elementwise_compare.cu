// CUDA comparisons of two tensors (every dtype, bool output).
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda {

void compare(CompareOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "compare", {
    using T = scalar_t;
    auto run = [&](auto f) {
      ew::launch("compare", n, ew::Map2<T, bool, decltype(f)>{f}, y, s, static_cast<const T*>(a), ia,
                 static_cast<const T*>(b), ib);
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
