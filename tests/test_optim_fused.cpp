// The fused multi-tensor op (CPU implementation of the same kernel) against the composite path,
// its errors, and on CUDA against the CPU.
#include <axon/fused_optim.hpp>
#include <axon/optim.hpp>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {
Params model_params(Device dev, uint64_t seed) {
  Params p;
  p["dense_0"]["kernel"] = test::random_tensor({7, 5}, DType::f32, -1, 1, seed, dev);
  p["dense_0"]["bias"] = test::random_tensor({5}, DType::f32, -1, 1, seed + 1, dev);
  p["dense_1"]["kernel"] = test::random_tensor({5, 3}, DType::f32, -1, 1, seed + 2, dev);
  p["dense_1"]["bias"] = zeros({0}, DType::f32, dev);  // an empty tensor is skipped, not launched
  return p;
}

// Runs `steps` updates of tx from the same start; returns every step's updates and the final state.
std::pair<std::vector<Params>, State> run(const GradientTransformation& tx, Device dev, int steps) {
  Params p = model_params(dev, 1);
  State s = tx.init(p);
  std::vector<Params> us;
  for (int k = 0; k < steps; ++k) {
    auto [u, s2] = tx.update(model_params(dev, 100 + 10 * k), s, p);
    p = apply_updates(p, u);
    us.push_back(u);
    s = s2;
  }
  return {us, s};
}

void compare(const std::pair<std::vector<Params>, State>& a, const std::pair<std::vector<Params>, State>& b,
             test::Tol tol) {
  REQUIRE(a.first.size() == b.first.size());
  for (size_t k = 0; k < a.first.size(); ++k) {
    INFO("step " << k);
    auto va = to_vector(a.first[k]), vb = to_vector(b.first[k]);
    REQUIRE(va.size() == vb.size());
    for (size_t i = 0; i < va.size(); ++i) test::check_close(va[i].to(Device::cpu()), vb[i].to(Device::cpu()), tol);
  }
  REQUIRE(a.second.size() == b.second.size());
  for (const auto& [key, t] : a.second) {
    INFO("state " << key);
    REQUIRE(b.second.count(key) == 1);
    test::check_close(t.to(Device::cpu()), b.second.at(key).to(Device::cpu()), tol);
  }
}
}  // namespace

TEST_CASE("fused adam/adamw match the composite path on CPU", "[optim]") {
  test::Tol tol{2e-5, 1e-7};
  for (double decay : {0.0, 0.1}) {
    INFO("decay " << decay);
    compare(run(adamw(1e-2, {.decay = decay, .fused = Fused::always}), Device::cpu(), 6),
            run(adamw(1e-2, {.decay = decay, .fused = Fused::never}), Device::cpu(), 6), tol);
  }
  compare(run(adam(3e-2, {.b1 = 0.8, .eps_root = 1e-8, .fused = Fused::always}), Device::cpu(), 4),
          run(adam(3e-2, {.b1 = 0.8, .eps_root = 1e-8, .fused = Fused::never}), Device::cpu(), 4), tol);
  auto lr = schedules::cosine_decay(0.05, 5);
  compare(run(adamw(lr, {.decay = 0.01, .fused = Fused::always}), Device::cpu(), 7),
          run(adamw(lr, {.decay = 0.01, .fused = Fused::never}), Device::cpu(), 7), tol);
  // the two paths can continue each other's state
  Params p = model_params(Device::cpu(), 1);
  auto fused = adamw(1e-2, {.decay = 0.1, .fused = Fused::always});
  auto plain = adamw(1e-2, {.decay = 0.1, .fused = Fused::never});
  State s = fused.init(p);
  auto [u1, s1] = fused.update(p, s, p);
  auto [u2, s2] = plain.update(p, s1, p);
  auto [u3, s3] = plain.update(p, s, p);
  auto [u4, s4] = plain.update(p, s3, p);
  for (size_t i = 0; i < to_vector(u2).size(); ++i) test::check_close(to_vector(u2)[i], to_vector(u4)[i], tol);
}

TEST_CASE("fused sgd with momentum matches the composite path on CPU", "[optim]") {
  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    compare(run(sgd(0.1, {.momentum = 0.9, .nesterov = nesterov, .fused = Fused::always}), Device::cpu(), 5),
            run(sgd(0.1, {.momentum = 0.9, .nesterov = nesterov, .fused = Fused::never}), Device::cpu(), 5),
            {1e-6, 1e-7});
  }
}

namespace {
// Every update and state entry of a and b bit for bit (same dtype, same values).
void check_identical(const std::pair<std::vector<Params>, State>& a, const std::pair<std::vector<Params>, State>& b) {
  REQUIRE(a.first.size() == b.first.size());
  for (size_t k = 0; k < a.first.size(); ++k) {
    INFO("step " << k);
    auto va = to_vector(a.first[k]), vb = to_vector(b.first[k]);
    REQUIRE(va.size() == vb.size());
    for (size_t i = 0; i < va.size(); ++i) {
      INFO("tensor " << i);
      CHECK(va[i].dtype() == vb[i].dtype());
      CHECK(va[i].shape() == vb[i].shape());
      CHECK(va[i].to_vector<double>() == vb[i].to_vector<double>());
    }
  }
  REQUIRE(a.second.size() == b.second.size());
  for (const auto& [key, t] : a.second) {
    INFO("state " << key);
    REQUIRE(b.second.count(key) == 1);
    CHECK(t.dtype() == b.second.at(key).dtype());
    CHECK(t.to_vector<double>() == b.second.at(key).to_vector<double>());
  }
}

// `steps` updates from model_params-like tensors in `dt`, one gradient transposed (non-contiguous),
// sizes beyond one part of the CPU kernel's split.
std::pair<std::vector<Params>, State> run_dtype(const GradientTransformation& tx, DType dt, int steps) {
  auto make = [&](uint64_t seed) {
    Params p;
    p["conv"]["kernel"] = test::random_tensor({3, 3, 16, 32}, dt, -1, 1, seed);
    p["dense"]["kernel"] = test::random_tensor({200, 230}, dt, -1, 1, seed + 1);
    p["dense"]["bias"] = test::random_tensor({7}, dt, -1, 1, seed + 2);
    p["empty"]["bias"] = zeros({0}, dt);
    return p;
  };
  Params p = make(1);
  State s = tx.init(p);
  std::vector<Params> us;
  for (int k = 0; k < steps; ++k) {
    Params g = make(100 + 10 * k);
    g["dense"]["kernel"] = test::random_tensor({230, 200}, dt, -1, 1, 500 + k).t();
    auto [u, s2] = tx.update(g, s, p);
    p = apply_updates(p, u);
    us.push_back(u);
    s = s2;
  }
  return {us, s};
}
}  // namespace

TEST_CASE("on the CPU the default (fused) path is the composite path bit for bit, f32 and f64", "[optim]") {
  auto lr = schedules::exponential_decay(0.03, 0.7, 2);
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    check_identical(run_dtype(adam(1e-3), dt, 5), run_dtype(adam(1e-3, {.fused = Fused::never}), dt, 5));
    check_identical(run_dtype(adamw(3e-3, {.b1 = 0.85, .b2 = 0.97, .eps_root = 1e-9, .decay = 0.05}), dt, 5),
                    run_dtype(adamw(3e-3, {.b1 = 0.85, .b2 = 0.97, .eps_root = 1e-9, .decay = 0.05,
                                           .fused = Fused::never}), dt, 5));
    check_identical(run_dtype(adamw(lr, {.decay = 0.01}), dt, 5),
                    run_dtype(adamw(lr, {.decay = 0.01, .fused = Fused::never}), dt, 5));
    for (bool nesterov : {false, true}) {
      check_identical(run_dtype(sgd(0.1, {.momentum = 0.9, .nesterov = nesterov}), dt, 4),
                      run_dtype(sgd(0.1, {.momentum = 0.9, .nesterov = nesterov, .fused = Fused::never}), dt, 4));
      check_identical(run_dtype(sgd(lr, {.momentum = 0.7, .nesterov = nesterov}), dt, 4),
                      run_dtype(sgd(lr, {.momentum = 0.7, .nesterov = nesterov, .fused = Fused::never}), dt, 4));
    }
  }
  // Mixed dtypes (f32 gradients of f64 parameters, whose moments are f64) take the composite path.
  Params p64 = model_params(Device::cpu(), 1);
  for (auto& [l, m] : p64)
    for (auto& [n, t] : m) t = t.to(DType::f64);
  Params g32 = model_params(Device::cpu(), 7);
  auto tx = adamw(1e-2, {.decay = 0.1});
  auto ref = adamw(1e-2, {.decay = 0.1, .fused = Fused::never});
  auto [u, s] = tx.update(g32, tx.init(p64), p64);
  auto [ur, sr] = ref.update(g32, ref.init(p64), p64);
  check_identical({{u}, s}, {{ur}, sr});
  CHECK(s.at("0/mu/dense_0/kernel").dtype() == DType::f64);
}

TEST_CASE("fused op: values against a float64 formula and errors", "[optim][errors]") {
  Tensor g = from_vector(std::vector<float>{0.5f, -1.0f, 2.0f}, {3});
  Tensor p = from_vector(std::vector<float>{1.0f, 2.0f, -3.0f}, {3});
  Tensor m = from_vector(std::vector<float>{0.1f, 0.2f, 0.3f}, {3});
  Tensor v = from_vector(std::vector<float>{0.01f, 0.02f, 0.03f}, {3});
  Tensor count = scalar_tensor(3, DType::i64), sc = scalar_tensor(-0.1, DType::f32);
  auto r = fused_adam_update({g}, {p}, {m}, {v}, count, sc, 0.9, 0.99, 1e-8, 0.0, 0.05);
  std::vector<double> gv{0.5, -1, 2}, pv{1, 2, -3}, mv{0.1, 0.2, 0.3}, vv{0.01, 0.02, 0.03}, eu, em, ev;
  for (int i = 0; i < 3; ++i) {
    double mm = 0.9 * double(float(mv[i])) + 0.1 * gv[i], vn = 0.99 * double(float(vv[i])) + 0.01 * gv[i] * gv[i];
    em.push_back(mm);
    ev.push_back(vn);
    eu.push_back(-0.1 * ((mm / (1 - std::pow(0.9, 4))) / (std::sqrt(vn / (1 - std::pow(0.99, 4))) + 1e-8) + 0.05 * pv[i]));
  }
  test::check_close(r.updates[0], eu, {3}, {1e-5, 1e-7});
  test::check_close(r.mu[0], em, {3}, {1e-6, 1e-8});
  test::check_close(r.nu[0], ev, {3}, {1e-6, 1e-8});
  // a transposed (non-contiguous) gradient is accepted
  Tensor g2 = test::random_tensor({3, 2}, DType::f32, -1, 1, 5).t();
  auto r2 = fused_adam_update({g2}, {zeros({2, 3})}, {zeros({2, 3})}, {zeros({2, 3})}, count, sc, 0.9, 0.99, 1e-8, 0, 0);
  CHECK(r2.updates[0].shape() == Shape{2, 3});

  AXON_REQUIRE_THROWS_WITH(fused_adam_update({g.to(DType::bf16)}, {p}, {m}, {v}, count, sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: gradients[0] must be f32 or f64, got bf16[3] on cpu");
  AXON_REQUIRE_THROWS_WITH(fused_adam_update({g.to(DType::f64)}, {p}, {m}, {v}, count, sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: params[0] must be f64, got f32[3] on cpu");
  AXON_REQUIRE_THROWS_WITH(fused_adam_update({g}, {zeros({4})}, {m}, {v}, count, sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: params[0] is f32[4] on cpu but gradient 0 is f32[3] on cpu");
  AXON_REQUIRE_THROWS_WITH(fused_adam_update({g}, {p}, {m}, {}, count, sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: nu holds 0 tensors but the gradients 1");
  AXON_REQUIRE_THROWS_WITH(fused_adam_update({g}, {p}, {m}, {v}, scalar_tensor(1.0), sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: count must be a 0-d i64 tensor on cpu, got f32[] on cpu");
  AXON_REQUIRE_THROWS_WITH(fused_adam_update({}, {}, {}, {}, count, sc, 0.9, 0.99, 1e-8, 0, 0),
                           "fused_adam_update: no tensors to update");
  AXON_REQUIRE_THROWS_WITH(fused_sgd_momentum_update({g}, {m}, ones({1}), 0.9, false),
                           "fused_sgd_momentum_update: scale must be a 0-d f32 tensor on cpu");
}

TEST_CASE("fused CUDA multi-tensor updates match the CPU", "[optim][cuda]") {
  AXON_REQUIRE_CUDA();
  test::Tol tol{2e-5, 1e-7};
  Device gpu = Device::cuda(0);
  compare(run(adamw(1e-2, {.decay = 0.1}), gpu, 6), run(adamw(1e-2, {.decay = 0.1, .fused = Fused::never}), Device::cpu(), 6), tol);
  compare(run(adam(schedules::linear_decay(1e-2, 2, 10)), gpu, 5),
          run(adam(schedules::linear_decay(1e-2, 2, 10), {.fused = Fused::never}), Device::cpu(), 5), tol);
  compare(run(sgd(0.1, {.momentum = 0.9, .nesterov = true}), gpu, 5),
          run(sgd(0.1, {.momentum = 0.9, .nesterov = true, .fused = Fused::never}), Device::cpu(), 5), tol);
  // more tensors than one launch's slot table (32)
  Params p, g;
  for (int i = 0; i < 70; ++i) {
    p["l" + std::to_string(100 + i)]["w"] = test::random_tensor({i % 7 + 1, 33}, DType::f32, -1, 1, i);
    g["l" + std::to_string(100 + i)]["w"] = test::random_tensor({i % 7 + 1, 33}, DType::f32, -1, 1, 1000 + i);
  }
  auto to_gpu = [&](const Params& x) { return map_params(x, [&](const Tensor& t) { return t.to(gpu); }); };
  auto cpu_tx = adamw(1e-2, {.decay = 0.1, .fused = Fused::always});
  auto gpu_tx = adamw(1e-2, {.decay = 0.1});
  auto [uc, sc] = cpu_tx.update(g, cpu_tx.init(p), p);
  auto [ug, sg] = gpu_tx.update(to_gpu(g), gpu_tx.init(to_gpu(p)), to_gpu(p));
  auto vc = to_vector(uc), vg = to_vector(ug);
  for (size_t i = 0; i < vc.size(); ++i) test::check_close(vg[i].to(Device::cpu()), vc[i], tol);
  CHECK(sg.at("0/count").is_cuda());
}
