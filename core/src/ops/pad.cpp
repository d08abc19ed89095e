// Constant padding. A negative pad crops that side, so the gradient of pad(x, p) is
// pad(g, -p): it crops what was padded and zero-fills what was cropped.
#include <algorithm>

#include <axon/kernels/copy.hpp>

#include "internal.hpp"

namespace axon {

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value) {
  detail::check_defined("pad", x);
  const int64_t rank = x.dim();
  AXON_CHECK(static_cast<int64_t>(pads.size()) <= rank, "pad", "{} (before, after) pairs given for {}", pads.size(),
             describe(x));
  Shape out_shape = x.shape();
  // The copied block: its shape, where it starts in x and where it lands in the output.
  Shape block = x.shape();
  std::vector<int64_t> src_start(rank, 0), dst_start(rank, 0);
  for (size_t d = 0; d < pads.size(); ++d) {
    const auto [before, after] = pads[d];
    const int64_t n = x.shape()[d];
    auto in_range = [](int64_t v) { return v >= -kMaxElements && v <= kMaxElements; };
    AXON_CHECK(in_range(before) && in_range(after), "pad",
               "padding ({}, {}) of axis {} of {} is out of range", before, after, d, describe(x));
    AXON_CHECK(!__builtin_add_overflow(n, before, &out_shape[d]) &&
                   !__builtin_add_overflow(out_shape[d], after, &out_shape[d]) && out_shape[d] <= kMaxElements,
               "pad", "padding ({}, {}) of axis {} of {} gives a size beyond 2^59", before, after, d, describe(x));
    AXON_CHECK(out_shape[d] >= 0, "pad", "padding ({}, {}) leaves axis {} of {} with a negative size {}", before,
               after, d, describe(x), out_shape[d]);
    src_start[d] = std::max<int64_t>(0, -before);
    dst_start[d] = std::max<int64_t>(0, before);
    block[d] = std::max<int64_t>(0, std::min(n - src_start[d], out_shape[d] - dst_start[d]));
  }

  checked_numel(out_shape, "pad");
  Tensor out = full(out_shape, value, x.dtype(), x.device());
  if (numel(block) > 0) {
    auto view = [&](const Tensor& t, const std::vector<int64_t>& start) {
      int64_t offset = t.offset();
      for (int64_t d = 0; d < rank; ++d) offset += start[d] * t.strides()[d];
      return detail::make_view(t, block, t.strides(), offset);
    };
    detail::copy_to_view(view(x, src_start), view(out, dst_start));
  }
  if (autograd::recording()) {
    std::vector<std::pair<int64_t, int64_t>> inverse;
    for (const auto& [before, after] : pads) inverse.emplace_back(-before, -after);
    autograd::record("pad", {x}, {out}, [inverse](const autograd::Grads& g) {
      return autograd::Grads{pad(g[0], inverse)};
    });
  }
  return out;
}

}  // namespace axon
