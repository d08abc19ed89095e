// CUDA unary entry point, and the ops every numeric dtype has: neg, abs, sign, square, relu, clamp.
#include <limits>

#include "elementwise_groups.cuh"
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda {

namespace {
using namespace ew;

template <class A>
A bound(bool has, double v, bool is_lo) {
  if (!has) return is_lo ? ew::lowest<A>() : ew::highest<A>();
  if constexpr (std::is_integral_v<A>) {
    if (v <= static_cast<double>(std::numeric_limits<A>::lowest())) return std::numeric_limits<A>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<A>::max())) return std::numeric_limits<A>::max();
  }
  return static_cast<A>(v);
}

template <class T>
bool basic(UnaryOp op, const T* x, const Indexer& ix, T* y, int64_t n, cudaStream_t s, const UnaryParams& p) {
  using A = acc_t<T>;
  auto run = [&](auto f) { launch("unary", n, Map1<T, T, decltype(f)>{f}, y, s, x, ix); };
  switch (op) {
    case UnaryOp::neg:
      run(Unary<UnaryOp::neg, A>{});
      return true;
    case UnaryOp::abs:
      run(Unary<UnaryOp::abs, A>{});
      return true;
    case UnaryOp::sign:
      run(Unary<UnaryOp::sign, A>{});
      return true;
    case UnaryOp::square:
      run(Unary<UnaryOp::square, A>{});
      return true;
    case UnaryOp::relu:
      run(Unary<UnaryOp::relu, A>{});
      return true;
    case UnaryOp::clamp:
      run(Unary<UnaryOp::clamp, A>{bound<A>(p.has_lo, p.p0, true), bound<A>(p.has_hi, p.p1, false)});
      return true;
    default:
      return false;
  }
}
}  // namespace

void unary(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s,
           const UnaryParams& p) {
  if (n == 0) return;
  bool done = false;
  switch (dt) {
#define AXON_BASIC(DT, T)                                                        \
  case DType::DT:                                                                \
    done = basic(op, static_cast<const T*>(x), ix, static_cast<T*>(y), n, s, p); \
    break;
    AXON_BASIC(f32, float)
    AXON_BASIC(f64, double)
    AXON_BASIC(bf16, ::axon::bf16)
    AXON_BASIC(f16, ::axon::f16)
    AXON_BASIC(i32, int32_t)
    AXON_BASIC(i64, int64_t)
    AXON_BASIC(u8, uint8_t)
#undef AXON_BASIC
    default:
      break;
  }
  if (done) return;
  if (is_floating(dt) &&
      (ew::unary_exp_log(op, dt, x, ix, y, n, s, p) || ew::unary_trig(op, dt, x, ix, y, n, s) ||
       ew::unary_gelu_round(op, dt, x, ix, y, n, s)))
    return;
  detail::unsupported_dtype("unary", dt);
}

}  // namespace axon::kernels::cuda
