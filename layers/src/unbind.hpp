#pragma once
// Internal to the recurrent and attention layers: splits recorded as ONE tape entry. ops' split and
// select record one slice per part, and each slice's backward writes its gradient into zeros of the
// whole input, which costs O(parts^2) over a sequence; here the backward is a single concat.
#include <vector>

#include <axon/tensor.hpp>

namespace axon::layers::detail {

// The slices x[..., i, ...] along axis (the axis removed), as views.
std::vector<Tensor> unbind(const Tensor& x, int64_t axis);
// n equal parts along axis (its size must divide by n), as views.
std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t axis);

}  // namespace axon::layers::detail
