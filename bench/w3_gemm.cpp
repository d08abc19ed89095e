// W3: square GEMM, TFLOP/s = 2 n^3 / time, in f32 (TF32 off), TF32, bf16 and f16 on a GPU; f32 and
// f64 on the CPU.
#include <cmath>

#include "bench.hpp"

namespace axon::bench {

namespace {
struct Variant {
  const char* name;
  DType dtype;
  bool tf32;
  double tol;  // |c - ref| / sum_k |a_ik b_kj| allowed
};

// PyTorch 2.11 on an NVIDIA H100 80GB HBM3 (docs/workloads.md): cuBLAS, so also the ceiling.
std::optional<double> torch_h100(const std::string& v, int64_t n) {
  if (n != 4096 && n != 8192) return std::nullopt;
  bool big = n == 8192;
  if (v == "f32") return big ? 51.6 : 51.5;
  if (v == "tf32") return big ? 398 : 369;
  if (v == "bf16") return big ? 755 : 671;
  if (v == "f16") return big ? 713 : 636;
  return std::nullopt;
}

// Spot-checks entries of c = a b against dot products in double on the host.
std::string check_gemm(const Tensor& a, const Tensor& b, const Tensor& c, double tol, bool& ok) {
  const int64_t n = a.size(0);
  const int64_t picks[][2] = {{0, 0}, {n - 1, n - 1}, {n / 3, (2 * n) / 3}, {(7 * n) / 11, n / 5}, {1 % n, n - 1}};
  double worst = 0;
  for (const auto& p : picks) {
    auto row = a.select(0, p[0]).to_vector<double>();
    auto col = b.select(1, p[1]).to_vector<double>();
    double ref = 0, mag = 0;
    for (int64_t k = 0; k < n; ++k) {
      ref += row[k] * col[k];
      mag += std::fabs(row[k] * col[k]);
    }
    double got = element(c, p[0] * n + p[1]);
    double err = std::fabs(got - ref) / (mag > 0 ? mag : 1);
    if (!(err <= worst)) worst = err;  // NaN propagates
  }
  ok = worst <= tol;
  return fmt::format("max rel err {:.2g} (tol {:.0g})", worst, tol);
}
}  // namespace

void run_w3(const Options& opt, Reporter& out) {
  const bool gpu = opt.device.is_cuda();
  std::vector<int64_t> sizes;
  if (opt.size > 0) sizes = {opt.size};
  else if (opt.quick()) sizes = {gpu ? 2048 : 512};
  else sizes = {4096, 8192};
  std::vector<Variant> variants;
  if (gpu)
    variants = {{"f32", DType::f32, false, 1e-4}, {"tf32", DType::f32, true, 5e-3},
                {"bf16", DType::bf16, false, 1e-2}, {"f16", DType::f16, false, 5e-3}};
  else
    variants = {{"f32", DType::f32, false, 1e-4}, {"f64", DType::f64, false, 1e-12}};
  const int warmup = opt.warmup_or(gpu ? 3 : 1);

  for (int64_t n : sizes) {
    for (const auto& v : variants) {
      const std::string what = fmt::format("matmul {} {}x{}", v.name, n, n);
      try {
        Generator gen(3);
        Tensor a = randn({n, n}, gen, v.dtype, opt.device);
        Tensor b = randn({n, n}, gen, v.dtype, opt.device);
        set_allow_tf32(v.tf32);
        Figure f;
        f.workload = "W3";
        f.op = "matmul";
        f.dtype = v.name;
        f.n = n;
        f.shape = fmt::format("{}x{}", n, n);
        f.check = check_gemm(a, b, matmul(a, b), v.tol, f.ok);
        // CPU GEMMs of the big sizes take seconds: fewer repeats there.
        int repeats = opt.repeats_or(gpu ? 20 : (n >= 2048 ? 3 : 10));
        f.t = time_repeats(opt.device, warmup, repeats, [&] { Tensor c = matmul(a, b); });
        set_allow_tf32(false);
        f.value = 2.0 * double(n) * double(n) * double(n) / (f.t.median_ms * 1e-3) / 1e12;
        f.unit = "TFLOP/s";
        if (gpu) {
          f.peer = torch_h100(v.name, n);
          f.ceiling = f.peer;
          f.ceiling_what = "cuBLAS through PyTorch on an H100";
        }
        out.figure(f);
      } catch (const std::exception& e) {
        set_allow_tf32(false);
        out.error("W3", what, e.what());
      }
    }
  }
  if (gpu) out.note("W3 ceiling and PyTorch: cuBLAS through PyTorch 2.11 on an H100 80GB HBM3 (docs/workloads.md)");
}

}  // namespace axon::bench
