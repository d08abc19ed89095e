// DLPack import and export (axon/dlpack.hpp) and their C ABI (axon_c.h).
#include <memory>
#include <vector>

#include <axon/dlpack.hpp>
#include <axon/error.hpp>
#include <axon/shape.hpp>

#include "c_api_internal.hpp"

#ifdef AXON_HAS_DLPACK
#include <dlpack/dlpack.h>

namespace axon {

namespace {
// DLPack 0.8 added kDLBool; 0.6 (Debian 12's) lacks it.
constexpr uint8_t kBoolCode = 6;

DLDataType to_dl(DType t) {
  switch (t) {
    case DType::f32: return {kDLFloat, 32, 1};
    case DType::f64: return {kDLFloat, 64, 1};
    case DType::f16: return {kDLFloat, 16, 1};
    case DType::bf16: return {kDLBfloat, 16, 1};
    case DType::i32: return {kDLInt, 32, 1};
    case DType::i64: return {kDLInt, 64, 1};
    case DType::u8: return {kDLUInt, 8, 1};
    case DType::boolean: return {kBoolCode, 8, 1};
  }
  AXON_FAIL("to_dlpack", "unknown dtype");
}

DType from_dl(DLDataType d) {
  AXON_CHECK(d.lanes == 1, "from_dlpack", "vector dtypes (lanes {}) are not supported", d.lanes);
  auto is = [&](int code, int bits) { return d.code == code && d.bits == bits; };
  if (is(kDLFloat, 32)) return DType::f32;
  if (is(kDLFloat, 64)) return DType::f64;
  if (is(kDLFloat, 16)) return DType::f16;
  if (is(kDLBfloat, 16)) return DType::bf16;
  if (is(kDLInt, 32)) return DType::i32;
  if (is(kDLInt, 64)) return DType::i64;
  if (is(kDLUInt, 8)) return DType::u8;
  if (is(kBoolCode, 8)) return DType::boolean;
  AXON_FAIL("from_dlpack", "dtype code {} with {} bits has no axon dtype (f32 f64 bf16 f16 i32 i64 u8 bool)",
            static_cast<int>(d.code), static_cast<int>(d.bits));
}

// What an exported DLManagedTensor owns: the tensor (its memory) and the shape and strides arrays.
struct Exported {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed{};
};
}  // namespace

Tensor from_dlpack(DLManagedTensor* managed) {
  AXON_CHECK(managed, "from_dlpack", "null DLManagedTensor");
  std::function<void(void*)> release = [managed](void*) {
    if (managed->deleter) managed->deleter(managed);
  };
  try {
    const DLTensor& t = managed->dl_tensor;
    AXON_CHECK(t.ndim >= 0 && (t.ndim == 0 || t.shape), "from_dlpack", "bad ndim {} or null shape", t.ndim);
    Device device;
    if (t.device.device_type == kDLCPU)
      device = Device::cpu();
    else if (t.device.device_type == kDLCUDA)
      device = Device::cuda(t.device.device_id);
    else
      AXON_FAIL("from_dlpack", "device type {} is not supported (kDLCPU or kDLCUDA)",
                static_cast<int>(t.device.device_type));
    DType dtype = from_dl(t.dtype);
    Shape shape(t.shape, t.shape + t.ndim);
    Strides strides = t.strides ? Strides(t.strides, t.strides + t.ndim) : Strides{};
    void* data = static_cast<char*>(t.data) + t.byte_offset;
    Tensor out = from_blob(data, shape, dtype, device, strides, release);
    release = nullptr;  // the tensor's storage owns the call now
    return out;
  } catch (...) {
    if (release) release(nullptr);
    throw;
  }
}

DLManagedTensor* to_dlpack(const Tensor& t) {
  AXON_CHECK(t.defined(), "to_dlpack", "undefined tensor");
  auto e = std::make_unique<Exported>();
  e->tensor = t;
  e->shape.assign(t.shape().begin(), t.shape().end());
  e->strides.assign(t.strides().begin(), t.strides().end());
  DLTensor& d = e->managed.dl_tensor;
  d.data = t.data_ptr();
  d.byte_offset = 0;
  d.device = {t.device().is_cuda() ? kDLCUDA : kDLCPU, t.device().is_cuda() ? t.device().index : 0};
  d.ndim = static_cast<int>(t.dim());
  d.dtype = to_dl(t.dtype());
  d.shape = e->shape.data();
  d.strides = e->strides.data();
  e->managed.manager_ctx = e.get();
  e->managed.deleter = [](DLManagedTensor* self) { delete static_cast<Exported*>(self->manager_ctx); };
  return &e.release()->managed;
}

bool built_with_dlpack() { return true; }

}  // namespace axon

#else  // built without dlpack.h

namespace axon {
Tensor from_dlpack(DLManagedTensor*) {
  AXON_FAIL("from_dlpack", "axon was built without DLPack (dlpack.h was not found; apt-get install libdlpack-dev)");
}
DLManagedTensor* to_dlpack(const Tensor&) {
  AXON_FAIL("to_dlpack", "axon was built without DLPack (dlpack.h was not found; apt-get install libdlpack-dev)");
}
bool built_with_dlpack() { return false; }
}  // namespace axon

#endif

using namespace axon;
using namespace axon::c_api;

extern "C" {

axon_status axon_tensor_from_dlpack(void* managed, axon_tensor* out) {
  return guarded([&] {
    auto* m = static_cast<DLManagedTensor*>(managed);
    require(m, "axon_tensor_from_dlpack", "managed");
    if (!out) {
      from_dlpack(m);  // ownership passed to this call either way: the tensor made here releases it
      throw InvalidArgument("axon_tensor_from_dlpack: out is NULL");
    }
    *out = new_handle(from_dlpack(m));
  });
}

axon_status axon_tensor_to_dlpack(axon_tensor t, void** managed) {
  return guarded([&] {
    require(managed, "axon_tensor_to_dlpack", "managed");
    *managed = to_dlpack(tensor_of(t, "axon_tensor_to_dlpack"));
  });
}

}  // extern "C"
