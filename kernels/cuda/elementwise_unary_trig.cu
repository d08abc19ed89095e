// CUDA unary: sin, cos, tanh, sigmoid, erf, erfinv (floating dtypes).
#include "elementwise_groups.cuh"
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda::ew {

namespace {
template <class T>
bool run_t(UnaryOp op, const T* x, const Indexer& ix, T* y, int64_t n, cudaStream_t s) {
  using A = acc_t<T>;
  auto run = [&](auto f) { launch("unary", n, Map1<T, T, decltype(f)>{f}, y, s, x, ix); };
  switch (op) {
    case UnaryOp::sin:
      run(Unary<UnaryOp::sin, A>{});
      return true;
    case UnaryOp::cos:
      run(Unary<UnaryOp::cos, A>{});
      return true;
    case UnaryOp::tanh:
      run(Unary<UnaryOp::tanh, A>{});
      return true;
    case UnaryOp::sigmoid:
      run(Unary<UnaryOp::sigmoid, A>{});
      return true;
    case UnaryOp::erf:
      run(Unary<UnaryOp::erf, A>{});
      return true;
    case UnaryOp::erfinv:
      run(Unary<UnaryOp::erfinv, A>{});
      return true;
    default:
      return false;
  }
}
}  // namespace

bool unary_trig(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s) {
  bool done = false;
  AXON_DISPATCH_FLOAT(dt, "unary", {
    done = run_t(op, static_cast<const scalar_t*>(x), ix, static_cast<scalar_t*>(y), n, s);
  });
  return done;
}

}  // namespace axon::kernels::cuda::ew
