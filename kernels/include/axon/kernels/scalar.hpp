#pragma once
// Scalar helpers shared by CPU and CUDA kernels: conversions between element types and the type
// arithmetic is done in (f32 for the 16-bit floats, f64 for f64, the integer itself otherwise).
#include <type_traits>

#include <axon/dtype.hpp>

namespace axon::kernels {

template <class T> struct acc { using type = T; };
template <> struct acc<bf16> { using type = float; };
template <> struct acc<f16> { using type = float; };
template <class T> using acc_t = typename acc<T>::type;

template <class T> inline constexpr bool is_half_v = std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <class D, class S>
AXON_HD D convert(S s) {
  if constexpr (std::is_same_v<D, S>) {
    return s;
  } else if constexpr (is_half_v<S>) {
    return convert<D>(static_cast<float>(s));
  } else if constexpr (std::is_same_v<D, bool>) {
    return s != S(0);
  } else if constexpr (is_half_v<D>) {
    return D(static_cast<float>(s));
  } else {
    return static_cast<D>(s);
  }
}

}  // namespace axon::kernels
