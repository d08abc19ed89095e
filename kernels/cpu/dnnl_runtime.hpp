#pragma once
// oneDNN for the CPU kernels (builds with AXON_HAS_DNNL; not installed: no oneDNN header reaches
// axon's users). Debian's libdnnl runs its primitives on OpenMP threads, a second pool beside the
// kernels' own (parallel.hpp) whose idle threads spin after every call on the cores ours want.
// So every primitive runs with OpenMP at one thread, on the thread that calls it, and callers split
// their work across the kernels' pool as the im2col + OpenBLAS kernels do: one pool of threads.
#include <dnnl.hpp>
#include <unordered_map>

namespace axon::kernels::cpu::onednn {

dnnl::engine& engine();

// OpenMP at one thread on the calling thread for a scope, the previous setting put back after.
// oneDNN fixes a primitive's thread split when the primitive is created (and then asks OpenMP for
// that many threads whatever the setting at run time), so creation must run inside one too.
class OneOmpThread {
 public:
  OneOmpThread();
  ~OneOmpThread();
  OneOmpThread(const OneOmpThread&) = delete;
  OneOmpThread& operator=(const OneOmpThread&) = delete;

 private:
  int before_;
};

// Executes `prim` with `args` on the calling thread, inside a OneOmpThread.
void execute(const dnnl::primitive& prim, const std::unordered_map<int, dnnl::memory>& args);

// Scratch memory of the primitive's scratchpad size, the calling thread's own (kept between calls),
// added to args: primitives use a caller-supplied scratchpad so two threads may run one at once.
void add_scratchpad(const dnnl::primitive_desc_base& pd, std::unordered_map<int, dnnl::memory>& args);

// A primitive attribute with that user-managed scratchpad.
dnnl::primitive_attr attr();

}  // namespace axon::kernels::cpu::onednn
