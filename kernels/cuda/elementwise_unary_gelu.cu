// CUDA unary: gelu (erf and tanh forms), floor, ceil, round (floating dtypes).
#include "elementwise_groups.cuh"
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda::ew {

namespace {
template <class T>
bool run_t(UnaryOp op, const T* x, const Indexer& ix, T* y, int64_t n, cudaStream_t s) {
  using A = acc_t<T>;
  auto run = [&](auto f) { launch("unary", n, Map1<T, T, decltype(f)>{f}, y, s, x, ix); };
  switch (op) {
    case UnaryOp::gelu:
      run(Unary<UnaryOp::gelu, A>{});
      return true;
    case UnaryOp::gelu_tanh:
      run(Unary<UnaryOp::gelu_tanh, A>{});
      return true;
    case UnaryOp::floor:
      run(Unary<UnaryOp::floor, A>{});
      return true;
    case UnaryOp::ceil:
      run(Unary<UnaryOp::ceil, A>{});
      return true;
    case UnaryOp::round:
      run(Unary<UnaryOp::round, A>{});
      return true;
    default:
      return false;
  }
}
}  // namespace

bool unary_gelu_round(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n,
                      cudaStream_t s) {
  bool done = false;
  AXON_DISPATCH_FLOAT(dt, "unary", {
    done = run_t(op, static_cast<const scalar_t*>(x), ix, static_cast<scalar_t*>(y), n, s);
  });
  return done;
}

}  // namespace axon::kernels::cuda::ew
