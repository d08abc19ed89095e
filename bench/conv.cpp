// conv: ResNet-style 3x3 convolutions, NHWC with HWIO kernels, stride 1, same padding, forward and
// forward + backward (backward data + backward filter) on a GPU in f32, TF32 and bf16; on the CPU
// the two convolutions of W2's CNN (batch 128) in f32. TFLOP/s count 2 * N*H*W * 9*Cin * Cout per
// direction. Each figure is spot-checked against a float64 dot product at a few output positions.
#include <algorithm>
#include <cmath>

#include "bench.hpp"

namespace axon::bench {

namespace {

struct ConvShape {
  int64_t n, h, w, cin, cout, k;
};

// y[n, i, j, co] in float64 from host copies of x and w (same padding, stride 1).
double reference(const std::vector<double>& x, const std::vector<double>& w, const ConvShape& s,
                 int64_t idx) {
  const int64_t co = idx % s.cout, j = (idx / s.cout) % s.w, i = (idx / (s.cout * s.w)) % s.h,
                n = idx / (s.cout * s.w * s.h);
  const int64_t lo = (s.k - 1) / 2;
  double acc = 0;
  for (int64_t a = 0; a < s.k; ++a)
    for (int64_t b = 0; b < s.k; ++b) {
      const int64_t pi = i + a - lo, pj = j + b - lo;
      if (pi < 0 || pi >= s.h || pj < 0 || pj >= s.w) continue;
      for (int64_t c = 0; c < s.cin; ++c)
        acc += x[static_cast<size_t>(((n * s.h + pi) * s.w + pj) * s.cin + c)] *
               w[static_cast<size_t>(((a * s.k + b) * s.cin + c) * s.cout + co)];
    }
  return acc;
}

}  // namespace

void run_conv(const Options& opt, Reporter& out) {
  const bool gpu = opt.device.is_cuda();
  const int warmup = opt.warmup_or(gpu ? 3 : 1);
  const int repeats = opt.repeats_or(gpu ? 20 : 5);
  const int64_t batch = opt.size > 0 ? opt.size : (gpu ? 32 : 128);
  std::vector<ConvShape> shapes;
  if (gpu)
    shapes = {{batch, 56, 56, 64, 64, 3},
              {batch, 28, 28, 128, 128, 3},
              {batch, 14, 14, 256, 256, 3},
              {batch, 7, 7, 512, 512, 3}};
  else
    shapes = {{batch, 28, 28, 1, 32, 3}, {batch, 14, 14, 32, 64, 3}};
  struct Mode {
    const char* name;
    DType dt;
    bool tf32;
  };
  std::vector<Mode> modes = {{"f32", DType::f32, false}};
  if (gpu) {
    modes.push_back({"tf32", DType::f32, true});
    modes.push_back({"bf16", DType::bf16, false});
  }
  const bool tf32_before = allow_tf32();
  for (const ConvShape& s : shapes) {
    for (const Mode& m : modes) {
      for (bool backward : {false, true}) {
        Figure f;
        f.workload = "conv";
        f.op = std::string("conv3x3 ") + (backward ? "fwd+bwd" : "fwd");
        f.dtype = m.name;
        f.shape = fmt::format("N{} {}x{} {}->{}", s.n, s.h, s.w, s.cin, s.cout);
        f.n = s.n * s.h * s.w * s.cout;
        try {
          set_allow_tf32(m.tf32);
          Generator gen(11);
          Tensor x = uniform({s.n, s.h, s.w, s.cin}, -1, 1, gen, m.dt, opt.device);
          Tensor w = uniform({s.k, s.k, s.cin, s.cout}, -1, 1, gen, m.dt, opt.device);
          Tensor dy = uniform({s.n, s.h, s.w, s.cout}, -1, 1, gen, m.dt, opt.device);
          ConvOptions o{.padding = Padding::same()};
          Tensor y = conv(x, w, o);
          const auto xv = x.to(Device::cpu()).to_vector<double>(),
                     wv = w.to(Device::cpu()).to_vector<double>();
          const double tol = m.dt == DType::bf16 ? 2e-2 : m.tf32 ? 5e-3 : 1e-5;
          double worst = 0;
          for (int64_t i : {int64_t(0), f.n / 3, f.n / 2, f.n - 1}) {
            const double want = reference(xv, wv, s, i), got = element(y, i);
            worst =
                std::max(worst, std::fabs(got - want) / (tol * (std::fabs(want) + std::sqrt(9.0 * s.cin))));
          }
          f.ok = worst <= 1;
          f.check = fmt::format("spot err {:.2g} of tolerance", worst);
          auto fn = backward ? std::function<void()>([&] {
            Tensor a = conv(x, w, o);
            Tensor b = conv_backward_data(dy, w, x.shape(), o);
            Tensor c = conv_backward_filter(x, dy, w.shape(), o);
          })
                             : std::function<void()>([&] { Tensor a = conv(x, w, o); });
          f.t = time_repeats(opt.device, warmup, repeats, fn);
          const double flop = 2.0 * double(s.n * s.h * s.w) * double(s.k * s.k * s.cin) * double(s.cout);
          f.value = (backward ? 3 : 1) * flop / (f.t.median_ms * 1e-3) / 1e12;
          f.unit = "TFLOP/s";
          out.figure(f);
        } catch (const std::exception& e) {
          out.error("conv", f.op + " " + f.shape + " " + m.name, e.what());
        }
      }
    }
  }
  set_allow_tf32(tf32_before);
}

}  // namespace axon::bench
