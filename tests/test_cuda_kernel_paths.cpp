// CUDA launch paths that only large or particular shapes reach, each against the CPU (and the CPU
// in f64 where the GPU accumulates in f32): 1024-thread f64 row kernels, softmax rows held in
// registers, column reductions and cumsums split across the GPU, the device 16-bit conversions and
// the 32-bit index arithmetic. All tagged [cuda]: they skip, saying so, without a GPU.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {
const Device kGpu = Device::cuda(0);

// A GPU result (f32, bf16) against an f64 CPU reference of the same values.
void check_near_f64(const Tensor& gpu, const Tensor& ref64, test::Tol tol) {
  check_close(gpu.to(Device::cpu()), ref64.to_vector<double>(), ref64.shape(), tol);
}

Tensor smax(bool log, const Tensor& x, int64_t axis) { return log ? log_softmax(x, axis) : softmax(x, axis); }
Tensor smax_grad(bool log, const Tensor& x, const Tensor& g, int64_t axis) {
  return vjp([&](const Tensor& t) { return smax(log, t, axis); }, x, g).second;
}
}  // namespace

TEST_CASE("CUDA f64 softmax on rows of 16384 and 65536 (1024-thread blocks)", "[ops][softmax][cuda]") {
  AXON_REQUIRE_CUDA();
  for (int64_t n : {int64_t(16384), int64_t(65536), int64_t(16383), int64_t(65537)}) {
    Tensor x = random_tensor({3, n}, DType::f64, -8, 8, 61);
    Tensor g = random_tensor({3, n}, DType::f64, -1, 1, 62);
    for (bool log : {false, true}) {
      INFO((log ? "log_softmax" : "softmax") << " n " << n);
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return smax(log, in[0], 1); }, {x},
                             {1e-12, 1e-16});
      check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return smax_grad(log, in[0], in[1], 1); },
                             {x, g}, {1e-11, 1e-16});
    }
  }
}

TEST_CASE("CUDA f64 layer and rms norm on rows of 16384 and 65536, forward and backward",
          "[ops][norm][cuda]") {
  AXON_REQUIRE_CUDA();
  // Aligned even rows take the vector plan (1024 threads, global-memory path for f64); odd rows the
  // register plan (16 values per thread) or the global path.
  for (int64_t n : {int64_t(16384), int64_t(65536), int64_t(16383), int64_t(65537)}) {
    INFO("n " << n);
    Tensor x = random_tensor({3, n}, DType::f64, -2, 3, 63);
    Tensor gamma = random_tensor({n}, DType::f64, 0.5, 1.5, 64);
    Tensor beta = random_tensor({n}, DType::f64, -1, 1, 65);
    Tensor dy = random_tensor({3, n}, DType::f64, -1, 1, 66);
    const test::Tol tol{1e-10, 1e-12};
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return layer_norm_last(in[0], in[1], in[2]); },
                           {x, gamma, beta}, tol);
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return rms_norm_last(in[0], in[1]); }, {x, gamma},
                           tol);
    for (int which = 0; which < 3; ++which) {
      check_cuda_matches_cpu(
          [which](const std::vector<Tensor>& in) {
            auto [y, grads] = vjp(
                [](const std::vector<Tensor>& p) { return layer_norm_last(p[0], p[1], p[2]); },
                std::vector<Tensor>{in[0], in[1], in[2]}, in[3]);
            return grads[which];
          },
          {x, gamma, beta, dy}, tol);
    }
    check_cuda_matches_cpu(
        [](const std::vector<Tensor>& in) {
          return vjp([&](const Tensor& t) { return rms_norm_last(t, in[1]); }, in[0], in[2]).second;
        },
        {x, gamma, dy}, tol);
  }
}

TEST_CASE("CUDA softmax rows up to 1024 held in registers, forward and fused backward, every width",
          "[ops][softmax][cuda]") {
  AXON_REQUIRE_CUDA();
  for (int64_t n : {1, 2, 31, 32, 33, 64, 65, 128, 200, 256, 257, 512, 513, 777, 1023, 1024}) {
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
      for (bool log : {false, true}) {
        INFO((log ? "log_softmax " : "softmax ") << dtype_name(dt) << " n " << n);
        Tensor x = random_tensor({37, n}, dt, -6, 6, 67);
        Tensor g = random_tensor({37, n}, dt, -1, 1, 68);
        test::Tol tol = tol_for(dt);
        if (dt == DType::bf16 || dt == DType::f16) tol = {2e-2, 2e-2};
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return smax(log, in[0], 1); }, {x}, tol);
        check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return smax_grad(log, in[0], in[1], 1); },
                               {x, g}, tol);
      }
    }
  }
  // A row of -inf (0/0: NaN, as on the CPU) and a NaN row in the register path.
  Tensor special = tensor({-INFINITY, -INFINITY, -INFINITY, 1, NAN, 2}, {2, 3});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {special}, {1e-6, 1e-7});
}

TEST_CASE("CUDA column reductions over a long axis split across the GPU", "[ops][reduce][cuda]") {
  AXON_REQUIRE_CUDA();
  // [rows, 64] over axis 0: 2 column blocks without the split. Against the CPU in f64; values in
  // [0, 1) so that a lost or doubled chunk moves the sum far beyond the tolerance.
  for (int64_t rows : {int64_t(200000), int64_t(256) * 56 * 56}) {
    INFO("rows " << rows);
    Tensor x = random_tensor({rows, 64}, DType::f32, 0, 1, 69);
    Tensor x64 = x.to(DType::f64);
    Tensor xg = x.to(kGpu);
    check_near_f64(sum(xg, {0}), sum(x64, {0}), {5e-6, 1e-6});
    check_near_f64(mean(xg, {0}), mean(x64, {0}), {5e-6, 1e-9});
    check_near_f64(max(xg, {0}), max(x64, {0}), {0, 0});
    check_near_f64(min(xg, {0}), min(x64, {0}), {0, 0});
    test::check_equal(argmax(xg, 0).to(Device::cpu()), argmax(x, 0).to_vector<double>(), {64});
    // NHWC batch-norm statistics: mean over N, H, W of [256, 56, 56, 64] is this reduction.
    if (rows == int64_t(256) * 56 * 56) {
      Tensor nhwc = xg.reshape({256, 56, 56, 64});
      check_near_f64(mean(nhwc, {0, 1, 2}), mean(x64, {0}), {5e-6, 1e-9});
    }
  }
  // Odd column counts, several outer slices, 16-bit input, integers, logicals.
  Tensor y = random_tensor({3, 50001, 5}, DType::f32, 0, 1, 70);
  check_near_f64(sum(y.to(kGpu), {1}), sum(y.to(DType::f64), {1}), {5e-6, 1e-6});
  Tensor yb = random_tensor({70000, 33}, DType::bf16, 0, 1, 71);
  check_near_f64(sum(yb.to(kGpu), {0}), sum(yb.to(DType::f64), {0}), {8e-3, 1e-6});  // one bf16 rounding of the result
  Tensor yi = random_tensor({90000, 7}, DType::i32, -50, 50, 72);
  test::check_equal(sum(yi.to(kGpu), {0}).to(Device::cpu()), sum(yi, {0}).to_vector<double>(), {7});
  test::check_equal(argmin(yi.to(kGpu), 0).to(Device::cpu()), argmin(yi, 0).to_vector<double>(), {7});
  Tensor flags = gt(random_tensor({120000, 9}, DType::f32, 0, 1, 73), Scalar(0.99999));
  test::check_equal(cast(any(flags.to(kGpu), {0}), DType::f32).to(Device::cpu()),
                    cast(any(flags, {0}), DType::f32).to_vector<double>(), {9});
  test::check_equal(cast(all(flags.to(kGpu), {0}), DType::f32).to(Device::cpu()),
                    cast(all(flags, {0}), DType::f32).to_vector<double>(), {9});
}

TEST_CASE("CUDA cumsum of one row of 10M f32 uses the whole GPU", "[ops][scan][cuda]") {
  AXON_REQUIRE_CUDA();
  const int64_t n = 10'000'000;
  Tensor x = random_tensor({n}, DType::f32, 0, 1, 74);
  Tensor ref = cumsum(x.to(DType::f64), 0);  // the CPU in f64
  // f32 prefix sums: the tolerance scales with the running sum (a lost or doubled chunk of the
  // ~1000 would be off by 1e-3 of it).
  Tensor got = cumsum(x.to(kGpu), 0);
  check_near_f64(got, ref, {1e-5, 1e-5});
  // The reverse scan (cumsum's gradient) and several long rows.
  Tensor g = vjp([](const Tensor& t) { return cumsum(t, 0); }, x.to(kGpu), x.to(kGpu)).second;
  Tensor gref = vjp([](const Tensor& t) { return cumsum(t, 0); }, x.to(DType::f64), x.to(DType::f64)).second;
  check_near_f64(g, gref, {1e-5, 1e-5});
  Tensor rows = random_tensor({3, 3'000'001}, DType::f32, 0, 1, 75);
  check_near_f64(cumsum(rows.to(kGpu), 1), cumsum(rows.to(DType::f64), 1), {1e-5, 1e-5});
  // Integers accumulate in i64: exact.
  Tensor xi = random_tensor({5'000'000}, DType::i32, -100, 100, 76);
  check_close(cumsum(xi.to(kGpu), 0).to(Device::cpu()), cumsum(xi, 0), {0, 0});
  Tensor xd = random_tensor({4'000'000}, DType::f64, -1, 1, 77);
  check_close(cumsum(xd.to(kGpu), 0).to(Device::cpu()), cumsum(xd, 0), {1e-9, 1e-9});
}

TEST_CASE("CUDA 16-bit conversions give the host's bits", "[dtype][cuda]") {
  AXON_REQUIRE_CUDA();
  // Random bit patterns (all exponents, subnormals, infinities, NaNs) and the halfway points of
  // f16 and bf16 neighbours, cast on the GPU and on the CPU.
  std::vector<float> v;
  std::mt19937 rng(8);
  for (int i = 0; i < 1'000'000; ++i) {
    uint32_t u = rng();
    float f;
    std::memcpy(&f, &u, 4);
    v.push_back(f);
  }
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    f16 a, b;
    a.bits = uint16_t(h);
    b.bits = uint16_t(h + 1);
    v.push_back((float(a) + float(b)) / 2);  // exact halfway points: ties to even
    v.push_back(-(float(a) + float(b)) / 2);
  }
  for (uint32_t h = 0; h < 0x7f80; ++h) {
    uint32_t u = (h << 16) | 0x8000u;  // halfway between the bf16 patterns h and h + 1
    float f;
    std::memcpy(&f, &u, 4);
    v.push_back(f);
  }
  Tensor x = from_vector(v);
  for (DType dt : {DType::f16, DType::bf16}) {
    INFO(dtype_name(dt));
    Tensor cpu = cast(x, dt);
    Tensor gpu = cast(x.to(kGpu), dt).to(Device::cpu());
    // Bit for bit, NaNs included: compare the 16-bit patterns as integers.
    std::vector<uint16_t> a(v.size()), b(v.size());
    std::memcpy(a.data(), cpu.data_ptr(), 2 * v.size());
    std::memcpy(b.data(), gpu.data_ptr(), 2 * v.size());
    int64_t bad = 0;
    for (size_t i = 0; i < v.size(); ++i) bad += a[i] != b[i];
    CHECK(bad == 0);
    // And back to f32 on the device: exact for every pattern, NaN payloads as on the host.
    Tensor back_cpu = cast(cpu, DType::f32), back_gpu = cast(cpu.to(kGpu), DType::f32).to(Device::cpu());
    CHECK(std::memcmp(back_cpu.data_ptr(), back_gpu.data_ptr(), 4 * v.size()) == 0);
  }
}

TEST_CASE("CUDA strided copies, concat, pad, one_hot and cross-entropy backward with 32-bit index math",
          "[ops][cuda]") {
  AXON_REQUIRE_CUDA();
  Tensor x = random_tensor({37, 41, 43}, DType::f32, -1, 1, 78);
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return contiguous(permute(in[0], {2, 0, 1})); }, {x},
                         {0, 0});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return cast(permute(in[0], {1, 2, 0}), DType::bf16); },
                         {x}, {0, 0});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return concat({in[0], in[0].slice(1, 3, 40)}, 1); }, {x},
                         {0, 0});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return pad(in[0], {{1, 2}, {0, 3}, {5, 0}}, 0.5); }, {x},
                         {0, 0});
  Tensor labels = random_tensor({1000}, DType::i64, 0, 997, 79);
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return one_hot(in[0], 997); }, {labels}, {0, 0});
  Tensor logits = random_tensor({1000, 997}, DType::f32, -4, 4, 80);
  check_cuda_matches_cpu(
      [](const std::vector<Tensor>& in) {
        return grad([&](const Tensor& t) { return sum(sparse_softmax_cross_entropy(t, in[1])); }, in[0]);
      },
      {logits, labels}, {1e-5, 1e-7});
}
