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
    ew::dispatch_compare(op, run);
  });
}

}  // namespace axon::kernels::cuda
