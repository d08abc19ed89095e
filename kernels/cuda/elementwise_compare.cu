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
    ew::dispatch_compare(op, run);
  });
}

}  // namespace axon::kernels::cuda
