// The CUDA runtime calls of core's storage, tensor and device code (backend.hpp), kept in the
// backend so that libaxon.so itself never links the CUDA runtime.
#include "backend.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <axon/kernels/cuda_check.hpp>

namespace axon::cuda::runtime {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

void* allocate(std::size_t bytes, int index) {
  context(index);  // created (and the index checked) before the device is touched
  int cur = 0;
  cudaGetDevice(&cur);
  if (cur != index) AXON_CUDA_CHECK(cudaSetDevice(index), "allocate");
  void* p = nullptr;
  // On this thread's external stream when an ExternalStream guard is alive (cuda_context.hpp).
  if (cudaMallocAsync(&p, bytes, stream(index)) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

std::uint64_t reserved_bytes(int index) {
  cudaMemPool_t pool;
  std::uint64_t r = 0;
  if (cudaDeviceGetDefaultMemPool(&pool, index) != cudaSuccess ||
      cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &r) != cudaSuccess)
    return 0;
  return r;
}

void trim_pool(int index) {
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, index) == cudaSuccess) {
    capture::check_not_capturing("empty_cache", "trimming the memory pool (a device synchronisation)", index);
    cudaStreamSynchronize(stream(index));
    cudaMemPoolTrimTo(pool, 0);
  }
}

// Contiguous bytes between host and device (or two devices), ordered on the device's stream.
void copy_across(const Tensor& src, const Tensor& dst) {
  // Both directions wait for the copy on the host; a captured host address would also be read or
  // written again at every replay.
  capture::check_not_capturing("to", "copying between the host and a device, or between two devices");
  std::size_t bytes = src.nbytes();
  if (bytes == 0) return;
  Device gpu = src.is_cuda() ? src.device() : dst.device();
  cudaStream_t s = detail::stream_for(gpu);
  if (src.is_cuda() && dst.is_cuda()) {
    // Order after the source's pending work, then copy peer to peer.
    deferred::synchronize(src.device().index, detail::stream_for(src.device()), "to");
    cudaStream_t ds = detail::stream_for(dst.device());
    AXON_CUDA_CHECK(cudaMemcpyPeerAsync(dst.data_ptr(), dst.device().index, src.data_ptr(), src.device().index,
                                        bytes, ds), "to");
    // src may be a temporary whose stream-ordered free on its own stream would not wait for a
    // copy queued on dst's stream: finish the copy before src can be released.
    deferred::synchronize(dst.device().index, ds, "to");
    return;
  }
  AXON_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), bytes, cudaMemcpyDefault, s), "to");
  // A host destination is read as soon as we return; a pageable host source must not change
  // before the copy has read it. The wait also raises what the device's deferred checks found.
  deferred::synchronize(gpu.index, s, "to");
}

cudnnContext* cudnn_handle(Context& c) { return c.cudnn(); }

void order_after(cudaStream_t waiter, cudaStream_t on, int index) {
  cudaEvent_t ev;
  AXON_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "external stream");
  cudaError_t e = cudaEventRecord(ev, on);
  if (e == cudaSuccess) e = cudaStreamWaitEvent(waiter, ev, 0);
  cudaEventDestroy(ev);  // released once the wait is satisfied
  AXON_CUDA_CHECK(e, "external stream");
}

}  // namespace axon::cuda::runtime

#endif
