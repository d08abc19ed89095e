// The f32 CPU GEMM's choice between OpenBLAS and oneDNN's JIT sgemm (issue 17). Neither wins
// everywhere (oneDNN leads on most of the small and medium products of the MLP workload by 5-50%,
// OpenBLAS on some, the LSTM's accumulating per-step products among them), so in the automatic
// setting each single-threaded call shape (the part of a product one pool thread runs) is timed
// both ways on first use, as the convolutions are (conv_select.cpp), and the faster library is kept
// for the rest of the process (AXON_CPU_GEMM_VERBOSE=1 prints each timing to stderr).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <vector>

#include <axon/error.hpp>
#include <axon/kernels/gemm.hpp>

#include "blas.hpp"
#include "timed_choice.hpp"
#ifdef AXON_HAS_DNNL
#include <dnnl.h>

#include "dnnl_runtime.hpp"
#endif

namespace axon::kernels::cpu {

#ifdef AXON_HAS_DNNL
bool onednn_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  onednn::OneOmpThread one;  // on the calling pool thread, not on an OpenMP team beside the pool
  const dnnl_status_t st =
      dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  AXON_CHECK(st == dnnl_success, "matmul", "oneDNN's sgemm failed (status {}) on m={} n={} k={}", int(st), m, n, k);
  return true;
}
bool gemm_has_onednn() { return true; }
#else
bool onednn_sgemm(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
                  float*, int64_t) {
  return false;
}
bool gemm_has_onednn() { return false; }
#endif

namespace {

PathSetting<GemmPath> g_path("AXON_CPU_GEMM", "openblas", GemmPath::openblas, "onednn", GemmPath::onednn);
std::atomic<int64_t> g_openblas_runs{0}, g_onednn_runs{0};

// (trans_a, trans_b, m, n, k, beta != 0) -> oneDNN
struct GemmTag;
using Choice = TimedChoice<std::tuple<bool, bool, int64_t, int64_t, int64_t, bool>, GemmTag>;

// In multiply-adds: a few milliseconds of either library.
constexpr double kLargestTimed = double(1 << 27);

}  // namespace

void set_gemm_path(GemmPath p) { g_path.set(p); }
GemmPath gemm_path() { return g_path.get(); }
GemmRuns gemm_runs() { return {g_openblas_runs.load(), g_onednn_runs.load()}; }

void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  auto via_openblas = [&](float* out, int64_t ldo) {
    openblas_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldo);
  };
  auto via_onednn = [&](float* out, int64_t ldo) {
    return onednn_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldo);
  };
  auto run = [&](bool onednn) {
    if (onednn && via_onednn(c, ldc)) {
      g_onednn_runs.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    via_openblas(c, ldc);
    g_openblas_runs.fetch_add(1, std::memory_order_relaxed);
  };
  const GemmPath path = g_path.get();
  // k = 0 (C = beta C) stays with OpenBLAS, whose contract for it the callers rely on.
  if (path == GemmPath::openblas || k == 0 || !gemm_has_onednn()) return run(false);
  if (path == GemmPath::onednn) return run(true);
  // Large calls stay on OpenBLAS untimed: there the two ran level or OpenBLAS ahead (W6's
  // 8192-deep weight gradients: 28 against 54 ms for one shape, within 10% either way for the
  // rest), and timing one costs up to a second on first use.
  if (double(m) * double(n) * double(k) > kLargestTimed) return run(false);
  // First use: both libraries write into this thread's scratch C (so that a product with beta != 0
  // is not accumulated into the caller's C several times), oneDNN once untimed (it generates its
  // kernels), then interleaved timed calls, the best of three each unless the best two are already
  // two-fold apart or took 50 ms (one pair alone is too easily a preempted one). oneDNN is kept only
  // when clearly faster (5%): the choice costs nothing to keep wrong by less.
  // (A scratch C with rows of n, not ldc: the per-step LSTM products write into every T-th row of
  // their gate buffer, which would need T times the memory.)
  run(Choice::choose({trans_a, trans_b, m, n, k, beta != 0.0f}, [&] {
    std::vector<float> scratch(static_cast<size_t>(m * n), 0.0f);
    float* s = scratch.data();
    via_onednn(s, n);
    auto enough = [](int pairs, const PairTimes& best, double) {
      return pairs > 1 && (best.b > 2 * best.a || best.a > 2 * best.b || best.a + best.b > 0.05);
    };
    const PairTimes t = time_pairs([&] { via_openblas(s, n); }, [&] { via_onednn(s, n); }, 3, enough);
    const bool use = t.b < 0.95 * t.a;
    if (std::getenv("AXON_CPU_GEMM_VERBOSE"))
      std::fprintf(stderr, "axon gemm %c%c m%lld n%lld k%lld%s: oneDNN %.1f us, OpenBLAS %.1f us -> %s\n",
                   trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', (long long)m, (long long)n, (long long)k,
                   beta != 0.0f ? " beta" : "", t.b * 1e6, t.a * 1e6, use ? "oneDNN" : "OpenBLAS");
    return use;
  }));
}

}  // namespace axon::kernels::cpu
