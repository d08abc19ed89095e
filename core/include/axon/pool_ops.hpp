#pragma once
// Direct max pooling (one kernel forward, one scatter backward, one tape entry) for channels-last
// inputs [N, S1..Sk, C] with k = 1, 2 or 3 spatial axes. The layer axon::layers::max_pool validates
// the options and computes the padding; this op takes them resolved.
#include <axon/tensor.hpp>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace axon {

// window, strides, dilations and pads hold one entry per spatial axis; pads are (lo, hi) >= 0.
// Cells outside the input never win; a window that covers no input cell gives -inf (and no gradient).
// The gradient goes to the first maximum of each window (PyTorch's rule), NaN propagates.
Tensor max_pool_nhwc(const Tensor& x, const std::vector<int64_t>& window, const std::vector<int64_t>& strides,
                     const std::vector<int64_t>& dilations,
                     const std::vector<std::pair<int64_t, int64_t>>& pads);

// Average pooling (sum over the window / the window's full size, padding counted) of a channels-last
// CUDA input on cuDNN, when cuDNN is compiled in, takes the problem and is the faster path for its
// shape: measured on first use against `reference`, the caller's own implementation run on the same
// input (kernels/cudnn_pool_norm.hpp). Otherwise (CPU, no cuDNN, slower) an undefined tensor: the
// caller runs its own implementation. Differentiable to any order.
Tensor avg_pool_nhwc_cudnn(const Tensor& x, const std::vector<int64_t>& window, const std::vector<int64_t>& strides,
                           const std::vector<std::pair<int64_t, int64_t>>& pads,
                           const std::function<void()>& reference);

}  // namespace axon
