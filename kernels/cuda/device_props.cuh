#pragma once
// Per-device attributes the launch planners need, read once per device (a cudaDeviceGetAttribute
// call per launch would cost more than many small kernels).
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace axon::kernels::cuda {

// The current device's `Attr`; `fallback` where the runtime cannot say (the launch that follows
// then reports the real error under its op's name).
template <cudaDeviceAttr Attr>
inline int device_attribute(int fallback) {
  static std::atomic<int> cached[64] = {};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return fallback;
  std::atomic<int>& c = cached[dev & 63];
  int v = c.load(std::memory_order_relaxed);
  if (v > 0) return v;
  if (cudaDeviceGetAttribute(&v, Attr, dev) != cudaSuccess || v <= 0) return fallback;
  c.store(v, std::memory_order_relaxed);
  return v;
}

inline int sm_count() { return device_attribute<cudaDevAttrMultiProcessorCount>(132); }
inline int max_dynamic_smem() { return device_attribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>(48 * 1024); }

// Blocks of `block` threads for a grid-stride loop over `work` items: up to four waves of full
// occupancy (2048 threads per SM) so every SM keeps loads in flight, never more than the work needs.
inline unsigned resident_blocks(int64_t work, int block) {
  int64_t want = (std::max<int64_t>(work, 1) + block - 1) / block;
  return static_cast<unsigned>(std::min<int64_t>(want, int64_t(sm_count()) * (2048 / block) * 4));
}

}  // namespace axon::kernels::cuda
