#pragma once
// The [outer, n, inner] view of a tensor along one axis, used by the fused single-axis ops
// (softmax, cumsum, sort). Not installed.
#include "internal.hpp"

namespace axon::detail {

struct AxisLayout {
  Tensor src;  // contiguous: x itself when it already was, else a copy (not recorded)
  int64_t outer = 1, n = 1, inner = 1;
};

inline AxisLayout axis_layout(const Tensor& x, int64_t axis) {
  AxisLayout l;
  {
    NoGrad ng;  // the calling op records one entry for itself
    l.src = x.is_contiguous() ? x : contiguous(x);
  }
  const Shape& s = x.shape();
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d < axis)
      l.outer *= s[d];
    else if (d == axis)
      l.n = s[d];
    else
      l.inner *= s[d];
  }
  return l;
}

}  // namespace axon::detail
