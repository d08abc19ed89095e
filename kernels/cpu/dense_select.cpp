// dense_forward's choice between gemm() + the epilogue pass and the one-pass kernel (gemm_dense.cpp),
// issue 17. The one-pass kernel saves the second pass over y and OpenBLAS / oneDNN's packing of w on
// every call, which is what small-batch inference pays for (the surrogate MLP's 16- and 256-row
// layers), but the libraries' packed GEMMs lead on large products; so, as gemm_select.cpp does for
// the libraries, each shape is timed both ways on its first use and the faster path kept.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include <axon/error.hpp>
#include <axon/kernels/dense.hpp>
#include <axon/kernels/gemm.hpp>

#include "gemm_dense.hpp"
#include "parallel.hpp"
#include "timed_choice.hpp"

namespace axon::kernels::cpu {

namespace {

PathSetting<DensePath> g_path("AXON_CPU_DENSE", "fused", DensePath::fused, "gemm", DensePath::gemm);
std::atomic<int64_t> g_fused_runs{0}, g_gemm_runs{0};

// Multiply-adds up to which the one-pass kernel runs on the calling thread alone: a 16 x 64 x 256
// layer (~5 us) gains less from a second thread than waking it costs; a 16 x 256 x 256 one (~22 us)
// splits its columns (whether that beats the GEMM path on a machine is what the timing decides).
constexpr double kSplitWork = 1 << 18;
// Up to this many rows the GEMM path's small-row kernel (gemm_small.cpp) streams w once per 4 rows
// at memory speed, which 6-row tiles cannot beat: not timed.
constexpr int64_t kFewRows = 4;
// Larger products stay with the libraries untimed (gemm_select.cpp's limit).
constexpr double kLargestTimed = double(1 << 27);

void via_gemm(DenseAct act, DType dt, const void* x, const void* w, const void* b, void* y, int64_t m, int64_t k,
              int64_t n) {
  GemmArgs g;
  g.dtype = dt;
  g.m = m, g.n = n, g.k = k;
  g.a = x, g.lda = k;
  g.b = w, g.ldb = n;
  g.c = y, g.ldc = n;
  gemm(g);
  dense_epilogue(act, dt, y, b, m, n);
}

// Shares of rows while there are two 6-row blocks for every thread, else groups of 16 columns.
void via_fused(DenseAct act, const float* x, const float* w, const float* b, float* y, int64_t m, int64_t k,
               int64_t n) {
  const double work = double(m) * double(n) * double(k);
  if (num_threads() == 1 || work <= kSplitWork) return dense_block(act, 0, m, 0, n, k, n, x, w, b, y);
  const int64_t row_blocks = (m + 5) / 6, col_groups = (n + 15) / 16;
  if (row_blocks >= 2 * num_threads()) {
    // Equal shares of rows, not of 6-row blocks (256 rows on two threads: 128 each, not 132 and 124):
    // a share ending on 7 or 8 rows takes them as 4-row tiles (gemm_dense_tiles.inc), and any split gives the same bits.
    const auto grain = std::max<int64_t>(1, static_cast<int64_t>(kSplitWork / (6.0 * double(n) * double(k))));
    const int64_t parts = std::clamp<int64_t>(row_blocks / grain, 1, num_threads());
    parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
      dense_block(act, m * p0 / parts, m * p1 / parts, 0, n, k, n, x, w, b, y);
    });
  } else {
    const auto grain = std::max<int64_t>(1, static_cast<int64_t>(kSplitWork / (16.0 * double(m) * double(k))));
    parallel_for(col_groups, grain, [&](int64_t g0, int64_t g1) {
      dense_block(act, 0, m, g0 * 16, std::min(n, g1 * 16), k, n, x, w, b, y);
    });
  }
}

// (m, n, k, act, bias, threads) -> the one-pass kernel
struct DenseTag;
using Choice = TimedChoice<std::tuple<int64_t, int64_t, int64_t, DenseAct, bool, int>, DenseTag>;

// Both paths on the caller's own operands (y is overwritten either way): once each untimed (the
// libraries' first-use choices, cold caches), then interleaved, the best of at least nine pairs and
// 10 ms of them, fewer when they took 50 ms: on a shared machine a few pairs were too few, and the
// choice flipped from process to process (the surrogate MLP's 256 x 256 x 256 tanh layer: one pass
// 454-490 us, GEMM 471-498 us at first use; 375 against 419 us hot). The GEMM is kept only when clearly
// faster (3%): where the two are level, the one pass has no second pass over y and no packing that
// the machine's load can stretch.
bool time_fused(DenseAct act, const float* x, const float* w, const float* b, float* y, int64_t m, int64_t k,
                int64_t n) {
  auto gemm_path = [&] { via_gemm(act, DType::f32, x, w, b, y, m, k, n); };
  auto fused_path = [&] { via_fused(act, x, w, b, y, m, k, n); };
  gemm_path();
  fused_path();
  const PairTimes t = time_pairs(gemm_path, fused_path, 60, [](int pairs, const PairTimes&, double total) {
    return (pairs >= 9 && total >= 10e-3) || total >= 0.05;
  });
  const bool use = !(t.a < 0.97 * t.b);
  if (std::getenv("AXON_CPU_DENSE_VERBOSE"))
    std::fprintf(stderr, "axon dense m%lld n%lld k%lld act%d%s, %d thread(s): one pass %.1f us, GEMM + epilogue %.1f us -> %s\n",
                 (long long)m, (long long)n, (long long)k, int(act), b != nullptr ? " bias" : "", num_threads(),
                 t.b * 1e6, t.a * 1e6, use ? "one pass" : "GEMM");
  return use;
}

bool choose_fused(DenseAct act, const float* x, const float* w, const float* b, float* y, int64_t m, int64_t k,
                  int64_t n) {
  const DensePath path = g_path.get();
  if (path != DensePath::automatic) return path == DensePath::fused;
  if (m <= kFewRows || double(m) * double(n) * double(k) > kLargestTimed) return false;
  return Choice::choose({m, n, k, act, b != nullptr, num_threads()},
                        [&] { return time_fused(act, x, w, b, y, m, k, n); });
}

}  // namespace

void set_dense_path(DensePath p) { g_path.set(p); }
DensePath dense_path() { return g_path.get(); }
DenseRuns dense_runs() { return {g_fused_runs.load(), g_gemm_runs.load()}; }

void dense_forward(DenseAct act, DType dt, const void* x, const void* w, const void* b, void* y, int64_t m,
                   int64_t k, int64_t n) {
  if (m == 0 || n == 0) return;
  AXON_CHECK(dt == DType::f32 || dt == DType::f64, "fused_dense", "the CPU dense layer takes f32 or f64, got {}",
             dtype_name(dt));
  if (k == 0) {  // the products are 0: y = act(b)
    std::memset(y, 0, size_t(m * n) * (dt == DType::f64 ? sizeof(double) : sizeof(float)));
    return dense_epilogue(act, dt, y, b, m, n);
  }
  if (dt == DType::f64) return via_gemm(act, dt, x, w, b, y, m, k, n);
  auto* xf = static_cast<const float*>(x);
  auto* wf = static_cast<const float*>(w);
  auto* bf = static_cast<const float*>(b);
  auto* yf = static_cast<float*>(y);
  if (choose_fused(act, xf, wf, bf, yf, m, k, n)) {
    via_fused(act, xf, wf, bf, yf, m, k, n);
    g_fused_runs.fetch_add(1, std::memory_order_relaxed);
  } else {
    via_gemm(act, DType::f32, xf, wf, bf, yf, m, k, n);
    g_gemm_runs.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace axon::kernels::cpu
