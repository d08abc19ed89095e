// Tensor factories.
#include <cmath>
#include <cstring>

#include <axon/kernels/copy.hpp>
#include <axon/tensor.hpp>

#include "ops/internal.hpp"

namespace axon {

Tensor empty(const Shape& shape, DType dtype, Device device) { return Tensor(shape, dtype, device); }

namespace {
Tensor filled(const char* op, const Shape& shape, Scalar value, DType dtype, Device device) {
  checked_numel(shape, op);  // so that a bad shape's error names the factory the caller used
  Tensor t(shape, dtype, device);
  AXON_ON_DEVICE(device, kernels::cpu::fill(dtype, t.data_ptr(), t.numel(), value.value),
                 cuda::backend().fill(dtype, t.data_ptr(), t.numel(), value.value, detail::stream_for(device)));
  return t;
}
}  // namespace

Tensor full(const Shape& shape, Scalar value, DType dtype, Device device) {
  return filled("full", shape, value, dtype, device);
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return filled("zeros", shape, 0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return filled("ones", shape, 1, dtype, device); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, Scalar v) { return full(t.shape(), v, t.dtype(), t.device()); }
Tensor scalar_tensor(Scalar value, DType dtype, Device device) { return full({}, value, dtype, device); }

namespace {
// Values are computed on the host in f64 (in a tensor from our allocator, so a size beyond memory is
// an axon::Error, never std::bad_alloc), converted once, then moved to the device.
template <class F>
Tensor from_f64_fill(const char* op, const Shape& shape, DType dtype, Device device, F&& value_at) {
  int64_t n = checked_numel(shape, op);
  Tensor values(shape, DType::f64, Device::cpu());
  auto* v = static_cast<double*>(values.data_ptr());
  for (int64_t i = 0; i < n; ++i) v[i] = value_at(i);
  Tensor host = dtype == DType::f64 ? values : values.to(dtype);
  return device.is_cpu() ? host : host.to(device);
}
}  // namespace

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  AXON_CHECK(step != 0 && std::isfinite(step), "arange", "step must be finite and nonzero, got {}", step);
  AXON_CHECK(std::isfinite(start) && std::isfinite(end), "arange", "bounds must be finite, got {} and {}", start, end);
  double span = std::ceil((end - start) / step);
  // Compared as doubles first: converting a span beyond int64 to an integer is undefined.
  AXON_CHECK(!(span > static_cast<double>(kMaxElements)), "arange",
             "arange({}, {}, {}) would have {} elements: too large", start, end, step, span);
  int64_t n = span > 0 ? static_cast<int64_t>(span) : 0;
  return from_f64_fill("arange", {n}, dtype, device, [&](int64_t i) { return start + static_cast<double>(i) * step; });
}
Tensor arange(double end, DType dtype, Device device) { return arange(0, end, 1, dtype, device); }

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  AXON_CHECK(steps >= 0, "linspace", "steps must be non-negative, got {}", steps);
  double h = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  // Fill from both ends, as NumPy does, so the last value is exactly `end`.
  return from_f64_fill("linspace", {steps}, dtype, device, [&](int64_t i) {
    return i < steps / 2 ? start + h * static_cast<double>(i) : end - h * static_cast<double>(steps - 1 - i);
  });
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  AXON_CHECK(n >= 0, "eye", "size must be non-negative, got {}", n);
  checked_numel({n, m}, "eye");
  // Zeros, then the diagonal as a strided view (stride m + 1) filled with ones: no n*m host loop.
  Tensor out = zeros({n, m}, dtype, device);
  int64_t k = std::min(n, m);
  if (k == 0) return out;
  detail::copy_to_view(ones({k}, dtype, device), detail::make_view(out, {k}, {m + 1}, 0));
  return out;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  int64_t n = checked_numel(shape, "from_vector");
  AXON_CHECK(n == static_cast<int64_t>(values.size()), "from_vector", "{} values do not fill shape {} ({} elements)",
             values.size(), to_string(shape), n);
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
  int64_t n = checked_numel(shape, "from_blob");
  AXON_CHECK(data != nullptr || n == 0, "from_blob", "null data pointer for shape {}", to_string(shape));
  AXON_CHECK(strides.empty() || strides.size() == shape.size(), "from_blob",
             "{} strides given for shape {}", strides.size(), to_string(shape));
  if (device.is_cuda()) cuda::context(device.index);  // a clear error when there is no such device
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->strides = strides.empty() ? contiguous_strides(shape) : strides;
  impl->dtype = dtype;
  // The elements reach offsets up to sum((size - 1) * stride); every term is checked so that a
  // crafted shape or stride cannot wrap the extent around to a small, valid-looking one.
  int64_t span = n == 0 ? 0 : 1;
  for (size_t i = 0; i < shape.size() && n > 0; ++i) {
    AXON_CHECK(impl->strides[i] >= 0, "from_blob", "negative stride {} in strides {} is not supported",
               impl->strides[i], to_string(impl->strides));
    int64_t reach = checked_mul(shape[i] - 1, impl->strides[i], "from_blob", "the memory spanned by shape and strides");
    AXON_CHECK(!__builtin_add_overflow(span, reach, &span) && span <= kMaxElements, "from_blob",
               "shape {} with strides {} spans more than 2^59 elements", to_string(shape), to_string(impl->strides));
  }
  impl->storage = Storage::wrap(data, static_cast<std::size_t>(span) * itemsize(dtype), device, std::move(deleter));
  return Tensor(std::move(impl));
}

}  // namespace axon
