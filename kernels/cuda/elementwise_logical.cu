// CUDA logical and / or / xor (every dtype, nonzero is true, bool output).
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda {

void logical(LogicalOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "logical", {
    using T = scalar_t;
    auto run = [&](auto f) {
      ew::launch("logical", n, ew::Map2<T, bool, decltype(f)>{f}, y, s, static_cast<const T*>(a), ia,
                 static_cast<const T*>(b), ib);
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

}  // namespace axon::kernels::cuda
