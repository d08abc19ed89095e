#pragma once
// The CPU kernels' threads (not installed): one persistent pool, sized to the CPUs this process may
// run on (AXON_NUM_THREADS overrides). OpenBLAS runs single-threaded inside it (blas.hpp), so the
// kernels and the GEMMs share the same threads instead of OpenBLAS's workers spinning beside ours.
#include <algorithm>
#include <cstdint>

namespace axon::kernels::cpu {

// Threads a parallel_for may use (>= 1).
int num_threads();

namespace parallel_detail {
void parallel_run(int64_t parts, void (*fn)(void*, int64_t), void* ctx);
}

// Runs f(begin, end) over [0, n) split into at most num_threads() contiguous ranges of at least
// `grain` items (the caller takes the first) and returns when every range is done. The split
// depends only on n, grain and num_threads(). Calls from inside a range, or while another thread's
// call holds the pool, run serially on the calling thread. An exception thrown by f is rethrown here.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t parts = std::min<int64_t>(num_threads(), (n + grain - 1) / grain);
  if (parts <= 1) return f(int64_t(0), n);
  const int64_t per = (n + parts - 1) / parts;
  parts = (n + per - 1) / per;
  struct Ctx {
    F* f;
    int64_t n, per;
  } ctx{&f, n, per};
  parallel_detail::parallel_run(
      parts,
      [](void* p, int64_t part) {
        auto* c = static_cast<Ctx*>(p);
        const int64_t b = part * c->per, e = std::min(c->n, b + c->per);
        if (b < e) (*c->f)(b, e);
      },
      &ctx);
}

}  // namespace axon::kernels::cpu
