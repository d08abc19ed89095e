// Tensor methods that spell ops the PyTorch way (x.sum(), x.matmul(w)); each forwards to its op.
#include <axon/ops.hpp>

namespace axon {

Tensor Tensor::sum(const std::vector<int64_t>& axes, bool keepdims) const { return axon::sum(*this, axes, keepdims); }
Tensor Tensor::mean(const std::vector<int64_t>& axes, bool keepdims) const { return axon::mean(*this, axes, keepdims); }
Tensor Tensor::max(const std::vector<int64_t>& axes, bool keepdims) const { return axon::max(*this, axes, keepdims); }
Tensor Tensor::min(const std::vector<int64_t>& axes, bool keepdims) const { return axon::min(*this, axes, keepdims); }
Tensor Tensor::argmax(int64_t axis, bool keepdims) const { return axon::argmax(*this, axis, keepdims); }
Tensor Tensor::argmin(int64_t axis, bool keepdims) const { return axon::argmin(*this, axis, keepdims); }
Tensor Tensor::abs() const { return axon::abs(*this); }
Tensor Tensor::neg() const { return axon::neg(*this); }
Tensor Tensor::exp() const { return axon::exp(*this); }
Tensor Tensor::log() const { return axon::log(*this); }
Tensor Tensor::sqrt() const { return axon::sqrt(*this); }
Tensor Tensor::square() const { return axon::square(*this); }
Tensor Tensor::relu() const { return axon::relu(*this); }
Tensor Tensor::sigmoid() const { return axon::sigmoid(*this); }
Tensor Tensor::tanh() const { return axon::tanh(*this); }
Tensor Tensor::pow(Scalar exponent) const { return axon::pow(*this, exponent); }
Tensor Tensor::clamp(std::optional<Scalar> lo, std::optional<Scalar> hi) const { return axon::clamp(*this, lo, hi); }
Tensor Tensor::matmul(const Tensor& other) const { return axon::matmul(*this, other); }
Tensor Tensor::softmax(int64_t axis) const { return axon::softmax(*this, axis); }
Tensor Tensor::log_softmax(int64_t axis) const { return axon::log_softmax(*this, axis); }

}  // namespace axon
