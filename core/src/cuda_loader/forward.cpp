// libaxon.so's side of core/src/cuda in a shared CUDA build, where that code lives in
// libaxon_cuda.so: each function hands its call to the backend's table. Until the backend is
// loaded no CUDA tensor, context or capture exists, so the questions about captures answer as a
// CPU-only build's do, without loading it.
#ifdef AXON_CUDA_BACKEND_SHARED
#include <axon/error.hpp>

#include "../cuda/backend.hpp"

namespace axon::cuda {
Context& context(int index) {
  const Backend* b = find_backend();
  AXON_CHECK(b, "cuda", "cuda:{} requested but no CUDA device is available: {}", index, backend_error());
  return b->context(index);
}
cudnnContext* Context::cudnn() { return backend().cudnn_handle(*this); }
Context* find_context(int index) {
  const Backend* b = loaded_backend();
  return b ? b->find_context(index) : nullptr;
}
bool capturing(int index) {
  const Backend* b = loaded_backend();
  return b && b->capturing(index);
}
}  // namespace axon::cuda

namespace axon::cuda::capture {
bool active_here(int index) {
  const Backend* b = loaded_backend();
  return b && b->active_here(index);
}
void check_not_capturing(const char* op, const char* what, int index) {
  if (const Backend* b = loaded_backend()) b->check_not_capturing(op, what, index);
}
std::shared_ptr<AllocToken> on_allocate(int index) { return backend().on_allocate(index); }
void release(void* p, cudaStream_t stream, int index, const std::shared_ptr<AllocToken>& token) {
  backend().release(p, stream, index, token);
}
RngSlot rng_slot(const char* op, Generator& gen, int index) { return backend().rng_slot(op, gen, index); }
void generator_destroyed(const Generator* gen) {
  if (const Backend* b = loaded_backend()) b->generator_destroyed(gen);
}
void defer_check(const Tensor& bad, const char* op, const std::string& message) {
  backend().defer_check(bad, op, message);
}
std::shared_ptr<GraphExec> build_graph(const CompiledFn::Fn& fn, const std::vector<Tensor>& examples,
                                       const CompileOptions& options, Device device) {
  return backend().build_graph(fn, examples, options, device);
}
std::vector<Tensor> replay(GraphExec& g, const std::vector<Tensor>& inputs, long caller_handles) {
  return backend().replay(g, inputs, caller_handles);
}
void check_graph(GraphExec& g) { backend().check_graph(g); }
}  // namespace axon::cuda::capture

namespace axon::cuda::deferred {
void check_range(const char* op, Kind kind, const Tensor& index, int64_t lo, int64_t size, int64_t a) {
  backend().check_range(op, kind, index, lo, size, a);
}
void record_error(int index, std::string message) { backend().record_error(index, std::move(message)); }
void synchronize(int index, cudaStream_t s, const char* op) { backend().synchronize(index, s, op); }
}  // namespace axon::cuda::deferred

namespace axon::cuda::pinned {
// Without a usable backend (no driver, no device) pinned memory is ordinary memory: null.
std::shared_ptr<Storage> allocate(std::size_t nbytes) {
  const Backend* b = find_backend();
  return b ? b->pinned_allocate(nbytes) : nullptr;
}
void copy_to_device(const Storage& src, const void* from, void* to, std::size_t bytes, Device device) {
  backend().pinned_copy_to_device(src, from, to, bytes, device);
}
}  // namespace axon::cuda::pinned

namespace axon::detail {
void check_cpu_outside_capture() {
  if (const cuda::Backend* b = cuda::loaded_backend()) b->check_cpu_outside_capture();
}
}  // namespace axon::detail

#endif
