#pragma once
// What the cuDNN families (conv.cpp, pool.cpp, batch_norm.cpp) share: dtype mapping, scaling
// factors, workspace allocation, the buffer-alignment key and the capture guard of a measurement.
// Only compiled with AXON_HAS_CUDNN.
#include <cudnn.h>

#include <axon/kernels/conv.hpp>
#include <axon/kernels/cuda_check.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace axon::kernels::cudnn::detail {

inline cudnnDataType_t data_type(DType dt) {
  switch (dt) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    case DType::f16:
      return CUDNN_DATA_HALF;
    default:
      return CUDNN_DATA_DOUBLE;
  }
}

// The largest power of two (<= 16) dividing every address: an algorithm found on aligned buffers
// may not run on a view that starts at an odd offset, so alignment is part of the cache keys.
inline int64_t alignment(std::initializer_list<const void*> ptrs) {
  int64_t a = 16;
  for (const void* p : ptrs)
    while (a > 1 && reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(a) != 0) a /= 2;
  return a;
}

inline void* alloc(Workspace ws, std::size_t bytes) { return bytes == 0 ? nullptr : ws.alloc(ws.ctx, bytes); }

// A measurement (cudnnFind, or timing the cuDNN and hand-written candidates) waits on the host: not
// inside a CUDA graph capture. `what` names the measurement.
inline void check_not_capturing(cudaStream_t s, const char* op, const char* what) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone)
    throw Error(std::string(op) + ": " + what +
                    " cannot run inside a CUDA graph capture; run the function eagerly on these shapes first "
                    "(compile()'s warmup does)",
                __FILE__, __LINE__);
}

// Scaling factors: double for f64 problems, float otherwise (cuDNN's rule).
template <class T>
const T* one() {
  static const T v = T(1);
  return &v;
}
template <class T>
const T* zero() {
  static const T v = T(0);
  return &v;
}
inline const void* alpha(DType dt) {
  return dt == DType::f64 ? static_cast<const void*>(one<double>()) : one<float>();
}
inline const void* beta(DType dt) {
  return dt == DType::f64 ? static_cast<const void*>(zero<double>()) : zero<float>();
}

}  // namespace axon::kernels::cudnn::detail
