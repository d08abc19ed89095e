// Allocation: 64-byte aligned host buffers; on CUDA the device's stream-ordered pool
// (cudaMallocAsync on the context stream). Both keep statistics.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <axon/cuda_context.hpp>
#include <axon/error.hpp>
#include <axon/host_cache.hpp>
#include <axon/storage.hpp>

#include "cuda/capture.hpp"

#ifdef AXON_HAS_CUDA
#include "cuda/backend.hpp"
#endif

namespace axon {

namespace {
struct Counters {
  std::atomic<std::size_t> in_use{0}, peak{0}, allocations{0}, cache_hits{0};  // cache_hits: CPU only
  void add(std::size_t n) {
    std::size_t now = in_use.fetch_add(n) + n;
    std::size_t p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    allocations.fetch_add(1);
  }
  void sub(std::size_t n) { in_use.fetch_sub(n); }
};
constexpr int kMaxCudaDevices = 16;

// Host blocks are cached by size class instead of going back to the C library: large blocks come
// from mmap there, and a training step's temporaries would page-fault afresh on every step.
// Classes: 64-byte steps up to 4 KiB, then four per power of two (at most 25% slack).
class HostCache {
 public:
  static constexpr std::size_t kLimit = std::size_t(2) << 30;  // cached (free) bytes kept at most

  static std::size_t size_class(std::size_t n) {
    if (n <= 4096) return n == 0 ? 64 : (n + 63) / 64 * 64;
    std::size_t p = std::size_t(1) << (63 - __builtin_clzll(n));
    std::size_t step = p / 4;
    return (n + step - 1) / step * step;
  }
  void* take(std::size_t cls) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(cls);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= cls;
    return p;
  }
  void give(void* p, std::size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_ + cls <= kLimit) {
        free_[cls].push_back(p);
        cached_ += cls;
        return;
      }
    }
    std::free(p);
  }
  void release_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [cls, v] : free_)
      for (void* p : v) std::free(p);
    free_.clear();
    cached_ = 0;
  }
  std::size_t cached() {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
};
HostCache& host_cache() {
  static HostCache* cache = new HostCache;  // never destroyed: storages may outlive static teardown
  return *cache;
}
Counters& counters(Device d, const char* op) {
  static Counters cpu;
  static Counters gpu[kMaxCudaDevices];
  if (d.is_cpu()) return cpu;
  AXON_CHECK(d.index >= 0 && d.index < kMaxCudaDevices, op, "device index {} is out of range [0, {})", d.index,
             kMaxCudaDevices);
  return gpu[d.index];
}
// Requests beyond this are refused before any rounding, so no size class or alignment can wrap
// around to a small block (2^62 bytes is far beyond any machine's memory).
constexpr std::size_t kMaxAllocBytes = std::size_t(1) << 62;
}  // namespace

Storage::~Storage() {
  if (deleter && data) deleter(data);
}

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  AXON_CHECK(nbytes <= kMaxAllocBytes, "allocate", "{} bytes requested on {}: more than any device can hold", nbytes,
             device.str());
  auto& stats = counters(device, "allocate");
  auto s = std::make_shared<Storage>();
  s->nbytes = nbytes;
  s->device = device;
  std::size_t n = nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64;
  if (device.is_cpu()) {
    n = HostCache::size_class(nbytes);
    s->data = host_cache().take(n);
    if (s->data) stats.cache_hits.fetch_add(1, std::memory_order_relaxed);
    if (!s->data) s->data = std::aligned_alloc(64, n);
    if (!s->data) {  // give the cache back to the system and try once more
      host_cache().release_all();
      s->data = std::aligned_alloc(64, n);
    }
    AXON_CHECK(s->data, "allocate", "out of host memory allocating {} bytes", nbytes);
    stats.add(n);
    s->deleter = [n, &stats](void* p) {
      host_cache().give(p, n);
      stats.sub(n);
    };
    return s;
  }
#ifdef AXON_HAS_CUDA
  auto& ctx = cuda::context(device.index);
  s->data = cuda::backend().allocate(n, device.index);
  if (!s->data) {
    AXON_FAIL("allocate", "out of memory on {} allocating {} bytes ({} in use)", device.str(), nbytes,
              stats.in_use.load());
  }
  stats.add(n);
  cudaStream_t stream = ctx.stream;
  // Inside compile()'s capture this block is a graph allocation: its free must become a free node
  // of the same capture (cuda/capture.hpp).
  auto token = cuda::capture::on_allocate(device.index);
  s->deleter = [n, stream, device, token, &stats](void* p) {
    // cudaFreeAsync (safe while queued kernels use p) under a guard that makes p's device current; a
    // destructor must not throw, so a failed free is recorded and raised at that device's next host
    // read, not blamed on whichever op launches next (cuda/capture.hpp).
    // On this thread's external stream if it has one (ExternalStream orders it after the
    // context's), else the context's: never on an external stream that may be gone by now.
    cudaStream_t ext = cuda::external_stream(device.index);
    cuda::capture::release(p, ext ? ext : stream, device.index, token);
    stats.sub(n);
  };
  return s;
#else
  cuda::context(device.index);  // throws: built without CUDA
  return nullptr;
#endif
}

std::shared_ptr<Storage> Storage::wrap(void* data, std::size_t nbytes, Device device,
                                       std::function<void(void*)> deleter) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->device = device;
  s->deleter = std::move(deleter);
  return s;
}

MemoryStats memory_stats(Device device) {
  auto& c = counters(device, "memory_stats");
  MemoryStats m;
  m.in_use = c.in_use.load();
  m.peak = c.peak.load();
  m.allocations = c.allocations.load();
  m.reserved = m.in_use + (device.is_cpu() ? host_cache().cached() : 0);
#ifdef AXON_HAS_CUDA
  if (device.is_cuda() && cuda_available()) {
    if (uint64_t r = cuda::backend().reserved_bytes(device.index)) m.reserved = r;
  }
#endif
  return m;
}

void empty_cache(Device device) {
  counters(device, "empty_cache");  // validates the index
  if (device.is_cpu()) host_cache().release_all();
  // CUDA: the pool keeps freed blocks by design (release threshold); trim it to what is in use.
#ifdef AXON_HAS_CUDA
  if (device.is_cuda() && cuda_available()) cuda::backend().trim_pool(device.index);
#endif
}

std::size_t host_cache_hits() { return counters(Device::cpu(), "host_cache_hits").cache_hits.load(); }

void reset_peak_memory(Device device) {
  auto& c = counters(device, "reset_peak_memory");
  c.peak.store(c.in_use.load());
}

}  // namespace axon
