// Page-locked host memory (Tensor::pin_memory) and copies from it to a device that do not wait
// (Tensor::to(device, non_blocking = true)), for the data pipeline's prefetch.
//
// A copy from pinned memory may still be reading it after to() returns, so a pinned block is never
// handed out again until the device has passed the copy: each block carries an event recorded after
// its last asynchronous read, and the cache gives out only blocks whose event has completed (or that
// were never read asynchronously). Blocks are kept for reuse, never returned to the driver while the
// process runs: cudaFreeHost would synchronise the device.
#include "pinned.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include <axon/error.hpp>

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <axon/cuda_context.hpp>
#include <axon/kernels/cuda_check.hpp>

#include "capture.hpp"
#endif

namespace axon::cuda::pinned {

#ifdef AXON_HAS_CUDA
namespace {

struct Block {
  void* data = nullptr;
  std::size_t bytes = 0;
  cudaEvent_t last_read = nullptr;  // recorded after the last asynchronous copy out of it
  bool in_use = false;
};

class Cache {
 public:
  // A free block of at least `bytes` whose asynchronous reads are over, or a new one.
  void* take(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [p, b] : blocks_) {
      if (b.in_use || b.bytes < bytes || b.bytes > 2 * bytes + 4096) continue;
      if (b.last_read && cudaEventQuery(b.last_read) != cudaSuccess) {
        cudaGetLastError();  // cudaErrorNotReady is not an error to keep
        continue;
      }
      b.in_use = true;
      return p;
    }
    void* p = nullptr;
    if (cudaHostAlloc(&p, bytes == 0 ? 64 : bytes, cudaHostAllocDefault) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    blocks_[p] = Block{p, bytes == 0 ? 64 : bytes, nullptr, true};
    return p;
  }
  void give(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(p);
    if (it != blocks_.end()) it->second.in_use = false;
  }
  // After an asynchronous copy out of the block holding p has been queued on `stream`.
  void read_by(void* p, cudaStream_t stream, const char* op) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(p);
    AXON_CHECK(it != blocks_.end(), op, "internal: the source is not a pinned block");
    Block& b = it->second;
    if (!b.last_read) AXON_CUDA_CHECK(cudaEventCreateWithFlags(&b.last_read, cudaEventDisableTiming), op);
    AXON_CUDA_CHECK(cudaEventRecord(b.last_read, stream), op);
  }

 private:
  std::mutex mu_;
  std::unordered_map<void*, Block> blocks_;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: storages may outlive static teardown
  return *c;
}

}  // namespace

std::shared_ptr<Storage> allocate(std::size_t nbytes) {
  if (!cuda_available()) return nullptr;
  void* p = cache().take(nbytes);
  if (!p) return nullptr;
  auto s = Storage::wrap(p, nbytes, Device::cpu(), [](void* q) { cache().give(q); });
  s->pinned = true;
  return s;
}

void copy_to_device(const Storage& src, const void* from, void* to, std::size_t bytes, Device device) {
  capture::check_not_capturing("to", "copying from the host to a device");
  if (bytes == 0) return;
  cudaStream_t s = stream(device.index);
  AXON_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyHostToDevice, s), "to");
  cache().read_by(src.data, s, "to");
}

#else

std::shared_ptr<Storage> allocate(std::size_t) { return nullptr; }
void copy_to_device(const Storage&, const void*, void*, std::size_t, Device device) {
  AXON_FAIL("to", "cannot copy to {}: axon was built without CUDA", device.str());
}

#endif

}  // namespace axon::cuda::pinned
