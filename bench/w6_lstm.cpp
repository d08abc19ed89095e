// W6 of docs/workloads.md: a 2-layer LSTM (input 128, hidden 512, batch 64, 128 time steps, f32),
// forward and backward of sum(outputs) to the parameters, as the PyTorch peer (torch_workloads.py
// w_lstm: nn.LSTM(128, 512, num_layers=2), y.sum().backward()) times it. Built with the model API:
// input | lstm(512) | lstm(512). The check: the model's outputs for two batch rows at the first,
// middle and last step against a float64 hand loop of the same cells over the whole sequence.
#include <algorithm>
#include <cmath>

#include "bench.hpp"

namespace axon::bench {

namespace {

constexpr int64_t kIn = 128, kHidden = 512, kBatch = 64;

std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to_vector<double>(); }

// One layer's parameters in f64 on the host, the gates in PyTorch's order i, f, g, o.
struct HostLstm {
  int64_t in = 0;
  std::vector<double> wi[4], wh[4], b[4];  // [in, units], [units, units], [units]
  HostLstm(const ParamMap& p, int64_t in_features) : in(in_features) {
    const char* g[4] = {"i", "f", "g", "o"};
    for (int k = 0; k < 4; ++k) {
      wi[k] = host(p.at(fmt::format("input_kernel.wi{}", g[k])));
      wh[k] = host(p.at(fmt::format("hidden_kernel.wh{}", g[k])));
      b[k] = host(p.at(fmt::format("bias.b{}", g[k])));
    }
  }
  // x [in] and the carry (c, h) [units] -> the new carry.
  void step(const double* x, std::vector<double>& c, std::vector<double>& h) const {
    std::vector<double> z[4];
    for (int k = 0; k < 4; ++k) {
      z[k] = b[k];
      for (int64_t i = 0; i < in; ++i)
        for (int64_t u = 0; u < kHidden; ++u) z[k][u] += x[i] * wi[k][i * kHidden + u];
      for (int64_t j = 0; j < kHidden; ++j)
        for (int64_t u = 0; u < kHidden; ++u) z[k][u] += h[j] * wh[k][j * kHidden + u];
    }
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int64_t u = 0; u < kHidden; ++u) {
      c[u] = sig(z[1][u]) * c[u] + sig(z[0][u]) * std::tanh(z[2][u]);
      h[u] = sig(z[3][u]) * std::tanh(c[u]);
    }
  }
};

// Largest |y - reference| over rows {0, batch-1} at steps {0, T/2, T-1}.
double max_error(const Tensor& x, const Tensor& y, const Params& p, int64_t T) {
  const HostLstm l0(p.at("lstm_0"), kIn), l1(p.at("lstm_1"), kHidden);
  const std::vector<double> xs = host(x), ys = host(y);
  double err = 0;
  for (int64_t b : {int64_t{0}, kBatch - 1}) {
    std::vector<double> c0(kHidden), h0(kHidden), c1(kHidden), h1(kHidden);
    for (int64_t t = 0; t < T; ++t) {
      l0.step(&xs[(b * T + t) * kIn], c0, h0);
      l1.step(h0.data(), c1, h1);
      if (t == 0 || t == T / 2 || t == T - 1)
        for (int64_t u = 0; u < kHidden; ++u) err = std::max(err, std::abs(ys[(b * T + t) * kHidden + u] - h1[u]));
    }
  }
  return err;
}

}  // namespace

void run_w6(const Options& opt, Reporter& out) {
  const Device dev = opt.device;
  const bool gpu = dev.is_cuda();
  const int64_t T = opt.size > 0 ? opt.size : 128;  // the full size takes about 17 s on a 2-core CPU
  const std::string shape = fmt::format("2x{} in{} B{} T{}", kHidden, kIn, kBatch, T);
  try {
    const Model model = input("x", {-1, T, kIn}) | lstm(kHidden) | lstm(kHidden);
    const Params params = init(model, {.device = dev, .seed = 0});
    Generator gen(6);
    const Tensor x = randn({kBatch, T, kIn}, gen, DType::f32, dev);

    // Only the parameters get gradients, as in the peer (its x does not require grad).
    Params grads;
    auto fwd_bwd = [&] {
      grads = grad([&](const Params& p) { return sum(apply(model, p, x).output); }, params);
    };

    Figure f;
    f.workload = "w6";
    f.op = "fwd+bwd";
    f.dtype = "f32";
    f.shape = shape;
    f.n = kBatch * T;
    f.t = time_repeats(dev, opt.warmup_or(gpu ? 3 : 1), opt.repeats_or(gpu ? 20 : 3), fwd_bwd);
    f.value = f.t.median_ms;
    f.unit = "ms";
    const bool full = T == 128;
    if (gpu && full) f.peer = 11.7;  // PyTorch (cuDNN) on an H100; none for a CPU

    const double err = max_error(x, predict(model, params, x), params, T);
    bool finite = true;
    for (const auto& [layer, m] : grads)
      for (const auto& [name, g] : m) finite = finite && std::isfinite(sum(g).item<double>());
    // f32 against f64 through T steps of bounded cells (about 1e-7 seen); a wrong gate or carry is
    // off by 1e-2 or more.
    const double tol = 1e-5;
    f.ok = err < tol && finite;
    f.check = fmt::format("outputs vs a float64 hand loop (rows 0, {}; steps 0, {}, {}): max |err| {:.2e} (< {:.0e}); "
                          "gradients {}; PyTorch H100 11.7 ms, target <= 11 ms at T 128{}",
                          kBatch - 1, T / 2, T - 1, err, tol, finite ? "finite" : "NOT finite",
                          full ? "" : " (reduced size)");
    out.figure(f);
  } catch (const std::exception& e) {
    out.error("w6", "fwd+bwd f32 " + shape, e.what());
  }
}

}  // namespace axon::bench
