// The timed choice between the Winograd kernel and another path for an inference conv
// (winograd_conv_select.hpp).
#include "winograd_conv_select.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include <axon/conv.hpp>

#include "parallel.hpp"
#include "timed_choice.hpp"

namespace axon::kernels::cpu {

namespace {

// (batch, H, W, C, Cout, pad top/left/bottom/right, bias, relu, threads)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, int>;
struct WinogradTag;
using Decisions = TimedChoice<Key, WinogradTag>;
constexpr int64_t kFewestChannels = 8;

std::atomic<int64_t> g_runs{0};

}  // namespace

std::unique_ptr<WinogradChoice> WinogradChoice::make(const ConvGeometry& g, bool bias, bool relu, int parts) {
  const WinogradMode mode = winograd_mode();
  if (mode == WinogradMode::off || !winograd_applies(g)) return nullptr;
  // Few input channels leave the GEMMs nothing to gain on the transforms' cost: not timed (W2's
  // first conv, one channel: 42 us against oneDNN's 8 at batch 1).
  if (mode == WinogradMode::automatic && g.channels < kFewestChannels) return nullptr;
  return std::make_unique<WinogradChoice>(g, bias, relu, WinogradConv::make(g, relu, parts));
}

WinogradChoice::WinogradChoice(const ConvGeometry& g, bool bias, bool relu, std::unique_ptr<WinogradConv> conv)
    : g_(g), bias_(bias), relu_(relu), conv_(std::move(conv)) {
  if (winograd_mode() == WinogradMode::on) use_ = 1;
}

void WinogradChoice::run(const float* x, const float* w, const float* b, float* y,
                         const std::function<void(const float*, const float*, const float*, float*)>& other) {
  if (use_ < 0) use_ = choose(x, w, b, y, other) ? 1 : 0;
  if (use_ == 1) {
    conv_->run(x, w, b, y);
    g_runs.fetch_add(1, std::memory_order_relaxed);
  } else {
    other(x, w, b, y);
  }
}

// Both paths once untimed (first-use setup, cold caches), then interleaved, the best of at least
// five pairs and up to 20 ms of them (a busy machine's other processes get in the way of single
// pairs: W2's second conv at batch 64 once timed 8.3 against 2.9 ms, then 2.4 against 9.6), fewer
// when five took 200 ms; the Winograd kernel is kept only when 3% faster.
bool WinogradChoice::choose(const float* x, const float* w, const float* b, float* y,
                            const std::function<void(const float*, const float*, const float*, float*)>& other) {
  const Key key{g_.batch, g_.in[0],     g_.in[1],     g_.channels, g_.out_channels, g_.pad_lo[0],
                g_.pad_lo[1], g_.pad_hi[0], g_.pad_hi[1], bias_,     relu_,           num_threads()};
  if (auto known = Decisions::find(key)) return *known;
  other(x, w, b, y);
  conv_->run(x, w, b, y);
  const PairTimes t = time_pairs([&] { other(x, w, b, y); }, [&] { conv_->run(x, w, b, y); }, 30,
                                 [](int pairs, const PairTimes&, double total) {
                                   return (pairs >= 5 && total >= 20e-3) || total >= 0.2;
                                 });
  const bool use = t.b < 0.97 * t.a;
  if (std::getenv("AXON_CPU_WINOGRAD_VERBOSE"))
    std::fprintf(stderr, "axon winograd %lldx%lldx%lld -> %lld, batch %lld, %d thread(s): Winograd %.1f us, other %.1f us -> %s\n",
                 (long long)g_.in[0], (long long)g_.in[1], (long long)g_.channels, (long long)g_.out_channels,
                 (long long)g_.batch, num_threads(), t.b * 1e6, t.a * 1e6, use ? "Winograd" : "other");
  return Decisions::keep(key, use);  // another plan's first choice holds for both
}

}  // namespace axon::kernels::cpu

int64_t axon::cpu_winograd_runs() { return axon::kernels::cpu::g_runs.load(); }
