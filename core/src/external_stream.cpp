// The scoped "use this external stream" guard (cuda_context.hpp). It lives in libaxon itself, not in
// the CUDA backend: the thread's stack of external streams must be one object that the core's and the
// backend's calls of cuda::stream() both read; the backend only orders the two streams (events).
#include <vector>

#include <axon/cuda_context.hpp>
#include <axon/error.hpp>

#ifdef AXON_HAS_CUDA
#include "cuda/backend.hpp"
#endif

namespace axon::cuda {

#ifdef AXON_HAS_CUDA
namespace {
// The external streams of this thread's live guards, by device (null: none).
thread_local std::vector<cudaStream_t> tl_external;
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
  backend().order_after(stream, previous_ ? previous_ : c.stream, index);
  tl_external[index] = stream;
}

ExternalStream::~ExternalStream() {
  if (!stream_) return;
  tl_external[index_] = previous_;
  try {
    backend().order_after(previous_ ? previous_ : context(index_).stream, stream_, index_);
  } catch (const Error&) {
    // A destructor must not throw; a failed event record leaves a sticky CUDA error that the next
    // call on the device reports.
  }
}

#else  // CPU-only build

cudaStream_t external_stream(int) { return nullptr; }
ExternalStream::ExternalStream(cudaStream_t stream, int index) : stream_(stream), index_(index) {
  AXON_CHECK(!stream, "external stream", "a CUDA stream for cuda:{} was given but axon was built without CUDA", index);
}
ExternalStream::~ExternalStream() = default;

#endif

}  // namespace axon::cuda
