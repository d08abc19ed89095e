// The per-device CUDA context (see axon/cuda_context.hpp).
#include <axon/cuda_context.hpp>
#include <axon/error.hpp>

#include "capture.hpp"

#ifdef AXON_HAS_CUDA
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#ifdef AXON_HAS_CUDNN
#include <cudnn.h>
#endif

#include <memory>
#include <mutex>
#include <vector>

#include <axon/kernels/cuda_check.hpp>

namespace axon::cuda {

namespace {
constexpr std::size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt wants >= 32 MiB on Hopper

std::mutex& contexts_mutex() {
  static std::mutex mu;
  return mu;
}
std::vector<std::unique_ptr<Context>>& contexts() {
  static std::vector<std::unique_ptr<Context>> v;
  return v;
}

std::unique_ptr<Context> make_context(int index) {
  auto c = std::make_unique<Context>();
  c->device = index;
  AXON_CUDA_CHECK(cudaSetDevice(index), "cuda context");
  AXON_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cuda context");
  // Keep freed blocks in the pool: no cudaMalloc/cudaFree round trips in a training loop.
  cudaMemPool_t pool;
  AXON_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, index), "cuda context");
  uint64_t threshold = UINT64_MAX;
  AXON_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold), "cuda context");
  cublasHandle_t h;
  AXON_CUBLAS_CHECK(cublasCreate(&h), "cuda context");
  c->cublas = h;
  AXON_CUBLAS_CHECK(cublasSetStream(h, c->stream), "cuda context");
  cublasLtHandle_t lt;
  AXON_CUBLAS_CHECK(cublasLtCreate(&lt), "cuda context");
  c->cublas_lt = lt;
  AXON_CUDA_CHECK(cudaMalloc(&c->workspace, kWorkspaceBytes), "cuda context");
  c->workspace_bytes = kWorkspaceBytes;
  AXON_CUBLAS_CHECK(cublasSetWorkspace(h, c->workspace, kWorkspaceBytes), "cuda context");
  cudaDeviceProp prop{};
  AXON_CUDA_CHECK(cudaGetDeviceProperties(&prop, index), "cuda context");
  c->sm_count = prop.multiProcessorCount;
  c->cc_major = prop.major;
  c->cc_minor = prop.minor;
  return c;
}
}  // namespace

cudnnContext* Context::cudnn() {
#ifdef AXON_HAS_CUDNN
  static std::mutex mu;  // two threads' first convolutions must not both create the handle
  std::lock_guard<std::mutex> lock(mu);
  if (!cudnn_) {
    // cudnnCreate allocates and synchronises: it would invalidate a capture.
    capture::check_not_capturing("cudnn", "creating the cuDNN handle (the first convolution of the process)", device);
    cudnnHandle_t h;
    AXON_CUDNN_CHECK(cudnnCreate(&h), "cudnn");
    AXON_CUDNN_CHECK(cudnnSetStream(h, stream), "cudnn");
    cudnn_ = h;
  }
  return cudnn_;
#else
  AXON_FAIL("cudnn", "axon was built without cuDNN");
#endif
}

Context& context(int index) {
  int n = cuda_device_count();
  AXON_CHECK(n > 0, "cuda", "cuda:{} requested but no CUDA device is available", index);
  AXON_CHECK(index >= 0 && index < n, "cuda", "cuda:{} requested but only {} CUDA device(s) are present", index, n);
  std::lock_guard<std::mutex> lock(contexts_mutex());
  auto& all = contexts();
  if (all.empty()) all.resize(n);
  if (!all[index]) {
    // A new context allocates with cudaMalloc and creates streams and handles. (The lock is held:
    // only this thread's capture is asked about.)
    AXON_CHECK(!capture::active_here(), "cuda",
               "creating the context of cuda:{} cannot run inside a CUDA graph capture (use the device once before "
               "compiling)", index);
    all[index] = make_context(index);
  }
  // Every use of cuda:index goes through here: kernel launches (a launch into another device's
  // stream fails), cudaMallocAsync and the attribute caches keyed by cudaGetDevice all need it
  // current. The current device is per thread, so this is checked on every call.
  int cur = -1;
  if (cudaGetDevice(&cur) != cudaSuccess || cur != index) AXON_CUDA_CHECK(cudaSetDevice(index), "cuda");
  return *all[index];
}

Context* find_context(int index) {
  std::lock_guard<std::mutex> lock(contexts_mutex());
  auto& all = contexts();
  return index >= 0 && index < static_cast<int>(all.size()) ? all[index].get() : nullptr;
}

namespace {
// The external streams of this thread's live guards, by device (null: none).
thread_local std::vector<cudaStream_t> tl_external;
// `waiter` waits for everything queued on `on` so far (no host synchronisation).
void order_after(cudaStream_t waiter, cudaStream_t on, int index) {
  cudaEvent_t ev;
  AXON_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "external stream");
  cudaError_t e = cudaEventRecord(ev, on);
  if (e == cudaSuccess) e = cudaStreamWaitEvent(waiter, ev, 0);
  cudaEventDestroy(ev);  // released once the wait is satisfied
  AXON_CUDA_CHECK(e, "external stream");
}
}  // namespace

cudaStream_t external_stream(int index) {
  return index >= 0 && index < static_cast<int>(tl_external.size()) ? tl_external[index] : nullptr;
}

ExternalStream::ExternalStream(cudaStream_t stream, int index) : stream_(stream), index_(index) {
  if (!stream) return;
  Context& c = context(index);  // validates the index
  AXON_CHECK(!capture::active_here(), "external stream", "cannot switch streams inside a CUDA graph capture");
  if (static_cast<int>(tl_external.size()) <= index) tl_external.resize(index + 1, nullptr);
  previous_ = tl_external[index];
  order_after(stream, previous_ ? previous_ : c.stream, index);
  tl_external[index] = stream;
}

ExternalStream::~ExternalStream() {
  if (!stream_) return;
  tl_external[index_] = previous_;
  try {
    order_after(previous_ ? previous_ : context(index_).stream, stream_, index_);
  } catch (const Error&) {
    // A destructor must not throw; a failed event record leaves a sticky CUDA error that the next
    // call on the device reports.
  }
}

bool capturing(int index) {
  if (capture::active_here(index)) return true;
  auto on = [](const Context* c) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    return c && cudaStreamIsCapturing(c->stream, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone;
  };
  if (index >= 0) return on(find_context(index));
  std::lock_guard<std::mutex> lock(contexts_mutex());
  for (const auto& c : contexts())
    if (on(c.get())) return true;
  return false;
}

}  // namespace axon::cuda

#else  // CPU-only build

namespace axon::cuda {
cudnnContext* Context::cudnn() { AXON_FAIL("cudnn", "axon was built without CUDA"); }
Context& context(int index) {
  AXON_FAIL("cuda", "cuda:{} requested but axon was built without CUDA (configure with -DAXON_CUDA=ON)", index);
}
Context* find_context(int) { return nullptr; }
bool capturing(int) { return false; }
cudaStream_t external_stream(int) { return nullptr; }
ExternalStream::ExternalStream(cudaStream_t stream, int index) : stream_(stream), index_(index) {
  AXON_CHECK(!stream, "external stream", "a CUDA stream for cuda:{} was given but axon was built without CUDA", index);
}
ExternalStream::~ExternalStream() = default;
}  // namespace axon::cuda

#endif
