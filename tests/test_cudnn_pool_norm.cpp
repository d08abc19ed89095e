// cuDNN pooling and batch norm (kernels/cudnn/pool.cpp, batch_norm.cpp) against the hand-written
// paths and the CPU, forward and backward, with each path forced in turn; and the fallback contract
// of the front-ends (an undefined result off cuDNN) on the CPU.
#include <functional>
#include <string>

#include <axon/kernels/cudnn_pool_norm.hpp>
#include <axon/layers/normalization.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/norm_ops.hpp>
#include <axon/pool_ops.hpp>

#include "harness.hpp"
#ifdef AXON_HAS_CUDA
#include "../core/src/cuda/backend.hpp"  // the path switch and cuDNN's run counters live in the backend
#endif

using namespace axon;
using axon::test::check_close;
using axon::test::random_tensor;
using kernels::cudnn::Path;

namespace {
const Device kGpu = Device::cuda(0);

#ifdef AXON_HAS_CUDA
bool cudnn_compiled_in() {
  const cuda::Backend* b = cuda::find_backend();
  return b && b->cudnn_available();
}
// Forces the pooling / batch-norm path for one scope.
struct ForcePath {
  explicit ForcePath(Path p) { cuda::backend().cudnn_force_path(p); }
  ~ForcePath() { cuda::backend().cudnn_force_path(Path::automatic); }
};
kernels::cudnn::PoolNormRuns runs() { return cuda::backend().cudnn_pool_norm_runs(); }
#endif

test::Tol tol(DType dt) { return dt == DType::f64 ? test::Tol{1e-10, 1e-12} : test::Tol{2e-4, 2e-5}; }

struct PoolCase {
  Shape x;
  std::vector<int64_t> k, s;
  Padding pad;
};
// Odd and C % 4 == 0 channel counts, 1-D, 2-D and 3-D, valid / symmetric / asymmetric ("same" with an
// even window, which cuDNN cannot take: the direct kernel or composite runs whatever is forced).
const std::vector<PoolCase> kPoolCases = {
    {{2, 7, 6, 3}, {3, 3}, {2, 2}, Padding::valid()},
    {{2, 8, 8, 4}, {3, 3}, {2, 2}, Padding{{1, 1}, {1, 1}}},
    {{1, 9, 7, 16}, {2, 2}, {2, 2}, Padding::same()},
    {{3, 10, 5}, {3}, {1}, Padding{{1, 1}}},
    {{1, 4, 5, 6, 4}, {2, 3, 3}, {1, 2, 2}, Padding{{0, 0}, {1, 1}, {1, 1}}},
    {{2, 6, 6, 7}, {2, 2}, {1, 1}, Padding::same()},
};
}  // namespace

TEST_CASE("cuDNN pooling and batch norm: front-ends fall back (undefined result) off cuDNN", "[cudnn][pool][norm]") {
  // On the CPU (and in builds without cuDNN) the layers run their own code: the contract the layers rely on.
  Tensor x = random_tensor({2, 6, 6, 4}, DType::f32, -1, 1, 1);
  bool reference_ran = false;
  Tensor y = avg_pool_nhwc_cudnn(x, {2, 2}, {2, 2}, {{0, 0}, {0, 0}}, [&] { reference_ran = true; });
  CHECK_FALSE(y.defined());
  CHECK_FALSE(reference_ran);
  auto r = batch_norm_cudnn(x, {}, {}, zeros({4}), ones({4}), true, 0.1, 1e-5, true, [&] { reference_ran = true; });
  CHECK_FALSE(r.output.defined());
  CHECK_FALSE(reference_ran);
  // The layers' results are unchanged by the cuDNN branches: avg pooling still divides by the full
  // window with padding counted.
  Tensor ones4 = ones({1, 2, 2, 1});
  Tensor p = layers::avg_pool(ones4, {.kernel_size = {2, 2}, .strides = {1, 1}, .padding = Padding{{1, 0}, {1, 0}}});
  check_close(p, {0.25, 0.5, 0.5, 1.0}, {1, 2, 2, 1}, {1e-6, 1e-7});
}

TEST_CASE("cuDNN max/avg pooling matches the direct kernel, the composite and the CPU, forward and backward",
          "[cudnn][pool][cuda]") {
  AXON_REQUIRE_CUDA();
#ifdef AXON_HAS_CUDA
  uint64_t seed = 100;
  for (const PoolCase& c : kPoolCases) {
    for (DType dt : {DType::f32, DType::f64}) {
      for (bool avg : {false, true}) {
        layers::PoolOptions o{.kernel_size = c.k, .strides = c.s, .padding = c.pad};
        auto pool = [&](const Tensor& t) { return avg ? layers::avg_pool(t, o) : layers::max_pool(t, o); };
        Tensor x = random_tensor(c.x, dt, -1, 1, ++seed);
        Tensor yc = pool(x);
        Tensor r = random_tensor(yc.shape(), dt, 0.5, 1.5, ++seed);
        Tensor gc = grad([&](const Tensor& t) { return sum(mul(pool(t), r)); }, x);
        for (Path p : {Path::cudnn, Path::kernel}) {
          INFO("x " << to_string(c.x) << " " << dtype_name(dt) << (avg ? " avg" : " max")
                    << (p == Path::cudnn ? " forced cuDNN" : " forced kernel"));
          ForcePath force(p);
          const auto before = runs();
          Tensor xg = x.to(kGpu), rg = r.to(kGpu);
          check_close(pool(xg).to(Device::cpu()), yc, tol(dt));
          Tensor gg = grad([&](const Tensor& t) { return sum(mul(pool(t), rg)); }, xg);
          check_close(gg.to(Device::cpu()), gc, tol(dt));
          const auto after = runs();
          const bool symmetric = c.pad.mode != PaddingMode::same || c.k[0] % 2 == 1;
          if (p == Path::cudnn && cudnn_compiled_in() && symmetric) {
            CHECK(after.pool_forward - before.pool_forward >= 2);
            CHECK(after.pool_backward - before.pool_backward >= 1);
          } else {
            CHECK(after.pool_forward == before.pool_forward);
            CHECK(after.pool_backward == before.pool_backward);
          }
        }
      }
    }
  }
  // Automatic choice: measured once, then the same answer (and the same values) every call.
  Tensor x = random_tensor({4, 16, 16, 8}, DType::f32, -1, 1, 7).to(kGpu);
  layers::PoolOptions o{.kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding{{1, 1}, {1, 1}}};
  Tensor a = layers::max_pool(x, o), b = layers::max_pool(x, o);
  check_close(a.to(Device::cpu()), b.to(Device::cpu()), {0, 0});
#endif
}

TEST_CASE("cuDNN avg pooling gradients of gradients (the adjoint records the pooling)", "[cudnn][pool][cuda]") {
  AXON_REQUIRE_CUDA();
#ifdef AXON_HAS_CUDA
  ForcePath force(Path::cudnn);
  layers::PoolOptions o{.kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding{{1, 1}, {1, 1}}};
  Tensor x = random_tensor({2, 7, 7, 3}, DType::f64, -1, 1, 21);
  Tensor w = random_tensor(layers::avg_pool(x, o).shape(), DType::f64, -1, 1, 22);
  // h(w) = d/dx sum(w * avg_pool(x)) = A^T w; its gradient in w, against sum(h * v), is A v.
  auto hw = [&](const Tensor& wt, const Tensor& xt) {
    return grad([&](const Tensor& t) { return sum(mul(wt, layers::avg_pool(t, o))); }, xt);
  };
  Tensor v = random_tensor(x.shape(), DType::f64, -1, 1, 23);
  Tensor expect = layers::avg_pool(v, o);
  Tensor got = grad([&](const Tensor& wt) { return sum(mul(hw(wt, x.to(kGpu)), v.to(kGpu))); }, w.to(kGpu));
  check_close(got.to(Device::cpu()), expect, tol(DType::f64));
#endif
}

namespace {
// CPU reference: relu(batch norm) through the layer's composite, and its gradients.
struct BnRef {
  Tensor y, rm, rv, dx, dgamma, dbeta;
};
BnRef bn_reference(const Tensor& x, const Tensor& g, const Tensor& b, const Tensor& rm, const Tensor& rv,
                   bool training, bool relu, const Tensor& r) {
  layers::BatchNormOptions o{.momentum = 0.1, .training = training};
  auto f = [&](const std::vector<Tensor>& p) {
    Tensor y = layers::batch_norm(p[0], p[1], p[2], rm, rv, o).output;
    return relu ? axon::relu(y) : y;
  };
  auto full = layers::batch_norm(x, g, b, rm, rv, o);
  auto gr = grad([&](const std::vector<Tensor>& p) { return sum(mul(f(p), r)); }, std::vector<Tensor>{x, g, b});
  return {f({x, g, b}), full.running_mean, full.running_var, gr[0], gr[1], gr[2]};
}
}  // namespace

TEST_CASE("cuDNN batch norm (training with and without fused ReLU, inference) matches the composite and the CPU",
          "[cudnn][norm][cuda]") {
  AXON_REQUIRE_CUDA();
#ifdef AXON_HAS_CUDA
  struct Case {
    Shape x;
    DType dt;
  };
  // Odd C, C % 4 == 0 (cuDNN's persistent NHWC kernels, which fuse the ReLU for 16-bit data), 2-D.
  const std::vector<Case> cases = {{{4, 5, 5, 3}, DType::f32},  {{4, 6, 6, 8}, DType::f32},
                                   {{16, 12}, DType::f64},       {{4, 6, 6, 8}, DType::f16},
                                   {{2, 4, 4, 8}, DType::bf16},  {{3, 5, 5, 7}, DType::f16}};
  uint64_t seed = 300;
  for (const Case& c : cases) {
    const int64_t C = c.x.back();
    const bool half = c.dt == DType::f16 || c.dt == DType::bf16;
    const test::Tol t = half ? test::Tol{3e-2, 3e-2} : tol(c.dt);
    // The reference runs in f64 on the CPU from the same (rounded) inputs.
    Tensor x = random_tensor(c.x, c.dt, -2, 3, ++seed);
    Tensor g = random_tensor({C}, DType::f32, 0.5, 1.5, ++seed), b = random_tensor({C}, DType::f32, -1, 1, ++seed);
    Tensor rm = random_tensor({C}, DType::f32, -0.5, 0.5, ++seed), rv = random_tensor({C}, DType::f32, 0.5, 2, ++seed);
    for (bool training : {true, false}) {
      for (bool relu : {false, true}) {
        Tensor r = random_tensor(c.x, DType::f64, 0.5, 1.5, ++seed);
        BnRef ref = bn_reference(cast(x, DType::f64), cast(g, DType::f64), cast(b, DType::f64), cast(rm, DType::f64),
                                 cast(rv, DType::f64), training, relu, r);
        for (Path p : {Path::cudnn, Path::kernel}) {
          INFO("x " << to_string(c.x) << " " << dtype_name(c.dt) << (training ? " training" : " inference")
                    << (relu ? " relu" : "") << (p == Path::cudnn ? " forced cuDNN" : " forced composite"));
          ForcePath force(p);
          const auto before = runs();
          Tensor xg = x.to(kGpu), gg = g.to(kGpu), bg = b.to(kGpu), rmg = rm.to(kGpu), rvg = rv.to(kGpu);
          Tensor rg = cast(r, c.dt).to(kGpu);
          // batch_norm_cudnn itself (the relu fusion), falling back to the layer as a caller does.
          auto f = [&](const std::vector<Tensor>& q) {
            auto cb = batch_norm_cudnn(q[0], q[1], q[2], rmg, rvg, training, 0.1, 1e-5, relu, [] {});
            if (cb.output.defined()) return cb;
            auto lb = layers::batch_norm(q[0], q[1], q[2], rmg, rvg, {.momentum = 0.1, .training = training});
            return CudnnBatchNorm{relu ? axon::relu(lb.output) : lb.output, lb.running_mean, lb.running_var};
          };
          CudnnBatchNorm out = f({xg, gg, bg});
          check_close(cast(out.output, DType::f64).to(Device::cpu()), ref.y, t);
          check_close(cast(out.running_mean, DType::f64).to(Device::cpu()), ref.rm, t);
          check_close(cast(out.running_var, DType::f64).to(Device::cpu()), ref.rv, t);
          auto gr = grad([&](const std::vector<Tensor>& q) { return sum(mul(f(q).output, rg)); },
                         std::vector<Tensor>{xg, gg, bg});
          check_close(cast(gr[0], DType::f64).to(Device::cpu()), ref.dx, t);
          check_close(cast(gr[1], DType::f64).to(Device::cpu()), ref.dgamma, half ? test::Tol{5e-2, 5e-1} : t);
          check_close(cast(gr[2], DType::f64).to(Device::cpu()), ref.dbeta, half ? test::Tol{5e-2, 5e-1} : t);
          const auto after = runs();
          if (p == Path::kernel || !cudnn_compiled_in()) {
            CHECK(after.bn_training == before.bn_training);
            CHECK(after.bn_inference == before.bn_inference);
          } else if (training && c.dt != DType::bf16) {  // cuDNN may refuse bf16 (then: composite)
            CHECK(after.bn_training - before.bn_training >= 2);
            CHECK(after.bn_backward - before.bn_backward >= 1);
          } else if (!training && c.dt != DType::bf16) {
            CHECK(after.bn_inference - before.bn_inference >= 2);
          }
        }
      }
    }
  }
#endif
}

TEST_CASE("cuDNN batch norm: the layer takes it for channels-last CUDA input, gradients of gradients",
          "[cudnn][norm][cuda]") {
  AXON_REQUIRE_CUDA();
#ifdef AXON_HAS_CUDA
  ForcePath force(Path::cudnn);
  Tensor x = random_tensor({6, 3, 4}, DType::f64, -2, 2, 41);
  Tensor g = random_tensor({4}, DType::f64, 0.5, 1.5, 42), b = random_tensor({4}, DType::f64, -1, 1, 43);
  Tensor rm = zeros({4}, DType::f64), rv = ones({4}, DType::f64);
  const auto before = runs();
  // check_grad compares the CUDA gradients with the CPU's (the layer on CUDA runs cuDNN here).
  test::check_grad(
      [&](const std::vector<Tensor>& in) {
        Tensor rmd = rm.to(in[0].device()), rvd = rv.to(in[0].device());
        return layers::batch_norm(in[0], in[1], in[2], rmd, rvd, {.training = true}).output;
      },
      {x, g, b});
  // Gradient of a gradient on CUDA (the recorded backward is the composite formula) against the CPU.
  auto second = [&](const std::vector<Tensor>& in) {
    Tensor rmd = rm.to(in[0].device()), rvd = rv.to(in[0].device());
    Tensor w = random_tensor({6, 3, 4}, DType::f64, -1, 1, 44, in[0].device());
    return grad([&](const Tensor& t) { return sum(mul(w, layers::batch_norm(t, in[1], in[2], rmd, rvd, {.training = true}).output)); },
                in[0]);
  };
  test::check_cuda_matches_cpu([&](const std::vector<Tensor>& in) {
    return grad([&](const std::vector<Tensor>& q) { return sum(mul(second(q), second(q))); }, in)[0];
  }, {x, g, b}, {1e-8, 1e-10});
  if (cudnn_compiled_in()) CHECK(runs().bn_training - before.bn_training >= 1);
#endif
}
