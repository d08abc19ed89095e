// CUDA unary: exp, expm1, log, log1p, sqrt, rsqrt, reciprocal, pow (floating dtypes).
#include "elementwise_groups.cuh"
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda::ew {

namespace {
template <class T>
bool run_t(UnaryOp op, const T* x, const Indexer& ix, T* y, int64_t n, cudaStream_t s, const UnaryParams& p) {
  using A = acc_t<T>;
  auto run = [&](auto f) { launch("unary", n, Map1<T, T, decltype(f)>{f}, y, s, x, ix); };
  switch (op) {
    case UnaryOp::exp:
      run(Unary<UnaryOp::exp, A>{});
      return true;
    case UnaryOp::expm1:
      run(Unary<UnaryOp::expm1, A>{});
      return true;
    case UnaryOp::log:
      run(Unary<UnaryOp::log, A>{});
      return true;
    case UnaryOp::log1p:
      run(Unary<UnaryOp::log1p, A>{});
      return true;
    case UnaryOp::sqrt:
      run(Unary<UnaryOp::sqrt, A>{});
      return true;
    case UnaryOp::rsqrt:
      run(Unary<UnaryOp::rsqrt, A>{});
      return true;
    case UnaryOp::reciprocal:
      run(Unary<UnaryOp::reciprocal, A>{});
      return true;
    case UnaryOp::pow:
      run(Unary<UnaryOp::pow, A>{static_cast<A>(p.p0)});
      return true;
    default:
      return false;
  }
}
}  // namespace

bool unary_exp_log(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s,
                   const UnaryParams& p) {
  bool done = false;
  AXON_DISPATCH_FLOAT(dt, "unary", {
    done = run_t(op, static_cast<const scalar_t*>(x), ix, static_cast<scalar_t*>(y), n, s, p);
  });
  return done;
}

}  // namespace axon::kernels::cuda::ew
