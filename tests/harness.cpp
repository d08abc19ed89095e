#include "harness.hpp"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

namespace axon::test {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("axon_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string fresh_dir(const std::string& name) {
  std::string dir = temp_path(name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::string empty_dir(const std::string& name) {
  std::string dir = fresh_dir(name);
  std::filesystem::create_directories(dir);
  return dir;
}

bool has_cuda() { return cuda_available(); }

std::vector<Device> devices() {
  std::vector<Device> d{Device::cpu()};
  if (has_cuda()) d.push_back(Device::cuda(0));
  return d;
}

Tol tol_for(DType dt) {
  switch (dt) {
    case DType::f64: return {1e-10, 1e-12};
    case DType::f32: return {2e-5, 1e-6};
    case DType::bf16: return {1.6e-2, 1e-3};
    case DType::f16: return {2e-3, 1e-4};
    default: return {0, 0};
  }
}

static void compare(const std::vector<double>& a, const std::vector<double>& e, Tol tol, const std::string& what) {
  REQUIRE(a.size() == e.size());
  int bad = 0;
  std::ostringstream msg;
  for (size_t i = 0; i < a.size(); ++i) {
    bool ok;
    if (std::isnan(e[i])) {
      ok = std::isnan(a[i]);
    } else if (std::isinf(e[i])) {
      ok = a[i] == e[i];
    } else {
      ok = std::fabs(a[i] - e[i]) <= tol.atol + tol.rtol * std::fabs(e[i]);
    }
    if (!ok && bad++ < 5) msg << "  [" << i << "] got " << a[i] << " expected " << e[i] << "\n";
  }
  INFO(what << ": " << bad << " of " << a.size() << " elements differ (rtol " << tol.rtol << ", atol " << tol.atol
            << ")\n" << msg.str());
  CHECK(bad == 0);
}

void check_close(const Tensor& actual, const std::vector<double>& expected, const Shape& shape, Tol tol) {
  INFO("shape " << to_string(actual.shape()) << " vs expected " << to_string(shape));
  REQUIRE(actual.shape() == shape);
  compare(actual.to_vector<double>(), expected, tol, describe(actual));
}

void check_close(const Tensor& actual, const Tensor& expected, Tol tol) {
  INFO("shape " << to_string(actual.shape()) << " vs expected " << to_string(expected.shape()));
  REQUIRE(actual.shape() == expected.shape());
  INFO("dtype " << dtype_name(actual.dtype()) << " vs expected " << dtype_name(expected.dtype()));
  CHECK(actual.dtype() == expected.dtype());
  compare(actual.to_vector<double>(), expected.to_vector<double>(), tol, describe(actual));
}

void check_equal(const Tensor& actual, const std::vector<double>& expected, const Shape& shape) {
  check_close(actual, expected, shape, Tol{0, 0});
}

std::vector<double> random_values(int64_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

Tensor random_tensor(const Shape& shape, DType dt, double lo, double hi, uint64_t seed, Device device) {
  auto v = random_values(numel(shape), lo, hi, seed);
  if (is_integral(dt, true))
    for (auto& x : v) x = std::floor(x);
  return from_vector(v, shape).to(dt).to(device);
}

void check_cuda_matches_cpu(const std::function<Tensor(const std::vector<Tensor>&)>& op,
                            const std::vector<Tensor>& cpu_inputs, Tol tol) {
  if (!has_cuda()) return;
  Tensor expected = op(cpu_inputs);
  std::vector<Tensor> gpu;
  for (const auto& t : cpu_inputs) gpu.push_back(t.defined() ? t.to(Device::cuda(0)) : t);
  Tensor got = op(gpu);
  INFO("CUDA against CPU");
  REQUIRE(got.device() == Device::cuda(0));
  check_close(got.to(Device::cpu()), expected, tol);
}

namespace {
// sum(f(xs) * w) with a fixed weighting, so every output element matters.
Tensor weighted(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& xs,
                Tensor& w) {
  Tensor y = f(xs);
  if (!w.defined()) {
    auto v = random_values(y.numel(), 0.5, 1.5, 99);
    w = from_vector(v, y.shape()).to(y.dtype());
  }
  return sum(mul(y, w.to(y.device()).to(y.dtype())));
}
}  // namespace

void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                double h, Tol tol) {
  std::vector<Tensor> xs;
  std::vector<size_t> float_idx;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (t.defined() && is_floating(t.dtype())) {
      xs.push_back(t.to(Device::cpu()).to(DType::f64).contiguous());
      float_idx.push_back(i);
    } else {
      xs.push_back(t.defined() ? t.to(Device::cpu()) : t);
    }
  }
  Tensor w;
  std::vector<Tensor> params;
  for (size_t i : float_idx) params.push_back(xs[i]);
  auto fp = [&](const std::vector<Tensor>& ps) {
    std::vector<Tensor> all = xs;
    for (size_t k = 0; k < float_idx.size(); ++k) all[float_idx[k]] = ps[k];
    return weighted(f, all, w);
  };
  auto [value, grads] = autograd::value_and_grad_flat(fp, params);
  REQUIRE(grads.size() == params.size());
  for (size_t k = 0; k < params.size(); ++k) {
    INFO("gradient of input " << float_idx[k] << " (" << describe(params[k]) << ")");
    REQUIRE(grads[k].shape() == params[k].shape());
    // Central differences, perturbing one element at a time of a copy.
    std::vector<double> base = params[k].to_vector<double>();
    std::vector<double> numeric(base.size());
    for (size_t e = 0; e < base.size(); ++e) {
      auto eval = [&](double delta) {
        std::vector<double> v = base;
        v[e] += delta;
        std::vector<Tensor> ps = params;
        ps[k] = from_vector(v, params[k].shape());
        NoGrad ng;
        return fp(ps).item<double>();
      };
      numeric[e] = (eval(h) - eval(-h)) / (2 * h);
    }
    compare(grads[k].to_vector<double>(), numeric, tol, "autograd vs finite differences");
  }
  if (!has_cuda()) return;
  // CUDA gradients (f32) against CPU gradients (f32).
  auto grads_on = [&](Device d) {
    std::vector<Tensor> ps;
    for (const auto& p : params) ps.push_back(p.to(DType::f32).to(d));
    std::vector<Tensor> others = xs;
    for (auto& t : others)
      if (t.defined()) t = t.to(d);
    Tensor wd;
    auto fd = [&](const std::vector<Tensor>& q) {
      std::vector<Tensor> all = others;
      for (size_t k = 0; k < float_idx.size(); ++k) all[float_idx[k]] = q[k];
      return weighted(f, all, wd);
    };
    return autograd::value_and_grad_flat(fd, ps).second;
  };
  auto gc = grads_on(Device::cpu());
  auto gg = grads_on(Device::cuda(0));
  for (size_t k = 0; k < gc.size(); ++k) {
    INFO("CUDA gradient of input " << float_idx[k] << " against CPU");
    check_close(gg[k].to(Device::cpu()), gc[k], Tol{1e-4, 1e-5});
  }
}

void check_predict_from_threads(const Model& model, const Params& params, const std::vector<Tensor>& inputs,
                                int calls, Tol tol) {
  const size_t n = inputs.size();
  std::vector<Tensor> refs(n), got(n);
  for (size_t t = 0; t < n; ++t) refs[t] = apply(model, params, inputs[t]).output;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < calls; ++k) got[t] = predict(model, params, inputs[t]);
    });
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < n; ++t) check_close(got[t], refs[t], tol);
}

}  // namespace axon::test
