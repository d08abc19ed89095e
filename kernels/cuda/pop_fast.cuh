#pragma once
// Index unravelling with the 32-bit divisions of div_fast (kernels/common.hpp).
#include <axon/kernels/common.hpp>

namespace axon::kernels {
// i % d through div_fast, leaving i / d in i (0 <= i, 0 < d).
__device__ __forceinline__ int64_t pop_fast(int64_t& i, int64_t d) {
  const int64_t q = div_fast(i, d), r = i - q * d;
  i = q;
  return r;
}
}  // namespace axon::kernels
