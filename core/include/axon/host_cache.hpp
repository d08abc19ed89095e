#pragma once
// The host allocator's cache of freed blocks (storage.cpp): how often it serves an allocation.
#include <cstddef>

namespace axon {

// Host allocations served from the cache's freed blocks since the process started. Beside
// memory_stats(Device::cpu()).allocations it is the cache's hit rate: an allocation it misses comes
// from the C library, and a large one from fresh pages that fault on first touch.
std::size_t host_cache_hits();

}  // namespace axon
