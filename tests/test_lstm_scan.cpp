// The CPU LSTM scan's two paths (kernels/cpu/lstm.cpp): AXON_LSTM=packed (recurrent weights packed
// once into panels, units split over the pool) and AXON_LSTM=blas (OpenBLAS per step), each in f32
// against the f64 op (itself checked against a float64 loop and finite differences in
// test_recurrent.cpp), forward and every gradient, on shapes that reach the packed kernel's edges.
#include <array>
#include <cstdlib>
#include <string>

#include <axon/recurrent_ops.hpp>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::random_tensor;
using axon::test::Tol;

namespace {

// Sets AXON_LSTM for a scope (the op reads it at each call).
struct LstmPath {
  explicit LstmPath(const char* path) { setenv("AXON_LSTM", path, 1); }
  ~LstmPath() { unsetenv("AXON_LSTM"); }
};

struct Run {
  Tensor out;                  // output, c and h flattened
  std::vector<Tensor> grads;   // x, wx, wh, bias, c0, h0
};

Run run(const std::vector<Tensor>& in, const Tensor& weights, bool reverse) {
  auto f = [&](const std::vector<Tensor>& v) {
    LstmSequence r = lstm_sequence(v[0], v[1], v[2], v[3], v[4], v[5], reverse);
    return concat({r.output.flatten(), r.c.flatten(), r.h.flatten()}, 0);
  };
  auto [value, grads] = autograd::value_and_grad_flat(
      [&](const std::vector<Tensor>& v) { return sum(mul(f(v), weights.to(v[0].dtype()))); }, in);
  (void)value;
  return {f(in), grads};
}

}  // namespace

TEST_CASE("lstm scan paths: packed and blas f32 equal the f64 op, forward and gradients", "[recurrent][fused][lstm_scan]") {
  // {B, T, in, U}: U 6 one partial panel; U 200 several panels split over the threads and a partial
  // last one; U 70: backward's K = 4U = 280 crosses a 256-row block of the packed operand; U 300:
  // forward's K crosses it too; B 13 and 7: row tiles of 6 with remainders; T 1: the first step is
  // the last (with B 1 too: the weight gradient's shifted GEMM is empty).
  // B 17: the rows scan's two parts of 8 and 9 rows.
  for (auto [B, T, F, U] : {std::array<int64_t, 4>{3, 5, 4, 6}, std::array<int64_t, 4>{20, 4, 8, 200},
                            std::array<int64_t, 4>{17, 3, 6, 40},
                            std::array<int64_t, 4>{13, 3, 5, 70}, std::array<int64_t, 4>{7, 2, 3, 300},
                            std::array<int64_t, 4>{2, 1, 3, 4}, std::array<int64_t, 4>{1, 1, 2, 5}}) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(U));
    std::vector<Tensor> in{random_tensor({B, T, F}, DType::f64, -1, 1, 81),
                           random_tensor({F, 4 * U}, DType::f64, -0.8, 0.8, 82),
                           random_tensor({U, 4 * U}, DType::f64, -2 * scale, 2 * scale, 83),
                           random_tensor({4 * U}, DType::f64, -0.5, 0.5, 84),
                           random_tensor({B, U}, DType::f64, -1, 1, 85),
                           random_tensor({B, U}, DType::f64, -1, 1, 86)};
    const Tensor weights = random_tensor({B * T * U + 2 * B * U}, DType::f64, -1, 1, 87);
    std::vector<Tensor> in32;
    for (const Tensor& t : in) in32.push_back(t.to(DType::f32));
    for (bool reverse : {false, true}) {
      const Run ref = run(in, weights, reverse);
      for (const char* path : {"packed", "rows", "blas"}) {
        INFO("B " << B << " T " << T << " U " << U << " reverse " << reverse << " path " << path);
        LstmPath scope(path);
        const Run got = run(in32, weights, reverse);
        check_close(got.out.to(DType::f64), ref.out, {1e-4, 1e-5});
        REQUIRE(got.grads.size() == ref.grads.size());
        for (size_t i = 0; i < ref.grads.size(); ++i) {
          INFO("gradient of input " << i);
          CHECK(ref.grads[i].abs().max().item<double>() > 0);
          check_close(got.grads[i].to(DType::f64), ref.grads[i], {2e-4, 2e-4});
        }
      }
    }
  }
}

TEST_CASE("lstm scan paths: no bias and a single thread's worth of units give the same result on both paths",
          "[recurrent][fused][lstm_scan]") {
  const int64_t B = 9, T = 6, F = 5, U = 40;
  std::vector<Tensor> in{random_tensor({B, T, F}, DType::f32, -1, 1, 91),
                         random_tensor({F, 4 * U}, DType::f32, -0.5, 0.5, 92),
                         random_tensor({U, 4 * U}, DType::f32, -0.3, 0.3, 93), Tensor(),
                         random_tensor({B, U}, DType::f32, -1, 1, 95), random_tensor({B, U}, DType::f32, -1, 1, 96)};
  auto f = [&](const std::vector<Tensor>& v) {
    LstmSequence r = lstm_sequence(v[0], v[1], v[2], Tensor(), v[3], v[4]);
    return sum(square(concat({r.output.flatten(), r.c.flatten(), r.h.flatten()}, 0)));
  };
  std::vector<Tensor> defined{in[0], in[1], in[2], in[4], in[5]};
  std::vector<Tensor> g[2];
  int k = 0;
  for (const char* path : {"packed", "blas"}) {
    LstmPath scope(path);
    g[k++] = autograd::value_and_grad_flat(f, defined).second;
  }
  for (size_t i = 0; i < defined.size(); ++i) {
    INFO("gradient of input " << i);
    CHECK(g[1][i].abs().max().item<double>() > 0);
    check_close(g[0][i], g[1][i], {1e-4, 1e-5});
  }
}

TEST_CASE("lstm scan paths: the rows scan's f32 gradients against finite differences", "[recurrent][fused][lstm_scan]") {
  // The f64 checks above never run the rows scan (f32 only): central differences of the f32 op
  // itself at a few entries of every input, with a step large enough for f32's rounding.
  LstmPath scope("rows");
  const int64_t B = 17, T = 3, F = 6, U = 24;
  std::vector<Tensor> in{random_tensor({B, T, F}, DType::f32, -1, 1, 71), random_tensor({F, 4 * U}, DType::f32, -0.5, 0.5, 72),
                         random_tensor({U, 4 * U}, DType::f32, -0.4, 0.4, 73), random_tensor({4 * U}, DType::f32, -0.5, 0.5, 74),
                         random_tensor({B, U}, DType::f32, -1, 1, 75), random_tensor({B, U}, DType::f32, -1, 1, 76)};
  const Tensor weights = random_tensor({B * T * U + 2 * B * U}, DType::f32, -1, 1, 77);
  auto loss = [&](const std::vector<Tensor>& v) {
    LstmSequence r = lstm_sequence(v[0], v[1], v[2], v[3], v[4], v[5]);
    return sum(mul(concat({r.output.flatten(), r.c.flatten(), r.h.flatten()}, 0), weights));
  };
  const std::vector<Tensor> grads = autograd::value_and_grad_flat(loss, in).second;
  const double step = 1e-2;
  for (size_t i = 0; i < in.size(); ++i) {
    std::vector<float> base = in[i].to_vector<float>();
    const std::vector<float> g = grads[i].to_vector<float>();
    for (size_t k : {size_t{0}, base.size() / 2, base.size() - 1}) {
      INFO("input " << i << " entry " << k);
      auto at = [&](double delta) {
        std::vector<float> moved = base;
        moved[k] += static_cast<float>(delta);
        std::vector<Tensor> v = in;
        v[i] = from_vector(moved, in[i].shape());
        return loss(v).item<double>();
      };
      const double fd = (at(step) - at(-step)) / (2 * step);
      CHECK(std::abs(g[k] - fd) <= 2e-3 + 2e-2 * std::abs(fd));
    }
  }
}
