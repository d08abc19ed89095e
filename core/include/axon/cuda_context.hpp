#pragma once
// The per-device CUDA context: one stream (every launch of the device goes on it), the cuBLAS and
// cuBLASLt handles with their workspace, the cuDNN handle (created on first use) and the
// stream-ordered memory pool. Handles are opaque here so that this header needs no CUDA headers.
#include <cstddef>

#include <axon/device.hpp>

typedef struct CUstream_st* cudaStream_t;
struct cublasContext;
struct cublasLtContext;
struct cudnnContext;

namespace axon::cuda {

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasContext* cublas = nullptr;        // cublasHandle_t
  cublasLtContext* cublas_lt = nullptr;   // cublasLtHandle_t
  void* workspace = nullptr;              // for cuBLAS / cuBLASLt
  std::size_t workspace_bytes = 0;
  cudnnContext* cudnn() ;                 // cudnnHandle_t, created on first use
  int sm_count = 0;
  int cc_major = 0, cc_minor = 0;

 private:
  cudnnContext* cudnn_ = nullptr;
};

// The context of cuda:index, created on first use. Throws axon::Error when the build has no CUDA
// or no such device is present.
Context& context(int index = 0);

// The stream this thread's work on cuda:index goes on: the innermost live ExternalStream guard's
// for that device, else the context's own.
cudaStream_t external_stream(int index);  // null when this thread has no guard for cuda:index
inline cudaStream_t stream(int index = 0) {
  Context& c = context(index);
  cudaStream_t s = external_stream(index);
  return s ? s : c.stream;
}

// Scoped "use this external stream": while alive, this thread's work on cuda:index (kernels, cuBLAS,
// cuDNN, stream-ordered allocations, copies, synchronize()) goes on `stream`, which the caller owns
// (a simulation's stream), instead of the context's. On entry `stream` waits for the work already
// queued on the context's stream, and on exit the context's stream waits for the work queued in the
// scope, so tensors made on either side may be used on the other. Guards nest (per thread). The
// caller keeps `stream` alive while the guard lives. A null stream is a no-op guard; a non-null
// one throws axon::Error in a build without CUDA. Not allowed inside compile()'s capture.
class ExternalStream {
 public:
  explicit ExternalStream(cudaStream_t stream, int index = 0);
  ~ExternalStream();
  ExternalStream(const ExternalStream&) = delete;
  ExternalStream& operator=(const ExternalStream&) = delete;

 private:
  cudaStream_t stream_ = nullptr;
  cudaStream_t previous_ = nullptr;
  int index_ = 0;
};

// Whether a CUDA graph is being captured: by compile() (axon/graph.hpp) on this thread, or on the
// stream of cuda:index by anyone (index -1: any device whose context exists). Host
// synchronisations check it and throw instead of invalidating the capture. Always false in a
// CPU-only build.
bool capturing(int index = -1);

}  // namespace axon::cuda
