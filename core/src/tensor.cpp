// The tensor handle: metadata, copies between devices and dtypes, element access.
#include <cstring>

#include <axon/kernels/copy.hpp>
#include <axon/tensor.hpp>

#include "cuda/capture.hpp"
#include "cuda/deferred.hpp"
#include "cuda/pinned.hpp"
#include "ops/internal.hpp"

#ifdef AXON_HAS_CUDA
#include "cuda/backend.hpp"
#endif

namespace axon {

Tensor::Tensor(const Shape& shape, DType dtype, Device device) {
  // checked_numel bounds the count by 2^59, so the byte count (itemsize <= 8) cannot wrap.
  int64_t n = checked_numel(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<std::size_t>(n) * axon::itemsize(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl_ = std::move(impl);
}

TensorImpl& Tensor::impl() const {
  if (!impl_) [[unlikely]]
    throw Error("tensor: use of an undefined tensor", __FILE__, __LINE__);
  return *impl_;
}

int64_t Tensor::size(int64_t axis) const { return shape()[normalize_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const auto& sh = shape();
  const auto& st = strides();
  int64_t expect = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] != 1 && st[i] != expect) return false;
    expect *= sh[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  auto& im = impl();
  return static_cast<char*>(im.storage->data) + im.offset * static_cast<int64_t>(axon::itemsize(im.dtype));
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{}{} on {}", dtype_name(t.dtype()), to_string(t.shape()), t.device().str());
}

// ---- copies

namespace {
// Copies src (any layout) into the contiguous tensor dst of the same shape on the same device,
// converting the dtype.
void copy_into(const Tensor& src, const Tensor& dst) {
  auto ix = detail::make_indexer(src);
  AXON_ON_DEVICE(src.device(),
                 kernels::cpu::copy_cast(src.dtype(), src.data_ptr(), ix, dst.dtype(), dst.data_ptr(), src.numel()),
                 cuda::backend().copy_cast(src.dtype(), src.data_ptr(), ix, dst.dtype(), dst.data_ptr(), src.numel(),
                                           detail::stream_for(src.device()), nullptr));
}

}  // namespace

Tensor contiguous(const Tensor& x) {
  detail::check_defined("contiguous", x);
  if (x.is_contiguous()) return x;
  Tensor y(x.shape(), x.dtype(), x.device());
  copy_into(x, y);
  autograd::record("contiguous", {x}, {y}, [](const autograd::Grads& g) { return autograd::Grads{g[0]}; });
  return y;
}
Tensor Tensor::contiguous() const { return axon::contiguous(*this); }

Tensor cast(const Tensor& x, DType dtype) {
  detail::check_defined("cast", x);
  if (x.dtype() == dtype) return x;
  Tensor y(x.shape(), dtype, x.device());
  copy_into(x, y);
  if (is_floating(x.dtype()) && is_floating(dtype)) {
    DType from = x.dtype();
    autograd::record("cast", {x}, {y}, [from](const autograd::Grads& g) { return autograd::Grads{cast(g[0], from)}; });
  }
  return y;
}
Tensor Tensor::to(DType dtype) const { return cast(*this, dtype); }

namespace {
// y, x copied to another device, with its gradient: moved back to x's device.
Tensor record_move(const Tensor& x, const Tensor& y) {
  Device from = x.device();
  autograd::record("to", {x}, {y}, [from](const autograd::Grads& g) { return autograd::Grads{to_device(g[0], from)}; });
  return y;
}
}  // namespace

Tensor to_device(const Tensor& x, Device device) {
  detail::check_defined("to", x);
  if (x.device() == device) return x;
  Tensor src = x.is_contiguous() ? x : contiguous(x);
  Tensor y(x.shape(), x.dtype(), device);
#ifdef AXON_HAS_CUDA
  cuda::backend().copy_across(src, y);
#else
  AXON_FAIL("to", "cannot move {} to {}: axon was built without CUDA", describe(x), device.str());
#endif
  return record_move(x, y);
}
Tensor Tensor::to(Device device) const { return to_device(*this, device); }

Tensor Tensor::to(Device device, bool non_blocking) const {
  if (!non_blocking || !is_pinned() || !device.is_cuda() || !is_contiguous()) return to_device(*this, device);
  Tensor y(shape(), dtype(), device);
  cuda::pinned::copy_to_device(*impl().storage, data_ptr(), y.data_ptr(), nbytes(), device);
  return record_move(*this, y);
}

bool Tensor::is_pinned() const { return defined() && impl().storage && impl().storage->pinned; }

Tensor Tensor::pin_memory() const {
  detail::check_defined("pin_memory", *this);
  AXON_CHECK(device().is_cpu(), "pin_memory", "{} is not on the CPU", describe(*this));
  if (is_pinned() && is_contiguous()) return *this;
  auto storage = cuda::pinned::allocate(nbytes());
  if (!storage) return contiguous();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape();
  impl->strides = contiguous_strides(shape());
  impl->dtype = dtype();
  Tensor y(std::move(impl));
  Tensor src = contiguous();
  std::memcpy(y.data_ptr(), src.data_ptr(), nbytes());
  return y;
}

Tensor Tensor::clone() const {
  Tensor y(shape(), dtype(), device());
  copy_into(*this, y);
  autograd::record("clone", {*this}, {y}, [](const autograd::Grads& g) { return autograd::Grads{g[0]}; });
  return y;
}

// ---- element access

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (is_cuda())
    cuda::capture::check_not_capturing("to_vector", "reading a CUDA tensor's values on the host", device().index);
  Tensor host = to_device(*this, Device::cpu());
  Tensor c(shape(), dtype_v<T>, Device::cpu());
  kernels::cpu::copy_cast(dtype(), host.data_ptr(), detail::make_indexer(host), dtype_v<T>, c.data_ptr(), numel());
  const T* p = static_cast<const T*>(c.data_ptr());
  try {
    return std::vector<T>(p, p + numel());  // element-wise: std::vector<bool> has no data()
  } catch (const std::bad_alloc&) {
    AXON_FAIL("to_vector", "out of host memory copying {} into a std::vector", describe(*this));
  }
}

template <class T>
T Tensor::item() const {
  AXON_CHECK(numel() == 1, "item", "item() needs a tensor with exactly one element, got {}", describe(*this));
  if (is_cuda()) cuda::capture::check_not_capturing("item", "reading a CUDA tensor's value on the host", device().index);
  return to_vector<T>()[0];
}

#define AXON_INSTANTIATE_ACCESS(T) \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::item<T>() const;
AXON_INSTANTIATE_ACCESS(float)
AXON_INSTANTIATE_ACCESS(double)
AXON_INSTANTIATE_ACCESS(bf16)
AXON_INSTANTIATE_ACCESS(f16)
AXON_INSTANTIATE_ACCESS(int32_t)
AXON_INSTANTIATE_ACCESS(int64_t)
AXON_INSTANTIATE_ACCESS(uint8_t)
AXON_INSTANTIATE_ACCESS(bool)
#undef AXON_INSTANTIATE_ACCESS

void synchronize(Device device) {
#ifdef AXON_HAS_CUDA
  if (device.is_cuda()) {
    cuda::capture::check_not_capturing("synchronize", "waiting for the device", device.index);
    cuda::deferred::synchronize(device.index, detail::stream_for(device), "synchronize");
  }
#endif
}

}  // namespace axon
