// W4: memory-bound kernels on n f32 elements (2^28 by definition): copy, add (3 streams), gelu, sum, and
// softmax and layer norm over the rows of a sqrt(n) x sqrt(n) matrix (16384 x 16384). GB/s counts the
// bytes read and written once, beside the measured device memcpy bandwidth (the ceiling) and PyTorch's
// figures. On the CPU each array is sized to 4x the last-level cache read from the machine: a smaller
// one stays in the cache and its "GB/s" says nothing about memory (2^22 floats in a 32 MB L3 "reached"
// 155-269% of the memcpy ceiling).
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "bench.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <axon/cuda_context.hpp>
#endif

namespace axon::bench {

namespace {
constexpr int64_t kDefinitionN = int64_t(1) << 28;

// PyTorch 2.11 on an NVIDIA H100 80GB HBM3 (docs/workloads.md), at the definition's sizes only.
std::optional<double> torch_h100(const std::string& op) {
  if (op == "copy") return 2961;
  if (op == "add") return 2994;
  if (op == "gelu") return 2938;
  if (op == "sum") return 2904;
  if (op == "softmax") return 2539;
  if (op == "layer_norm") return 1848;
  return std::nullopt;
}

// Bytes of the largest cache cpu0 sees (sysfs: the cache its cores share, which sysconf may overstate
// as the whole package's), 32 MiB when neither says.
int64_t last_level_cache_bytes() {
  int64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    std::ifstream f(fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/size", i));
    int64_t v = 0;
    std::string unit;
    if (!(f >> v)) continue;
    f >> unit;
    v *= unit == "K" ? 1024 : unit == "M" ? 1024 * 1024 : 1;
    best = std::max(best, v);
  }
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (best == 0) best = std::max<int64_t>(sysconf(_SC_LEVEL3_CACHE_SIZE), 0);
#endif
  return best > 0 ? best : int64_t(32) << 20;
}

// f32 elements of one CPU array: the power of two at or above 4x the last-level cache.
int64_t cpu_elements(int64_t llc_bytes) {
  int64_t n = int64_t(1) << 22;
  while (n * 4 < 4 * llc_bytes) n *= 2;
  return n;
}

// Indices spread over [0, n), ends included.
std::vector<int64_t> spots(int64_t n) {
  std::vector<int64_t> s{0, n - 1};
  for (int k = 1; k <= 14; ++k) s.push_back((n / 15) * k + k * 7 % (n / 15 + 1));
  for (auto& i : s) i = std::min(std::max<int64_t>(i, 0), n - 1);
  return s;
}

// Compares f(x_i[, y_i]) with reference r(...) at the spots: |got - want| <= rtol |want| + atol.
template <class Ref>
std::string check_spots(const Tensor& got, const Tensor& x, const Tensor* y, Ref ref, double rtol, double atol,
                        bool& ok) {
  double worst = 0;
  for (int64_t i : spots(x.numel())) {
    double want = ref(element(x, i), y ? element(*y, i) : 0.0);
    double diff = std::fabs(element(got, i) - want), lim = rtol * std::fabs(want) + atol;
    double err = diff == 0 ? 0 : lim > 0 ? diff / lim : INFINITY;  // NaN stays NaN
    if (!(err <= worst)) worst = err;
  }
  ok = worst <= 1;
  return fmt::format("spot err {:.2g} of tolerance", worst);
}

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }

// A plain device-to-device copy of the bytes: what the memory system gives.
void raw_copy(Device d, void* dst, const void* src, size_t bytes) {
#ifdef AXON_HAS_CUDA
  if (d.is_cuda()) {
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, axon::cuda::stream(d.index));
    if (e != cudaSuccess) throw Error(fmt::format("memcpy: {}", cudaGetErrorString(e)));
    return;
  }
#endif
  std::memcpy(dst, src, bytes);
}
}  // namespace

void run_w4(const Options& opt, Reporter& out) {
  const bool gpu = opt.device.is_cuda();
  const int64_t llc = gpu ? 0 : last_level_cache_bytes();
  const int64_t n = opt.size > 0 ? opt.size : !gpu ? cpu_elements(llc) : opt.quick() ? int64_t(1) << 24 : kDefinitionN;
  const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  const int warmup = opt.warmup_or(gpu ? 3 : 1);
  const int repeats = opt.repeats_or(gpu ? 20 : 5);
  const bool definition = n == kDefinitionN && gpu;
  std::optional<double> ceiling;

  auto run = [&](const std::string& op, const Shape& shape, double bytes, const std::function<void()>& fn,
                 const std::function<std::string(bool&)>& check) {
    Figure f;
    f.workload = "W4";
    f.op = op;
    f.dtype = "f32";
    f.n = numel(shape);
    f.shape = shape.size() == 2 ? fmt::format("{}x{}", shape[0], shape[1]) : fmt::format("{}", shape[0]);
    try {
      f.check = check(f.ok);
      f.t = time_repeats(opt.device, warmup, repeats, fn);
      f.value = bytes / (f.t.median_ms * 1e-3) / 1e9;
      f.unit = "GB/s";
      if (op == "memcpy") ceiling = f.value;
      f.ceiling = ceiling;
      f.ceiling_what = "measured device memcpy";
      if (definition) f.peer = torch_h100(op);
      out.figure(f);
    } catch (const std::exception& e) {
      out.error("W4", op + " " + f.shape, e.what());
    }
  };

  try {
    Generator gen(4);
    Tensor x = randn({n}, gen, DType::f32, opt.device);
    Tensor y = randn({n}, gen, DType::f32, opt.device);
    const double b4 = 4.0 * double(n);
    {
      Tensor dst = empty({n}, DType::f32, opt.device);
      run("memcpy", {n}, 2 * b4, [&] { raw_copy(opt.device, dst.data_ptr(), x.data_ptr(), x.nbytes()); },
          [&](bool& ok) {
            raw_copy(opt.device, dst.data_ptr(), x.data_ptr(), x.nbytes());
            return check_spots(dst, x, nullptr, [](double a, double) { return a; }, 0, 0, ok);
          });
    }
    run("copy", {n}, 2 * b4, [&] { Tensor c = x.clone(); },
        [&](bool& ok) { return check_spots(x.clone(), x, nullptr, [](double a, double) { return a; }, 0, 0, ok); });
    run("add", {n}, 3 * b4, [&] { Tensor c = add(x, y); }, [&](bool& ok) {
      return check_spots(add(x, y), x, &y, [](double a, double b) { return double(float(a) + float(b)); }, 0, 0, ok);
    });
    run("gelu", {n}, 2 * b4, [&] { Tensor c = gelu(x); },
        [&](bool& ok) { return check_spots(gelu(x), x, nullptr, [](double a, double) { return gelu_ref(a); }, 1e-5, 1e-6, ok); });
    run("sum", {n}, b4, [&] { Tensor c = sum(x); }, [&](bool& ok) {
      auto host = x.to_vector<float>();
      double ref = 0, mag = 0;
      for (float v : host) {
        ref += v;
        mag += std::fabs(v);
      }
      double got = sum(x).item<float>();
      double err = std::fabs(got - ref) / mag;
      ok = err <= 1e-5;
      return fmt::format("rel err {:.2g} of sum|x| (tol 1e-5)", err);
    });
    // Row softmax of a side x side matrix.
    Tensor z = x.narrow(0, 0, side * side).reshape({side, side});
    run("softmax", {side, side}, 2 * 4.0 * double(side) * double(side), [&] { Tensor c = softmax(z, 1); },
        [&](bool& ok) {
          Tensor s = softmax(z, 1);
          double worst = 0;
          for (int64_t r : {int64_t(0), side / 2, side - 1}) {
            auto in = z.select(0, r).to_vector<double>();
            auto got = s.select(0, r).to_vector<double>();
            double mx = -INFINITY, tot = 0;
            for (double v : in) mx = std::max(mx, v);
            for (double v : in) tot += std::exp(v - mx);
            for (int64_t j = 0; j < side; ++j) {
              double want = std::exp(in[j] - mx) / tot;
              double err = std::fabs(got[j] - want) / (1e-5 * want + 1e-9);
              if (!(err <= worst)) worst = err;
            }
          }
          ok = worst <= 1;
          return fmt::format("row err {:.2g} of tolerance", worst);
        });
    // Row layer norm (gamma, beta of the row's length) of the same matrix: one read, one write.
    Tensor gamma = randn({side}, gen, DType::f32, opt.device), beta = randn({side}, gen, DType::f32, opt.device);
    run("layer_norm", {side, side}, 2 * 4.0 * double(side) * double(side),
        [&] { Tensor c = layer_norm_last(z, gamma, beta); },
        [&](bool& ok) {
          Tensor s = layer_norm_last(z, gamma, beta);
          auto g = gamma.to_vector<double>(), b = beta.to_vector<double>();
          double worst = 0;
          for (int64_t r : {int64_t(0), side / 2, side - 1}) {
            auto in = z.select(0, r).to_vector<double>();
            auto got = s.select(0, r).to_vector<double>();
            double m = 0, v = 0;
            for (double e : in) m += e;
            m /= double(side);
            for (double e : in) v += (e - m) * (e - m);
            double rs = 1 / std::sqrt(v / double(side) + 1e-5);
            for (int64_t j = 0; j < side; ++j) {
              double want = (in[j] - m) * rs * g[j] + b[j];
              double err = std::fabs(got[j] - want) / (1e-4 * std::fabs(want) + 1e-4);
              if (!(err <= worst)) worst = err;
            }
          }
          ok = worst <= 1;
          return fmt::format("row err {:.2g} of tolerance", worst);
        });
  } catch (const std::exception& e) {
    out.error("W4", "inputs", e.what());
  }
  if (!gpu)
    out.note(fmt::format("W4 on the CPU: {} MiB an array against a {} MiB last-level cache{}; ceiling: memcpy of the "
                         "same size in this run",
                         4 * n >> 20, llc >> 20,
                         4 * n < 2 * llc ? " (SMALLER THAN 2x THE CACHE: cache bandwidth, not memory)" : ""));
  else if (!definition)
    out.note("W4 ceiling: device memcpy measured in this run; PyTorch figures exist only for n = 2^28");
}

}  // namespace axon::bench
