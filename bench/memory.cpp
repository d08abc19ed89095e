// memory: the fused activation kernels' bandwidth (softplus, log_sigmoid, silu, mish, elu, selu, gelu,
// hard_silu, leaky_relu), forward (read x, write y: 2 streams) and
// forward + backward through a vector-Jacobian product (forward 2 streams, backward reads x and dy and
// writes dx: 3 more), on n f32 elements. Target on the H100: >= 2700 GB/s (PyTorch's gelu: 2938).
#include <cmath>

#include <axon/activations.hpp>

#include "bench.hpp"

namespace axon::bench {

void run_memory(const Options& opt, Reporter& out) {
  const bool gpu = opt.device.is_cuda();
  const int64_t n = opt.size > 0 ? opt.size : (gpu ? int64_t(1) << 28 : int64_t(1) << 22);
  const int warmup = opt.warmup_or(gpu ? 3 : 1);
  const int repeats = opt.repeats_or(gpu ? 20 : 5);
  namespace A = axon::activations;
  struct Act {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    double (*ref)(double);
  };
  const std::vector<Act> acts = {
      {"softplus", [](const Tensor& x) { return A::softplus(x); },
       [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }},
      {"log_sigmoid", [](const Tensor& x) { return A::log_sigmoid(x); },
       [](double x) { return std::min(x, 0.0) - std::log1p(std::exp(-std::fabs(x))); }},
      {"silu", [](const Tensor& x) { return A::silu(x); }, [](double x) { return x / (1 + std::exp(-x)); }},
      {"mish", [](const Tensor& x) { return A::mish(x); },
       [](double x) { return x * std::tanh(std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)))); }},
      {"elu", [](const Tensor& x) { return A::elu(x); }, [](double x) { return x > 0 ? x : std::expm1(x); }},
      {"selu", [](const Tensor& x) { return A::selu(x); },
       [](double x) { return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * std::expm1(x)); }},
      {"gelu", [](const Tensor& x) { return A::gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"hard_silu", [](const Tensor& x) { return A::hard_silu(x); },
       [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; }},
      {"leaky_relu", [](const Tensor& x) { return A::leaky_relu(x); }, [](double x) { return x > 0 ? x : 0.01 * x; }},
  };
  try {
    Generator gen(5);
    Tensor x = randn({n}, gen, DType::f32, opt.device);
    Tensor dy = randn({n}, gen, DType::f32, opt.device);
    const double b4 = 4.0 * double(n);
    for (const Act& a : acts) {
      for (bool backward : {false, true}) {
        Figure f;
        f.workload = "memory";
        f.op = std::string(a.name) + (backward ? " fwd+bwd" : " fwd");
        f.dtype = "f32";
        f.n = n;
        f.shape = fmt::format("{}", n);
        try {
          Tensor y = a.f(x);
          double worst = 0;
          for (int64_t i : {int64_t(0), n / 3, n / 2, n - 1}) {
            double want = a.ref(element(x, i)), got = element(y, i);
            worst = std::max(worst, std::fabs(got - want) / (1e-5 * std::fabs(want) + 1e-6));
          }
          f.ok = worst <= 1;
          f.check = fmt::format("spot err {:.2g} of tolerance", worst);
          auto fn = backward ? std::function<void()>([&] { auto r = vjp(a.f, x, dy); })
                             : std::function<void()>([&] { Tensor c = a.f(x); });
          f.t = time_repeats(opt.device, warmup, repeats, fn);
          f.value = (backward ? 5 : 2) * b4 / (f.t.median_ms * 1e-3) / 1e9;
          f.unit = "GB/s";
          if (a.name == std::string("gelu") && gpu && n == (int64_t(1) << 28) && !backward) f.peer = 2938;
          out.figure(f);
        } catch (const std::exception& e) {
          out.error("memory", f.op, e.what());
        }
      }
    }
  } catch (const std::exception& e) {
    out.error("memory", "setup", e.what());
  }
}

}  // namespace axon::bench
