// The C ABI's tensors (axon_c.h): over caller memory, queries and copies.
#include <axon/error.hpp>
#include <axon/shape.hpp>

#include "../../core/src/ops/internal.hpp"  // detail::copy_to_view
#include "c_api_internal.hpp"

namespace axon::c_api {

Tensor& tensor_of(axon_tensor t, const char* op, const char* what) {
  require(t, op, what);
  return t->t;
}

std::vector<Tensor> tensors_of(const char* op, int n, const axon_tensor* ts, const char* what) {
  if (n < 0) throw InvalidArgument(fmt::format("{}: {} {} given", op, n, what));
  if (n > 0) require(ts, op, what);
  std::vector<Tensor> out;
  for (int i = 0; i < n; ++i) {
    if (!ts[i]) throw InvalidArgument(fmt::format("{}: {}[{}] is NULL", op, what, i));
    out.push_back(ts[i]->t);
  }
  return out;
}

axon_tensor new_handle(Tensor t) { return new axon_tensor_t{std::move(t)}; }

void copy_into(const char* op, const Tensor& src, const Tensor& dst) {
  AXON_CHECK(src.shape() == dst.shape(), op, "the result has shape {} but the destination has shape {}",
             to_string(src.shape()), to_string(dst.shape()));
  NoGrad no_grad;
  detail::copy_to_view(src.device() == dst.device() ? src : src.to(dst.device()), dst);
}

namespace {
Shape shape_of(const char* op, int ndim, const int64_t* shape) {
  if (ndim < 0) throw InvalidArgument(fmt::format("{}: ndim {} is negative", op, ndim));
  if (ndim > 0) require(shape, op, "shape");
  return Shape(shape, shape + ndim);
}
}  // namespace

}  // namespace axon::c_api

using namespace axon;
using namespace axon::c_api;

extern "C" {

axon_status axon_tensor_from_data(void* data, int ndim, const int64_t* shape, const int64_t* strides, int dtype,
                                  int device_type, int device_index, axon_deleter deleter, void* deleter_context,
                                  axon_tensor* out) {
  const char* op = "axon_tensor_from_data";
  return guarded([&] {
    require(out, op, "out");
    Shape s = shape_of(op, ndim, shape);
    Strides st = strides ? Strides(strides, strides + ndim) : Strides{};
    std::function<void(void*)> del;
    if (deleter) del = [deleter, deleter_context](void* p) { deleter(p, deleter_context); };
    *out = new_handle(from_blob(data, s, dtype_arg(op, dtype), device_arg(op, device_type, device_index), st, del));
  });
}

axon_status axon_tensor_zeros(int ndim, const int64_t* shape, int dtype, int device_type, int device_index,
                              axon_tensor* out) {
  const char* op = "axon_tensor_zeros";
  return guarded([&] {
    require(out, op, "out");
    *out = new_handle(zeros(shape_of(op, ndim, shape), dtype_arg(op, dtype), device_arg(op, device_type, device_index)));
  });
}

axon_status axon_tensor_destroy(axon_tensor t) {
  return guarded([&] { delete t; });
}

axon_status axon_tensor_ndim(axon_tensor t, int* ndim) {
  return guarded([&] {
    require(ndim, "axon_tensor_ndim", "ndim");
    *ndim = static_cast<int>(tensor_of(t, "axon_tensor_ndim").dim());
  });
}

axon_status axon_tensor_shape(axon_tensor t, int64_t* shape) {
  return guarded([&] {
    const Tensor& x = tensor_of(t, "axon_tensor_shape");
    if (x.dim() > 0) require(shape, "axon_tensor_shape", "shape");
    std::copy(x.shape().begin(), x.shape().end(), shape);
  });
}

axon_status axon_tensor_strides(axon_tensor t, int64_t* strides) {
  return guarded([&] {
    const Tensor& x = tensor_of(t, "axon_tensor_strides");
    if (x.dim() > 0) require(strides, "axon_tensor_strides", "strides");
    std::copy(x.strides().begin(), x.strides().end(), strides);
  });
}

axon_status axon_tensor_numel(axon_tensor t, int64_t* numel) {
  return guarded([&] {
    require(numel, "axon_tensor_numel", "numel");
    *numel = tensor_of(t, "axon_tensor_numel").numel();
  });
}

axon_status axon_tensor_dtype(axon_tensor t, int* dtype) {
  return guarded([&] {
    require(dtype, "axon_tensor_dtype", "dtype");
    *dtype = static_cast<int>(tensor_of(t, "axon_tensor_dtype").dtype());
  });
}

axon_status axon_tensor_device(axon_tensor t, int* device_type, int* device_index) {
  return guarded([&] {
    require(device_type, "axon_tensor_device", "device_type");
    require(device_index, "axon_tensor_device", "device_index");
    Device d = tensor_of(t, "axon_tensor_device").device();
    *device_type = d.is_cuda() ? AXON_CUDA : AXON_CPU;
    *device_index = d.index;
  });
}

axon_status axon_tensor_data(axon_tensor t, void** data) {
  return guarded([&] {
    require(data, "axon_tensor_data", "data");
    *data = tensor_of(t, "axon_tensor_data").data_ptr();
  });
}

axon_status axon_tensor_copy(axon_tensor src, axon_tensor dst) {
  return guarded([&] {
    copy_into("axon_tensor_copy", tensor_of(src, "axon_tensor_copy", "src"), tensor_of(dst, "axon_tensor_copy", "dst"));
  });
}

axon_status axon_tensor_copy_to_buffer(axon_tensor src, void* buffer, size_t nbytes) {
  const char* op = "axon_tensor_copy_to_buffer";
  return guarded([&] {
    const Tensor& x = tensor_of(src, op, "src");
    size_t need = static_cast<size_t>(x.numel()) * itemsize(x.dtype());
    if (need > 0) require(buffer, op, "buffer");
    AXON_CHECK(nbytes == need, op, "the buffer holds {} bytes but a tensor of shape {} and dtype {} needs {}", nbytes,
               to_string(x.shape()), dtype_name(x.dtype()), need);
    copy_into(op, x, from_blob(buffer, x.shape(), x.dtype(), Device::cpu()));
    synchronize(x.device());
  });
}

}  // extern "C"
