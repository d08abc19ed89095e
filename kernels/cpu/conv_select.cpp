// The f32 CPU convolutions' choice between oneDNN and im2col + OpenBLAS. Neither wins everywhere
// (oneDNN's JIT kernels lead on most 3x3 layers, OpenBLAS on some shapes and thread counts), so
// in the automatic setting each (direction, shape) is timed both ways on first use, as cuDNN's
// algorithms are, and the faster path is kept for the rest of the process (AXON_CPU_CONV_VERBOSE=1
// prints each timing to stderr).
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "conv_geometry.hpp"
#include "timed_choice.hpp"

namespace axon::kernels::cpu {

namespace {

PathSetting<ConvPath> g_path("AXON_CPU_CONV", "im2col", ConvPath::im2col, "onednn", ConvPath::onednn);
std::atomic<int64_t> g_im2col_runs{0}, g_onednn_runs{0};

enum Dir : int64_t { kForward, kBackwardData, kBackwardFilter };

// (direction, geometry) -> oneDNN
struct ConvTag;
using Choice = TimedChoice<conv_detail::ConvKey, ConvTag>;

// Outputs of fewer than 4x4 pixels (ResNet-18's last stages on 32x32 images): oneDNN 2.6 runs them
// 5-20x slower than im2col + OpenBLAS here (its backward filter falls back to a GEMM-based kernel),
// so they are not worth timing; a single oneDNN call there can cost seconds.
bool worth_timing(const ConvGeometry& g) { return g.out_pixels() >= 16; }

// im2col() runs the im2col path; onednn() the oneDNN one, false where it cannot.
template <class I, class D>
void run(Dir dir, DType dt, const ConvGeometry& g, I im2col, D onednn) {
  auto via_im2col = [&] {
    im2col();
    g_im2col_runs.fetch_add(1, std::memory_order_relaxed);
  };
  auto via_onednn = [&] {
    if (!onednn()) return false;
    g_onednn_runs.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  const ConvPath path = g_path.get();
  if (dt != DType::f32 || path == ConvPath::im2col || !onednn_available()) return via_im2col();
  if (path == ConvPath::onednn) {
    if (!via_onednn()) via_im2col();
    return;
  }
  const auto key = conv_detail::conv_key(dir, g);
  if (const auto known = Choice::find(key)) {
    if (!*known || !via_onednn()) via_im2col();
    return;
  }
  // First use: a warm-up call of oneDNN (it creates its primitives), then timed calls of each,
  // interleaved, the best of three each unless the first pair is already two-fold apart. oneDNN is
  // kept only when clearly faster (5%): im2col's figures are the more repeatable on a busy machine.
  bool use = worth_timing(g) && via_onednn();
  if (use) {
    const PairTimes t = time_pairs(via_im2col, via_onednn, 3, [](int, const PairTimes& best, double) {
      return best.b >= 2 * best.a || best.a >= 2 * best.b;
    });
    use = t.b < 0.95 * t.a;
    if (!use) via_im2col();  // the result of the path kept
    if (std::getenv("AXON_CPU_CONV_VERBOSE"))
      std::fprintf(
          stderr, "axon conv %s N%lld %lldx%lldx%lld %lld->%lld k%lld s%lld g%lld: oneDNN %.3f ms, im2col %.3f ms\n",
          dir == kForward        ? "forward"
          : dir == kBackwardData ? "backward data"
                                 : "backward filter",
          (long long)g.batch, (long long)(g.nd > 2 ? g.in[g.nd - 3] : 1), (long long)(g.nd > 1 ? g.in[g.nd - 2] : 1),
          (long long)g.in[g.nd - 1], (long long)g.channels, (long long)g.out_channels, (long long)g.kernel[g.nd - 1],
          (long long)g.stride[g.nd - 1], (long long)g.groups, t.b * 1e3, t.a * 1e3);
  } else {
    via_im2col();
  }
  Choice::keep(key, use);  // this call's result is its own choice's, whichever is kept
}

}  // namespace

void set_conv_path(ConvPath p) { g_path.set(p); }
ConvPath conv_path() { return g_path.get(); }
ConvRuns conv_runs() { return {g_im2col_runs.load(), g_onednn_runs.load()}; }

void conv_forward_best(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g) {
  run(
      kForward, dt, g, [&] { conv_forward(dt, x, w, y, g); },
      [&] {
        return onednn_conv_forward(static_cast<const float*>(x), static_cast<const float*>(w), static_cast<float*>(y),
                                   g);
      });
}

void conv_forward_epilogue_best(DType dt, const void* x, const void* w, const void* b, DenseAct act, void* y,
                                const ConvGeometry& g) {
  const int64_t rows = g.batch * g.out_pixels();
  auto epilogue = [&] { dense_epilogue(act, dt, y, b, rows, g.out_channels); };
  // The primitive's own bias and relu; tanh and sigmoid (whose oneDNN forms round differently from
  // the CPU's other activations) after it.
  const bool in_primitive = act == DenseAct::none || act == DenseAct::relu;
  run(
      kForward, dt, g,
      [&] {
        conv_forward(dt, x, w, y, g);
        epilogue();
      },
      [&] {
        const auto* xf = static_cast<const float*>(x);
        const auto* wf = static_cast<const float*>(w);
        auto* yf = static_cast<float*>(y);
        if (in_primitive)
          return onednn_conv_forward_bias_relu(xf, wf, static_cast<const float*>(b), act == DenseAct::relu, yf, g);
        if (!onednn_conv_forward(xf, wf, yf, g)) return false;
        epilogue();
        return true;
      });
}

void conv_backward_data_best(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g) {
  run(
      kBackwardData, dt, g, [&] { conv_backward_data(dt, dy, w, dx, g); },
      [&] {
        return onednn_conv_backward_data(static_cast<const float*>(dy), static_cast<const float*>(w),
                                         static_cast<float*>(dx), g);
      });
}

void conv_backward_filter_best(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g) {
  run(
      kBackwardFilter, dt, g, [&] { conv_backward_filter(dt, x, dy, dw, g); },
      [&] {
        return onednn_conv_backward_filter(static_cast<const float*>(x), static_cast<const float*>(dy),
                                           static_cast<float*>(dw), g);
      });
}

}  // namespace axon::kernels::cpu
