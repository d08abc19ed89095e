// The CPU dense layer's two f32 paths (issue 17; kernels/cpu/dense_select.cpp): GEMM + the epilogue
// pass and the one-pass kernel (kernels/cpu/gemm_dense.cpp), each forced and left to the automatic
// choice, against float64 loops on shapes that reach every tile (6-row blocks and their remainders,
// 16- and 8-column strips and the columns beyond), with every activation, with and without bias;
// predict's plans on each path against apply() (in-place weight changes read, results kept apart);
// and the dense epilogues' rational tanh against double tanh.
#include <bit>
#include <cmath>
#include <limits>

#include <axon/axon.hpp>
#include <axon/cpu_gemm.hpp>
#include <axon/out.hpp>

#include "../kernels/cpu/tanh_avx2.hpp"
#include "../kernels/cpu/vmath.hpp"
#include "harness.hpp"

using namespace axon;
using test::DensePathScope;
using test::random_tensor;

namespace {

// |y - tanh(x)| in units of the last place of tanh(x) rounded to f32.
double ulps_from_tanh(float x, float y) {
  const double ref = std::tanh(double(x));
  const float rf = static_cast<float>(ref);
  const double ulp = std::fabs(double(std::nextafter(rf, 2.0f)) - double(rf));
  return std::fabs(double(y) - ref) / (ulp > 0 ? ulp : std::numeric_limits<float>::denorm_min());
}

double act_ref(FusedActivation a, double z) {
  switch (a) {
    case FusedActivation::relu: return z > 0 ? z : 0;
    case FusedActivation::tanh: return std::tanh(z);
    case FusedActivation::sigmoid: return 1 / (1 + std::exp(-z));
    default: return z;
  }
}

Model surrogate() {
  return input("state", {-1, 64}) | dense(256, {.activation = "tanh"}) | dense(256, {.activation = "tanh"}) |
         dense(256, {.activation = "tanh"}) | dense(8);
}

const test::Tol kRel{1e-5, 1e-6};
const test::Tol kExact{0, 0};

}  // namespace

TEST_CASE("dense layers on each CPU path against float64 loops", "[fused_dense][dense_path]") {
  struct Shape3 {
    int64_t m, k, n;
  };
  // n = 29: a 16- and an 8-column strip and 5 columns; m = 7, 11: a 6-row block and 1 or 5 rows;
  // m = 23, 260: the few-row kernel reading w in place and the one copying strips into a panel; k = 0;
  // m = 7, 14: the last 7 or 8 rows as 4 + 3 and 4 + 4 row tiles.
  const Shape3 shapes[] = {{1, 5, 3},     {3, 0, 5},      {7, 13, 29},   {11, 64, 40},
                           {14, 33, 48},  {16, 256, 256}, {23, 40, 130}, {260, 64, 24}};
  const FusedActivation acts[] = {FusedActivation::none, FusedActivation::relu, FusedActivation::tanh,
                                  FusedActivation::sigmoid};
  // Each path with its AVX2 code and with the baseline code of CPUs without AVX2.
  for (bool avx2 : {true, false})
  for (CpuDensePath path : {CpuDensePath::gemm, CpuDensePath::fused, CpuDensePath::automatic}) {
    test::Avx2KernelsScope isa(avx2);
    DensePathScope scope(path);
    for (const Shape3& s : shapes)
      for (FusedActivation a : acts)
        for (bool bias : {true, false}) {
          const Tensor x = random_tensor({s.m, s.k}, DType::f32, -1, 1, 1);
          const Tensor w = random_tensor({s.k, s.n}, DType::f32, -0.3, 0.3, 2);
          const Tensor b = bias ? random_tensor({s.n}, DType::f32, -1, 1, 3) : Tensor();
          const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
          const auto bv = bias ? b.to_vector<double>() : std::vector<double>(size_t(s.n), 0.0);
          // The reference and each element's bound: 1e-5 relative, plus f32's rounding of the sum
          // (2^-24 per term and add, of the sum of the terms' magnitudes; the activations' slopes are <= 1).
          std::vector<double> ref(size_t(s.m * s.n)), bound(ref.size());
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = 0; j < s.n; ++j) {
              double acc = bv[size_t(j)], mag = std::fabs(acc);
              for (int64_t p = 0; p < s.k; ++p) {
                const double t = xv[size_t(i * s.k + p)] * wv[size_t(p * s.n + j)];
                acc += t, mag += std::fabs(t);
              }
              const size_t e = size_t(i * s.n + j);
              ref[e] = act_ref(a, acc);
              bound[e] = 1e-5 * std::fabs(ref[e]) + 2 * double(s.k + 1) * 0x1p-24 * mag + 1e-7;
            }
          auto check = [&](const Tensor& got) {
            REQUIRE(got.shape() == Shape{s.m, s.n});
            const auto g = got.to_vector<double>();
            size_t bad = 0;
            for (size_t e = 0; e < g.size(); ++e) bad += std::fabs(g[e] - ref[e]) <= bound[e] ? 0 : 1;
            CHECK(bad == 0);
          };
          INFO("avx2 " << avx2 << " path " << int(path) << " m " << s.m << " k " << s.k << " n " << s.n << " act " << int(a) << " bias "
                       << bias);
          const CpuDenseRuns before = cpu_dense_runs();
          check(fused_dense(x, w, b, a));
          Tensor out = full({s.m, s.n}, Scalar(7.0));
          fused_dense_out(out, x, w, b, a);
          check(out);
          const CpuDenseRuns after = cpu_dense_runs();
          const int64_t runs = s.k > 0 ? 2 : 0;  // k = 0 runs neither: y = act(b)
          if (path == CpuDensePath::gemm) CHECK(after.gemm == before.gemm + runs);
          if (path == CpuDensePath::fused) CHECK(after.fused == before.fused + runs);
          CHECK(after.gemm + after.fused == before.gemm + before.fused + runs);
        }
  }
}

TEST_CASE("predict on each CPU dense path: apply's values, weights changed in place, results kept apart",
          "[model][predict][dense_path]") {
  const Model m = surrogate();
  Params p = init(m, {.seed = 3});
  for (int64_t rows : {1, 16, 256}) {
    const Tensor x = random_tensor({rows, 64}, DType::f32, -2, 2, uint64_t(rows));
    Tensor reference;
    {
      DensePathScope scope(CpuDensePath::gemm);
      reference = apply(m, p, x).output;
    }
    for (CpuDensePath path : {CpuDensePath::gemm, CpuDensePath::fused, CpuDensePath::automatic}) {
      DensePathScope scope(path);
      INFO("rows " << rows << " path " << int(path));
      Tensor out = empty({rows, 8});
      predict(m, p, x, {.out = out});
      // The same path unplanned gives the same bits; the other path agrees to rounding.
      test::check_close(out, apply(m, p, x).output, kExact);
      test::check_close(out, reference, kRel);
      // The same values in a non-contiguous input of the same shape: the plan's dense step then goes
      // through fused_dense_out, whose GEMM reads the transposed layout (a library's summation order).
      if (rows > 1) test::check_close(predict(m, p, contiguous(x.t()).t()), out, kRel);
      // Two results kept by the caller do not share memory.
      const Tensor y1 = predict(m, p, x), y2 = predict(m, p, x);
      CHECK(y1.impl().storage != y2.impl().storage);
      CHECK(y1.impl().storage != out.impl().storage);
      // A weight changed in place (no new tensor, so the same plan): read on the next call.
      const Tensor saved = p["dense_1"]["kernel"].clone();
      copy_into(p["dense_1"]["kernel"], mul(saved, 1.5));
      const Tensor changed = predict(m, p, x);
      test::check_close(changed, apply(m, p, x).output, kExact);
      CHECK(max(abs(sub(changed, y1))).item<float>() > 1e-3f);
      copy_into(p["dense_1"]["kernel"], saved);
      test::check_close(predict(m, p, x), y1, kExact);
    }
  }
}

TEST_CASE("the dense epilogues' rational tanh is within 6 ulp of tanh", "[vmath][dense_path]") {
  namespace vm = axon::kernels::cpu::vm;
  double worst = 0;
  float worst_at = 0;
  int beyond_one = 0;
  // Every 61st float from 0 to 12 (beyond the clamp at 9), both signs.
  const uint32_t last = std::bit_cast<uint32_t>(12.0f);
  for (uint32_t u = 0; u <= last; u += 61) {
    const float x = std::bit_cast<float>(u);
    for (float v : {x, -x}) {
      const float y = vm::tanh_rational(v);
      const double err = ulps_from_tanh(v, y);
      if (err > worst) worst = err, worst_at = v;
      beyond_one += std::fabs(y) > 1.0f ? 1 : 0;
    }
  }
  INFO("worst " << worst << " ulp at " << worst_at);
  CHECK(worst <= 6.0);
  CHECK(beyond_one == 0);
  CHECK(std::signbit(vm::tanh_rational(-0.0f)));
  CHECK(vm::tanh_rational(0.0f) == 0.0f);
  CHECK(vm::tanh_rational(std::numeric_limits<float>::infinity()) == 1.0f);
  CHECK(vm::tanh_rational(-std::numeric_limits<float>::infinity()) == -1.0f);
  CHECK(std::isnan(vm::tanh_rational(std::numeric_limits<float>::quiet_NaN())));
  CHECK(vm::tanh_rational(1e-30f) == 1e-30f);
}

#if defined(__x86_64__) && defined(__GNUC__)
namespace {
// Eight lanes through avx2::tanh8 (fast: tanh8_fast), from a function compiled for AVX2 + FMA.
__attribute__((target("avx2,fma"))) void tanh8_lanes(const float* x, float* y, bool fast) {
  const __m256 v = _mm256_loadu_ps(x);
  _mm256_storeu_ps(y, fast ? axon::kernels::cpu::avx2::tanh8_fast(v) : axon::kernels::cpu::avx2::tanh8(v));
}
}  // namespace

TEST_CASE("the AVX2 register tanh is within 6 ulp of tanh, its fast form within 4e-7", "[vmath][dense_path]") {
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) AXON_SKIP("no AVX2 + FMA on this CPU");
  double worst = 0, worst_fast = 0;
  int beyond_one = 0;
  // Every 53rd float from 0 to 12 (beyond the clamp at 9), both signs.
  const uint32_t last = std::bit_cast<uint32_t>(12.0f);
  float x[8], y[8], f[8];
  for (uint32_t u = 0; u <= last; u += 4 * 53) {
    for (int l = 0; l < 4; ++l) {
      x[2 * l] = std::bit_cast<float>(u + uint32_t(53 * l));
      x[2 * l + 1] = -x[2 * l];
    }
    tanh8_lanes(x, y, false);
    tanh8_lanes(x, f, true);
    for (int l = 0; l < 8; ++l) {
      worst = std::max(worst, ulps_from_tanh(x[l], y[l]));
      worst_fast = std::max(worst_fast, std::fabs(double(f[l]) - std::tanh(double(x[l]))));
      beyond_one += std::fabs(y[l]) > 1.0f || std::fabs(f[l]) > 1.0f ? 1 : 0;
    }
  }
  INFO("worst " << worst << " ulp, fast form " << worst_fast);
  CHECK(worst <= 6.0);
  CHECK(worst_fast <= 4e-7);
  CHECK(beyond_one == 0);
  const float inf = std::numeric_limits<float>::infinity();
  const float special[8] = {-0.0f, 0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-30f, -1e-30f, -9.5f};
  for (bool fast : {false, true}) {
    INFO("fast " << fast);
    tanh8_lanes(special, y, fast);
    CHECK(std::signbit(y[0]));
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);
    CHECK(!std::signbit(y[1]));
    // The fast form within 4e-7 of 1 beyond 9, the exact one 1.
    const float tol = fast ? 4e-7f : 0.0f;
    CHECK(std::fabs(y[2] - 1.0f) <= tol);
    CHECK(std::fabs(y[3] + 1.0f) <= tol);
    CHECK(std::isnan(y[4]));
    CHECK(std::fabs(y[5] - 1e-30f) <= 1e-36f);
    CHECK(std::fabs(y[6] + 1e-30f) <= 1e-36f);
    CHECK(std::fabs(y[7] + 1.0f) <= tol);
  }
}
#endif
