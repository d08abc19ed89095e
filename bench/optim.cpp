// optim: one AdamW update (optim::adamw's update: moments and updates for every tensor) over the
// parameters of the W1 MLP (784-128-10, 101,770 parameters) and of a GPT-2-small-shaped set
// (124M parameters, GPU only), fused (one multi-tensor kernel per 32 tensors) and composite (about
// 15 elementwise ops per tensor). GB/s counts the 7 f32 streams of an Adam update (read g, p, m, v;
// write u, m', v') beside the device's measured copy bandwidth.
#include <cmath>

#include <axon/optim.hpp>

#include "bench.hpp"

namespace axon::bench {
namespace {

Params mlp_shapes(Device dev, Generator& gen) {
  Params p;
  p["dense_0"]["kernel"] = randn({784, 128}, gen, DType::f32, dev);
  p["dense_0"]["bias"] = randn({128}, gen, DType::f32, dev);
  p["dense_1"]["kernel"] = randn({128, 10}, gen, DType::f32, dev);
  p["dense_1"]["bias"] = randn({10}, gen, DType::f32, dev);
  return p;
}

// GPT-2 small: 124,439,808 parameters in 148 tensors.
Params gpt2_shapes(Device dev, Generator& gen) {
  Params p;
  const int64_t d = 768;
  p["wte"]["w"] = randn({50257, d}, gen, DType::f32, dev);
  p["wpe"]["w"] = randn({1024, d}, gen, DType::f32, dev);
  for (int l = 0; l < 12; ++l) {
    auto& m = p["h" + std::to_string(100 + l)];
    m["ln_1.g"] = randn({d}, gen, DType::f32, dev);
    m["ln_1.b"] = randn({d}, gen, DType::f32, dev);
    m["attn.w"] = randn({d, 3 * d}, gen, DType::f32, dev);
    m["attn.b"] = randn({3 * d}, gen, DType::f32, dev);
    m["proj.w"] = randn({d, d}, gen, DType::f32, dev);
    m["proj.b"] = randn({d}, gen, DType::f32, dev);
    m["ln_2.g"] = randn({d}, gen, DType::f32, dev);
    m["ln_2.b"] = randn({d}, gen, DType::f32, dev);
    m["fc.w"] = randn({d, 4 * d}, gen, DType::f32, dev);
    m["fc.b"] = randn({4 * d}, gen, DType::f32, dev);
    m["fc_proj.w"] = randn({4 * d, d}, gen, DType::f32, dev);
    m["fc_proj.b"] = randn({d}, gen, DType::f32, dev);
  }
  p["ln_f"]["g"] = randn({d}, gen, DType::f32, dev);
  p["ln_f"]["b"] = randn({d}, gen, DType::f32, dev);
  return p;
}

int64_t count_params(const Params& p) {
  int64_t n = 0;
  for (const auto& [l, m] : p)
    for (const auto& [k, t] : m) n += t.numel();
  return n;
}

}  // namespace

void run_optim(const Options& opt, Reporter& out) {
  const bool gpu = opt.device.is_cuda();
  const int warmup = opt.warmup_or(gpu ? 5 : 2);
  const int repeats = opt.repeats_or(gpu ? 50 : 20);
  std::optional<double> copy_gbs;
  try {
    // The ceiling: a device-to-device copy of 2^26 f32 (read + write).
    Tensor x = zeros({int64_t(1) << (gpu ? 26 : 22)}, DType::f32, opt.device);
    Stats s = time_repeats(opt.device, 2, repeats, [&] { Tensor y = x.clone(); });
    copy_gbs = 2.0 * double(x.nbytes()) / (s.median_ms * 1e-3) / 1e9;
  } catch (const std::exception& e) {
    out.error("optim", "copy ceiling", e.what());
  }
  struct Set {
    const char* name;
    Params (*make)(Device, Generator&);
  };
  std::vector<Set> sets{{"mlp", mlp_shapes}};
  if (gpu) sets.push_back({"gpt2-124M", gpt2_shapes});
  for (const Set& set : sets) {
    for (optim::Fused mode : {optim::Fused::always, optim::Fused::never}) {
      Figure f;
      f.workload = "optim";
      f.op = std::string("adamw ") + (mode == optim::Fused::always ? "fused" : "composite");
      f.dtype = "f32";
      try {
        Generator gen(3);
        Params params = set.make(opt.device, gen);
        Params grads = set.make(opt.device, gen);
        f.n = count_params(params);
        f.shape = fmt::format("{} ({} tensors)", set.name, optim::to_vector(params).size());
        auto tx = optim::adamw(1e-3, {.decay = 0.01, .fused = mode});
        auto ref = optim::adamw(1e-3, {.decay = 0.01, .fused = optim::Fused::never});
        optim::State state = tx.init(params);
        // Check: the first update against the composite path, spot elements of the first tensor.
        Tensor a = optim::to_vector(tx.update(grads, state, params).first)[0];
        Tensor b = optim::to_vector(ref.update(grads, ref.init(params), params).first)[0];
        double worst = 0;
        for (int64_t i : {int64_t(0), a.numel() / 2, a.numel() - 1}) {
          double want = element(b, i), got = element(a, i);
          worst = std::max(worst, std::fabs(got - want) / (1e-5 * std::fabs(want) + 1e-9));
        }
        f.ok = worst <= 1;
        f.check = fmt::format("vs composite: {:.2g} of tolerance", worst);
        f.t = time_repeats(opt.device, warmup, repeats, [&] {
          auto r = tx.update(grads, state, params);
          state = std::move(r.second);
        });
        f.value = 7.0 * 4.0 * double(f.n) / (f.t.median_ms * 1e-3) / 1e9;
        f.unit = "GB/s";
        f.ceiling = copy_gbs;
        f.ceiling_what = "copy";
        out.figure(f);
        out.note(fmt::format("optim {} {}: {:.1f} us per update", set.name, f.op, f.t.median_ms * 1e3));
      } catch (const std::exception& e) {
        out.error("optim", f.op, e.what());
      }
    }
  }
}

}  // namespace axon::bench
