// `axon-bench autograd`: the host cost of the tape. A chain of 1,000 small elementwise ops on a
// 16-element f32 tensor is run forward and backward with value_and_grad; the figure is host
// microseconds per recorded op (forward + backward time / forward ops). The kernels themselves are
// trivial at this size, so this measures dispatch, recording and the sweep. Target: < 3 us per op on
// the development machine's CPU (PyTorch eager is several times that).
#include <chrono>

#include "bench.hpp"

namespace axon::bench {

namespace {
constexpr int kOps = 1000;

// kOps ops, cycling through a few cheap differentiable elementwise kinds; stays bounded.
Tensor chain(Tensor y) {
  for (int i = 0; i < kOps; i += 4) {
    y = tanh(y);
    y = y * 1.5;
    y = y + 0.25;
    y = sigmoid(y);
  }
  return sum(y);
}
}  // namespace

void run_autograd(const Options& opt, Reporter& out) {
  Device d = opt.device;
  Tensor x = linspace(-1, 1, 16, DType::f32, d);
  int warm = opt.warmup_or(3), reps = opt.repeats_or(opt.quick() ? 15 : 50);

  auto figure = [&](const std::string& op, const Stats& t, std::optional<double> ceiling) {
    Figure f;
    f.workload = "autograd";
    f.op = op;
    f.dtype = "f32";
    f.shape = "[16] x 1000 ops";
    f.n = kOps;
    f.t = t;
    f.value = t.median_ms * 1000.0 / kOps;
    f.unit = "us/op";
    f.ceiling = ceiling;
    f.ceiling_what = ceiling ? "target" : "";
    out.figure(f);
  };

  // Forward only, no tape: the cost of the ops' front-ends and kernels alone.
  Stats fwd = time_repeats(d, warm, reps, [&] {
    NoGrad ng;
    chain(x);
  });
  figure("forward (no tape)", fwd, std::nullopt);

  // Forward with the tape, then the reverse sweep.
  Tensor g;
  Stats both = time_repeats(d, warm, reps, [&] {
    g = value_and_grad([](const Tensor& t) { return chain(t); }, x).second;
  });
  figure("forward+backward", both, d.is_cpu() ? std::optional<double>(3.0) : std::nullopt);

  // Check the gradient against central differences in f64 on the host.
  Tensor x64 = x.to(Device::cpu()).to(DType::f64);
  auto xs = x64.to_vector<double>();
  auto gv = g.to(Device::cpu()).to_vector<double>();
  double worst = 0;
  for (int i : {0, 7, 15}) {
    auto eval = [&](double delta) {
      auto v = xs;
      v[i] += delta;
      NoGrad ng;
      return chain(from_vector(v, {16})).item<double>();
    };
    double num = (eval(1e-6) - eval(-1e-6)) / 2e-6;
    worst = std::max(worst, std::fabs(num - gv[i]) / (1e-3 * std::fabs(num) + 1e-5));
  }
  if (worst > 1) out.error("autograd", "forward+backward", fmt::format("gradient off by {:.2g}x tolerance", worst));
}

}  // namespace axon::bench
