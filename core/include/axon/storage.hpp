#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include <axon/device.hpp>

namespace axon {

// A block of device memory. Owned blocks come from the device's allocator (64-byte aligned on the
// CPU, the stream-ordered pool on CUDA); from_blob storage wraps caller memory with an optional
// deleter.
struct Storage {
  void* data = nullptr;
  std::size_t nbytes = 0;
  Device device;
  std::function<void(void*)> deleter;  // empty: not ours to free
  bool pinned = false;                 // page-locked host memory (Tensor::pin_memory)

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  static std::shared_ptr<Storage> allocate(std::size_t nbytes, Device device);
  static std::shared_ptr<Storage> wrap(void* data, std::size_t nbytes, Device device,
                                       std::function<void(void*)> deleter);
};

struct MemoryStats {
  std::size_t in_use = 0;     // bytes held by live tensors
  std::size_t peak = 0;       // highest in_use since the last reset
  std::size_t reserved = 0;   // in_use plus freed blocks kept for reuse (CUDA pool / host cache)
  std::size_t allocations = 0;  // number of allocations made
};
MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
// Returns cached free blocks to the system (host) or trims the device pool to what is in use.
void empty_cache(Device device);

}  // namespace axon
