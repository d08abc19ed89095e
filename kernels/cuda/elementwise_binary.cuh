#pragma once
// Instantiates one binary op for the dtypes it supports (shared by the binary group files).
#include "elementwise_groups.cuh"
#include "elementwise_launch.cuh"

namespace axon::kernels::cuda::ew {

template <BinaryOp Op, class T>
void run_binary(const BinaryArgs& a) {
  using A = acc_t<T>;
  using F = Binary<Op, A>;
  auto* y = static_cast<T*>(a.y);
  auto* x = static_cast<const T*>(a.a);
  if (a.b) {
    launch("binary", a.n, Map2<T, T, F>{F{}}, y, a.s, x, *a.ia, static_cast<const T*>(a.b), *a.ib);
  } else if (!a.scalar_first) {
    launch("binary", a.n, WithScalar<T, T, F, false>{F{}, scalar_as<A>(a.sc)}, y, a.s, x, *a.ia);
  } else if constexpr (Op == BinaryOp::sub || Op == BinaryOp::div) {  // rsub, rdiv
    launch("binary", a.n, WithScalar<T, T, F, true>{F{}, scalar_as<A>(a.sc)}, y, a.s, x, *a.ia);
  } else {
    detail::unsupported_dtype("binary (scalar first)", a.dt);
  }
}

// Ints: i32, i64, u8; Bool: bool as well.
template <BinaryOp Op, bool Ints, bool Bool>
void dispatch_binary(const BinaryArgs& a) {
  switch (a.dt) {
    case DType::f32:
      return run_binary<Op, float>(a);
    case DType::f64:
      return run_binary<Op, double>(a);
    case DType::bf16:
      return run_binary<Op, ::axon::bf16>(a);
    case DType::f16:
      return run_binary<Op, ::axon::f16>(a);
    default:
      break;
  }
  if constexpr (Ints) {
    switch (a.dt) {
      case DType::i32:
        return run_binary<Op, int32_t>(a);
      case DType::i64:
        return run_binary<Op, int64_t>(a);
      case DType::u8:
        return run_binary<Op, uint8_t>(a);
      default:
        break;
    }
  }
  if constexpr (Bool) {
    if (a.dt == DType::boolean) return run_binary<Op, bool>(a);
  }
  detail::unsupported_dtype("binary", a.dt);
}

}  // namespace axon::kernels::cuda::ew
