// The oneDNN engine and the calling-thread execution that keeps oneDNN's OpenMP pool idle.
#ifdef AXON_HAS_DNNL
#include "dnnl_runtime.hpp"

#include <omp.h>

#include <axon/error.hpp>
#include <vector>

namespace axon::kernels::cpu::onednn {

dnnl::engine& engine() {
  static dnnl::engine* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);  // never destroyed: used until exit
  return *e;
}

namespace {
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}
}  // namespace

OneOmpThread::OneOmpThread() : before_(omp_get_max_threads()) { omp_set_num_threads(1); }
OneOmpThread::~OneOmpThread() { omp_set_num_threads(before_); }

void execute(const dnnl::primitive& prim, const std::unordered_map<int, dnnl::memory>& args) {
  OneOmpThread one;
  try {
    prim.execute(stream(), args);
    stream().wait();
  } catch (const dnnl::error& e) {  // e.g. out of memory for its buffers: an axon::Error like the rest
    AXON_FAIL("conv", "oneDNN failed to run a primitive: {}", e.what());
  }
}

void add_scratchpad(const dnnl::primitive_desc_base& pd, std::unordered_map<int, dnnl::memory>& args) {
  const dnnl::memory::desc md = pd.scratchpad_desc();
  thread_local std::vector<unsigned char> buf;
  if (buf.size() < md.get_size()) buf.resize(md.get_size());
  args.insert({DNNL_ARG_SCRATCHPAD, dnnl::memory(md, engine(), buf.data())});
}

dnnl::primitive_attr attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

}  // namespace axon::kernels::cpu::onednn
#endif
