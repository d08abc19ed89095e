#pragma once
// The tensor handle: cheap to copy (shared ownership) and pointing at
// {storage, shape, strides, offset, dtype, device}. Views share storage.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <axon/device.hpp>
#include <axon/dtype.hpp>
#include <axon/error.hpp>
#include <axon/shape.hpp>
#include <axon/storage.hpp>

namespace axon {

// A number passed where a tensor could be (x + 1, clamp(x, 0, 6)). An integral scalar keeps an
// integer tensor integral; a fractional one promotes it to the default float type (f32).
struct Scalar {
  double value = 0;
  bool integral = false;
  Scalar() = default;
  Scalar(double v) : value(v), integral(false) {}
  Scalar(float v) : value(v), integral(false) {}
  Scalar(int v) : value(v), integral(true) {}
  Scalar(long v) : value(static_cast<double>(v)), integral(true) {}
  Scalar(long long v) : value(static_cast<double>(v)), integral(true) {}
  Scalar(bool v) : value(v ? 1.0 : 0.0), integral(true) {}
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // An uninitialised contiguous tensor (see also empty()).
  Tensor(const Shape& shape, DType dtype, Device device);

  bool defined() const { return static_cast<bool>(impl_); }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t axis) const;
  int64_t numel() const { return axon::numel(impl().shape); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  std::size_t itemsize() const { return axon::itemsize(dtype()); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * itemsize(); }
  bool is_contiguous() const;
  bool is_cuda() const { return device().is_cuda(); }
  bool is_floating_point() const { return is_floating(dtype()); }

  // Address of element 0 (storage + offset). data<T>() checks T against the dtype.
  void* data_ptr() const;
  template <class T> T* data() const {
    AXON_CHECK(dtype_v<T> == dtype(), "data", "requested {} but the tensor is {}",
               dtype_name(dtype_v<T>), dtype_name(dtype()));
    return static_cast<T*>(data_ptr());
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  TensorImpl& impl() const;

  // Views (differentiable; they record on the autograd tape like every op).
  Tensor reshape(const Shape& shape) const;  // a view when the strides allow, else a copy
  Tensor view(const Shape& shape) const;     // a view or an error
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const;  // transpose of the last two axes
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  Tensor select(int64_t axis, int64_t index) const;  // drops the axis
  Tensor expand(const Shape& shape) const;
  Tensor broadcast_to(const Shape& shape) const { return expand(shape); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t axis) const;
  Tensor unsqueeze(int64_t axis) const;

  Tensor contiguous() const;
  Tensor to(Device device) const;
  // non_blocking: from pinned host memory (pin_memory()) to a CUDA device the copy is queued on the
  // device's stream and to() returns without waiting (the pinned block is not reused before the copy
  // has read it); in every other case the same as to(device).
  Tensor to(Device device, bool non_blocking) const;
  // A contiguous copy in page-locked host memory, from which copies to a GPU run asynchronously. Without
  // a CUDA device (or in a CPU-only build) an ordinary contiguous CPU tensor: is_pinned() tells.
  Tensor pin_memory() const;
  bool is_pinned() const;
  Tensor to(DType dtype) const;
  Tensor clone() const;

  // Method spellings of common ops, as PyTorch users write them (the free functions in ops.hpp).
  Tensor sum(const std::vector<int64_t>& axes = {}, bool keepdims = false) const;
  Tensor mean(const std::vector<int64_t>& axes = {}, bool keepdims = false) const;
  Tensor max(const std::vector<int64_t>& axes = {}, bool keepdims = false) const;
  Tensor min(const std::vector<int64_t>& axes = {}, bool keepdims = false) const;
  Tensor argmax(int64_t axis, bool keepdims = false) const;
  Tensor argmin(int64_t axis, bool keepdims = false) const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor square() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor pow(Scalar exponent) const;
  Tensor clamp(std::optional<Scalar> lo, std::optional<Scalar> hi) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(int64_t axis = -1) const;
  Tensor log_softmax(int64_t axis = -1) const;

  template <class T> T item() const;
  template <class T> std::vector<T> to_vector() const;
  std::string str() const;  // PyTorch-like printing: values, shape, dtype, device

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string describe(const Tensor& t);  // "f32[2, 3] on cuda:0": for error messages

// ---- creation
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, Scalar value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);
Tensor empty_like(const Tensor& t);
Tensor scalar_tensor(Scalar value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor arange(double start, double end, double step = 1, DType dtype = DType::f32, Device device = Device::cpu());
Tensor arange(double end, DType dtype = DType::f32, Device device = Device::cpu());
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32, Device device = Device::cpu());
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::f32, Device device = Device::cpu());
template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());
template <class T> Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}
inline Tensor tensor(std::initializer_list<float> v, const Shape& shape = {}, Device device = Device::cpu()) {
  return from_vector(std::vector<float>(v), shape.empty() ? Shape{static_cast<int64_t>(v.size())} : shape, device);
}
// Wraps memory the caller owns (CPU or CUDA). Strides default to contiguous; the deleter, if any,
// runs when the last tensor sharing the memory goes away.
Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device,
                 const Strides& strides = {}, std::function<void(void*)> deleter = {});

// ---- random numbers (counter-based Philox 4x32-10: the same seed gives the same numbers on CPU
// and CUDA). Without an explicit seed, draws from the global generator (see manual_seed).
void manual_seed(uint64_t seed);
struct Generator;  // random.hpp
Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor randn(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64, Device device = Device::cpu());
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::f32, Device device = Device::cpu());

// Waits for all queued work on the device (a no-op on CPU).
void synchronize(Device device = Device::cpu());

}  // namespace axon
