// Tensor factories.
#include <cmath>
#include <cstring>

#include <axon/kernels/copy.hpp>
#include <axon/tensor.hpp>

#include "ops/internal.hpp"

namespace axon {

Tensor empty(const Shape& shape, DType dtype, Device device) { return Tensor(shape, dtype, device); }

Tensor full(const Shape& shape, Scalar value, DType dtype, Device device) {
  Tensor t(shape, dtype, device);
  AXON_ON_DEVICE(device, kernels::cpu::fill(dtype, t.data_ptr(), t.numel(), value.value),
                 kernels::cuda::fill(dtype, t.data_ptr(), t.numel(), value.value, detail::stream_for(device)));
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1, dtype, device); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, Scalar v) { return full(t.shape(), v, t.dtype(), t.device()); }
Tensor scalar_tensor(Scalar value, DType dtype, Device device) { return full({}, value, dtype, device); }

namespace {
// Builds values on the host in f64 and converts once; then moves to the device.
Tensor from_doubles(const std::vector<double>& v, const Shape& shape, DType dtype, Device device) {
  Tensor host(shape, dtype, Device::cpu());
  kernels::Indexer ix;  // contiguous 1-D
  ix.ndim = 1;
  ix.sizes[0] = static_cast<int64_t>(v.size());
  ix.strides[0] = 1;
  kernels::cpu::copy_cast(DType::f64, v.data(), ix, dtype, host.data_ptr(), static_cast<int64_t>(v.size()));
  return device.is_cpu() ? host : host.to(device);
}
}  // namespace

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  AXON_CHECK(step != 0, "arange", "step must be nonzero");
  AXON_CHECK(std::isfinite(start) && std::isfinite(end), "arange", "bounds must be finite, got {} and {}", start, end);
  double span = (end - start) / step;
  int64_t n = span > 0 ? static_cast<int64_t>(std::ceil(span)) : 0;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  return from_doubles(v, {n}, dtype, device);
}
Tensor arange(double end, DType dtype, Device device) { return arange(0, end, 1, dtype, device); }

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  AXON_CHECK(steps >= 0, "linspace", "steps must be non-negative, got {}", steps);
  std::vector<double> v(static_cast<size_t>(steps));
  double h = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  // Fill from both ends, as NumPy does, so the last value is exactly `end`.
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < steps / 2 ? start + h * static_cast<double>(i) : end - h * static_cast<double>(steps - 1 - i);
  return from_doubles(v, {steps}, dtype, device);
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  AXON_CHECK(n >= 0, "eye", "size must be non-negative, got {}", n);
  std::vector<double> v(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < std::min(n, m); ++i) v[i * m + i] = 1.0;
  return from_doubles(v, {n, m}, dtype, device);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  AXON_CHECK(numel(shape) == static_cast<int64_t>(values.size()), "from_vector",
             "{} values do not fill shape {} ({} elements)", values.size(), to_string(shape), numel(shape));
  Tensor host(shape, dtype_v<T>, Device::cpu());
  auto* p = static_cast<T*>(host.data_ptr());
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return device.is_cpu() ? host : host.to(device);
}
template Tensor from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector(const std::vector<bf16>&, const Shape&, Device);
template Tensor from_vector(const std::vector<f16>&, const Shape&, Device);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<uint8_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<bool>&, const Shape&, Device);

Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device, const Strides& strides,
                 std::function<void(void*)> deleter) {
  AXON_CHECK(data != nullptr || numel(shape) == 0, "from_blob", "null data pointer for shape {}", to_string(shape));
  AXON_CHECK(strides.empty() || strides.size() == shape.size(), "from_blob",
             "{} strides given for shape {}", strides.size(), to_string(shape));
  if (device.is_cuda()) cuda::context(device.index);  // a clear error when there is no such device
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->strides = strides.empty() ? contiguous_strides(shape) : strides;
  impl->dtype = dtype;
  int64_t span = 1;
  for (size_t i = 0; i < shape.size(); ++i) span += (shape[i] - 1) * std::abs(impl->strides[i]);
  impl->storage = Storage::wrap(data, static_cast<std::size_t>(span) * itemsize(dtype), device, std::move(deleter));
  return Tensor(std::move(impl));
}

}  // namespace axon
