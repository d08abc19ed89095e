#pragma once
// The element conversion of a dtype cast (copy kernels, CPU and CUDA alike). C++ leaves a float
// converted to an integer type undefined outside that type's range, and the two devices differ there
// (x86 truncates to the minimum, CUDA saturates). A cast goes through int64 as PyTorch does for uint8
// (-2.0 -> 254, 300.0 -> 44), so CPU and CUDA agree; NaN and values beyond int64 give int64's minimum
// (x86's answer) narrowed to the type.
#include <cstdint>
#include <type_traits>

#include <axon/kernels/scalar.hpp>

namespace axon::kernels {

template <class D, class S>
AXON_HD D cast_value(S s) {
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool> &&
                (std::is_floating_point_v<S> || is_half_v<S>)) {
    const double v = static_cast<double>(static_cast<acc_t<S>>(s));
    constexpr int64_t kMin = -9223372036854775807LL - 1;
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return static_cast<D>(kMin);
    return static_cast<D>(static_cast<int64_t>(v));
  } else {
    return convert<D>(s);
  }
}

}  // namespace axon::kernels
