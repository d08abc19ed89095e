#pragma once
// The CUDA graph capture of compile() (axon/graph.hpp) as the rest of core sees it: guards for
// host synchronisation, allocation and free hooks for Storage, the generators' device-side state
// for random draws, and deferred checks. Not installed. In a CPU-only build nothing is ever
// capturing and these are no-ops.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <axon/random.hpp>
#include <axon/tensor.hpp>

typedef struct CUstream_st* cudaStream_t;

namespace axon::detail {
// The global generator's lock when gen is that one, else an empty lock (random.cpp): compiled
// functions read and advance generators outside any draw.
std::unique_lock<std::mutex> lock_generator(const Generator& gen);
}  // namespace axon::detail

namespace axon::cuda {
struct Context;
// The context of cuda:index if it was created already (never creates one), else null.
Context* find_context(int index);
}  // namespace axon::cuda

namespace axon::cuda::capture {

// Whether compile() is capturing on this thread: on cuda:index, or on any device (index -1).
// A thread-local read: cheap enough for every allocation and op.
bool active_here(int index = -1);

// Throws "<op>: <what> cannot run inside a CUDA graph capture (...)" when this thread captures or
// the stream of cuda:index (any device with a context: -1) is being captured.
void check_not_capturing(const char* op, const char* what, int index = -1);

// ---- Storage. Blocks allocated while this thread captures on their device are graph allocations:
// they carry the capture's token, and their free is a free node while the capture runs.
struct AllocToken;
std::shared_ptr<AllocToken> on_allocate(int index);  // null unless this thread captures on cuda:index
// Frees a block of cuda:index. A block from before a capture that is running on its device is not
// freed (a free node may only free graph allocations, and the graph may still read it): it is kept
// until the compiled function is destroyed. Makes cuda:index current for the free (and restores the
// caller's device); never throws: a failed free is recorded and raised at the device's next host
// read (cuda/deferred.hpp), and the runtime's last error is cleared so no later op is blamed.
void release(void* p, cudaStream_t stream, int index, const std::shared_ptr<AllocToken>& token);

// ---- random numbers. While this thread captures on cuda:index, a draw from `gen` reads its seed
// and base offset from device memory the compiled function owns: `state` is that memory and
// `offset` the draw's offset relative to the generator's offset when the capture began. Throws
// when the stream is captured by someone other than compile() (the draw would repeat on replay).
struct RngSlot {
  const uint64_t* state = nullptr;
  uint64_t offset = 0;
};
RngSlot rng_slot(const char* op, Generator& gen, int index);
// Called by ~Generator: a compiled function that draws from a destroyed generator fails instead of
// writing through a dangling pointer.
void generator_destroyed(const Generator* gen);

// ---- deferred checks. While this thread captures on bad's device, records the 0-d bool `bad`
// (true when the check failed): the compiled function throws "<op>: <message>" at its first call
// after a replay in which it was true. Call only when active_here(bad's device).
void defer_check(const Tensor& bad, const char* op, const std::string& message);

}  // namespace axon::cuda::capture
