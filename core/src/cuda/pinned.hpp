#pragma once
// Page-locked host blocks for Tensor::pin_memory and asynchronous host-to-device copies out of them
// (pinned.cpp says how a block's reuse waits for the copies reading it).
#include <cstddef>
#include <memory>

#include <axon/storage.hpp>

namespace axon::cuda::pinned {

// A pinned host block of nbytes, or nullptr when the build has no CUDA or no device is present (the
// caller then uses ordinary host memory).
std::shared_ptr<Storage> allocate(std::size_t nbytes);
// Queues the copy of `bytes` from `from` (inside the pinned storage src) to `to` on device's stream and
// returns without waiting.
void copy_to_device(const Storage& src, const void* from, void* to, std::size_t bytes, Device device);

}  // namespace axon::cuda::pinned
