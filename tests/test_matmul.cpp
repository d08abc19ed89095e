// matmul: values against a float64 triple loop, layouts (transposed, sliced, broadcast batches),
// empty and k = 0 products, gradients (and gradients of gradients), CUDA against CPU, errors.
#include <algorithm>
#include <functional>
#include <string>

#include "harness.hpp"

using namespace axon;
using test::random_tensor;

namespace {


struct Ref {
  std::vector<double> values;
  Shape shape;
};

// NumPy's matmul in float64 on the logical values of a and b.
Ref ref_matmul(const Tensor& a, const Tensor& b) {
  Shape sa = a.shape(), sb = b.shape();
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  const bool a1 = sa.size() == 1, b1 = sb.size() == 1;
  if (a1) sa.insert(sa.begin(), 1);
  if (b1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const size_t r = std::max(ba.size(), bb.size());
  ba.insert(ba.begin(), r - ba.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  Shape batch(r);
  for (size_t i = 0; i < r; ++i) batch[i] = ba[i] == 1 ? bb[i] : ba[i];
  const int64_t nb = numel(batch);
  std::vector<double> out(static_cast<size_t>(nb * m * n), 0.0);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t rem = bi, oa = 0, ob = 0, sta = 1, stb = 1;
    for (size_t d = r; d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      oa += (ba[d] == 1 ? 0 : idx) * sta;
      ob += (bb[d] == 1 ? 0 : idx) * stb;
      sta *= ba[d];
      stb *= bb[d];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += va[(oa * m + i) * k + p] * vb[(ob * k + p) * n + j];
        out[(bi * m + i) * n + j] = s;
      }
  }
  Shape shape = batch;
  if (!a1) shape.push_back(m);
  if (!b1) shape.push_back(n);
  return {out, shape};
}

void check_matmul(const Tensor& a, const Tensor& b, test::Tol tol) {
  INFO("a " << describe(a) << ", b " << describe(b));
  Tensor y = matmul(a, b);
  Ref r = ref_matmul(a, b);
  CHECK(y.dtype() == a.dtype());
  test::check_close(y, r.values, r.shape, tol);
}

test::Tol tol_matmul(DType dt) {
  // Sums of k products: a little more room than one rounding for f32.
  if (dt == DType::f32) return {1e-4, 1e-5};
  return test::tol_for(dt);
}

const std::vector<DType> kFloatTypes = {DType::f32, DType::f64, DType::bf16, DType::f16};

}  // namespace

TEST_CASE("matmul of matrices matches a float64 reference", "[ops]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{1, 1}, {1, 1}}, {{3, 4}, {4, 5}}, {{17, 33}, {33, 9}}, {{64, 128}, {128, 32}}, {{1, 7}, {7, 1}}, {{5, 1}, {1, 6}}};
  for (DType dt : kFloatTypes) {
    for (const auto& [sa, sb] : cases) {
      Tensor a = random_tensor(sa, dt, -1, 1, 11), b = random_tensor(sb, dt, -1, 1, 12);
      check_matmul(a, b, tol_matmul(dt));
    }
  }
}

TEST_CASE("matmul of few rows (the CPU's small-row kernel, no packing) matches a float64 reference", "[ops]") {
  // Rows 1..16 cover its 4-row and 1-row tiles, columns its 24- and 32-wide tiles, the 8-wide ones
  // and single columns; 256 x 256 with 16 rows is split between threads.
  uint64_t seed = 1;
  for (int64_t m : {1, 2, 3, 4, 5, 7, 8, 13, 16})
    for (int64_t n : {1, 7, 8, 9, 23, 24, 25, 32, 33, 100, 256})
      for (int64_t k : {1, 5, 64, 256}) {
        const Tensor a = random_tensor({m, k}, DType::f32, -1, 1, ++seed);
        const Tensor b = random_tensor({k, n}, DType::f32, -1, 1, ++seed);
        check_matmul(a, b, tol_matmul(DType::f32));
      }
  // A batch of them, and rows read with a stride (a slice of wider rows).
  check_matmul(random_tensor({3, 5, 40}, DType::f32, -1, 1, 101), random_tensor({3, 40, 72}, DType::f32, -1, 1, 102),
               tol_matmul(DType::f32));
  const Tensor wide = random_tensor({6, 90}, DType::f32, -1, 1, 103);
  check_matmul(wide.narrow(1, 10, 50), random_tensor({50, 30}, DType::f32, -1, 1, 104), tol_matmul(DType::f32));
}

TEST_CASE("matmul follows NumPy's rules for 1-D operands", "[ops]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4}, {4}}, {{4}, {4, 3}}, {{2, 4}, {4}}, {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}}, {{1}, {1}}};
  for (DType dt : {DType::f32, DType::f64}) {
    for (const auto& [sa, sb] : cases) {
      Tensor a = random_tensor(sa, dt, -1, 1, 21), b = random_tensor(sb, dt, -1, 1, 22);
      check_matmul(a, b, tol_matmul(dt));
    }
  }
  // A dot product is 0-d.
  Tensor d = matmul(tensor({1, 2, 3}), tensor({4, 5, 6}));
  CHECK(d.dim() == 0);
  CHECK(d.item<float>() == 32.0f);
}

TEST_CASE("matmul broadcasts batch dimensions", "[ops]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 1, 3, 4}, {5, 4, 6}},  // outer loop plus a strided batch
      {{3, 4}, {2, 4, 5}},        // shared A
      {{2, 3, 4}, {4, 5}},        // shared B: folded into one GEMM
      {{2, 3, 4}, {2, 4, 5}},     // uniform strided batch
      {{1, 3, 4}, {2, 4, 5}},
      {{2, 2, 1, 4}, {2, 1, 4, 3}},
      {{3, 1, 4}, {2, 1, 4, 2}}};
  for (DType dt : kFloatTypes) {
    for (const auto& [sa, sb] : cases) {
      Tensor a = random_tensor(sa, dt, -1, 1, 31), b = random_tensor(sb, dt, -1, 1, 32);
      check_matmul(a, b, tol_matmul(dt));
    }
  }
  Tensor y = matmul(random_tensor({2, 1, 3, 4}, DType::f32), random_tensor({5, 4, 6}, DType::f32));
  CHECK(y.shape() == Shape{2, 5, 3, 6});
}

TEST_CASE("matmul reads transposed, sliced and broadcast operands", "[ops]") {
  for (DType dt : kFloatTypes) {
    auto tol = tol_matmul(dt);
    Tensor at = random_tensor({4, 3}, dt, -1, 1, 41).t();  // [3, 4], column-major
    Tensor bt = random_tensor({5, 4}, dt, -1, 1, 42).t();  // [4, 5], column-major
    Tensor a = random_tensor({3, 4}, dt, -1, 1, 43), b = random_tensor({4, 5}, dt, -1, 1, 44);
    check_matmul(at, b, tol);
    check_matmul(a, bt, tol);
    check_matmul(at, bt, tol);
    // Batched transposes.
    Tensor abt = random_tensor({2, 4, 3}, dt, -1, 1, 45).transpose(-1, -2);
    Tensor bbt = random_tensor({2, 5, 4}, dt, -1, 1, 46).transpose(1, 2);
    check_matmul(abt, bbt, tol);
    check_matmul(abt, b, tol);
    // Row slices keep a leading dimension larger than the row.
    Tensor as = random_tensor({6, 8}, dt, -1, 1, 47).slice(1, 2, 6).slice(0, 1, 4);  // [3, 4], ld 8
    check_matmul(as, b, tol);
    check_matmul(as, random_tensor({9, 5}, dt, -1, 1, 48).slice(0, 3, 7), tol);
    // A stepped slice along the last axis is neither row- nor column-major: copied first.
    Tensor astep = random_tensor({3, 8}, dt, -1, 1, 49).slice(1, 0, 8, 2);
    check_matmul(astep, b, tol);
    // Batches taken with a step, and batch axes permuted (non-uniform batch strides).
    Tensor abs = random_tensor({4, 3, 4}, dt, -1, 1, 50).slice(0, 0, 4, 2);
    check_matmul(abs, random_tensor({2, 4, 5}, dt, -1, 1, 51), tol);
    // A shared B with A's batches not evenly spaced by rows: no folding into one GEMM.
    check_matmul(abs, b, tol);
    check_matmul(random_tensor({2, 5, 4}, dt, -1, 1, 57).slice(1, 0, 3), b, tol);
    Tensor ap = random_tensor({3, 2, 3, 4}, dt, -1, 1, 52).permute({1, 0, 2, 3});
    check_matmul(ap, random_tensor({2, 3, 4, 2}, dt, -1, 1, 53), tol);
    // Expanded (stride-0) operands.
    Tensor ae = random_tensor({1, 3, 4}, dt, -1, 1, 54).expand({3, 3, 4});
    check_matmul(ae, random_tensor({3, 4, 2}, dt, -1, 1, 55), tol);
    Tensor col = random_tensor({4, 1}, dt, -1, 1, 56).expand({4, 5});  // every column the same
    check_matmul(a, col, tol);
  }
}

TEST_CASE("matmul with empty operands", "[ops]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    // k = 0: a sum of nothing is zero.
    Tensor z = matmul(empty({3, 0}, dt), empty({0, 4}, dt));
    test::check_equal(z, std::vector<double>(12, 0.0), {3, 4});
    Tensor zb = matmul(empty({2, 3, 0}, dt), empty({0, 2}, dt));
    test::check_equal(zb, std::vector<double>(12, 0.0), {2, 3, 2});
    CHECK(matmul(empty({0}, dt), empty({0}, dt)).item<double>() == 0.0);
    // Empty batch, m = 0, n = 0.
    CHECK(matmul(empty({0, 3, 4}, dt), random_tensor({4, 5}, dt)).shape() == Shape{0, 3, 5});
    CHECK(matmul(empty({0, 4}, dt), random_tensor({4, 5}, dt)).shape() == Shape{0, 5});
    CHECK(matmul(random_tensor({3, 4}, dt), empty({4, 0}, dt)).shape() == Shape{3, 0});
    CHECK(matmul(empty({2, 0, 4}, dt), empty({3, 1, 4, 5}, dt)).shape() == Shape{3, 2, 0, 5});
  }
}

TEST_CASE("matmul gradients match finite differences", "[autograd]") {
  auto mm = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  const std::vector<std::pair<Shape, Shape>> cases = {{{3, 4}, {4, 5}}, {{1, 1}, {1, 1}}, {{4}, {4}},
                                                      {{4}, {4, 3}},    {{2, 4}, {4}},    {{4}, {2, 4, 3}},
                                                      {{2, 3, 4}, {4}}, {{2, 1, 3, 4}, {5, 4, 2}},
                                                      {{2, 3, 4}, {4, 2}}, {{3, 4}, {2, 4, 2}}};
  for (const auto& [sa, sb] : cases) {
    INFO("shapes " << to_string(sa) << " x " << to_string(sb));
    test::check_grad(mm, {random_tensor(sa, DType::f64, -1, 1, 61), random_tensor(sb, DType::f64, -1, 1, 62)});
  }
  // Transposed operands: the gradient still has the operand's shape.
  test::check_grad([](const std::vector<Tensor>& x) { return matmul(x[0].t(), x[1]); },
                   {random_tensor({4, 3}, DType::f64, -1, 1, 63), random_tensor({4, 2}, DType::f64, -1, 1, 64)});
}

TEST_CASE("matmul gradients are differentiable again", "[autograd]") {
  // x -> d/db sum(matmul(a, b) * w): its own gradient is checked against finite differences.
  auto inner = [](const std::vector<Tensor>& x) {
    Tensor w = test::random_tensor({3, 2}, x[0].dtype(), 0.5, 1.5, 7, x[0].device());
    auto g = grad([&](const Tensor& b) { return sum(mul(matmul(x[0], b), w)); }, x[1]);
    return mul(g, g);  // non-linear in a
  };
  test::check_grad(inner, {random_tensor({3, 4}, DType::f64, -1, 1, 71), random_tensor({4, 2}, DType::f64, -1, 1, 72)});
}

namespace {
// The gradient formula before batch folding: per-batch products at the broadcast shape, then summed
// back to each operand's shape.
std::pair<Tensor, Tensor> unfolded_matmul_grads(const Tensor& a, const Tensor& b, const Tensor& g) {
  Tensor A = a.dim() == 1 ? a.unsqueeze(0) : a;
  Tensor B = b.dim() == 1 ? b.unsqueeze(-1) : b;
  Tensor G = g;
  if (b.dim() == 1) G = G.unsqueeze(G.dim());
  if (a.dim() == 1) G = G.unsqueeze(G.dim() - 1);
  Tensor da = matmul(G, B.transpose(-1, -2)), db = matmul(A.transpose(-1, -2), G);
  if (a.dim() == 1) da = da.squeeze(-2);
  if (b.dim() == 1) db = db.squeeze(-1);
  return {sum_to(da, a.shape()), sum_to(db, b.shape())};
}

// Operands whose batch axes broadcast: b 2-D, b [1, C, N], a broadcast, 1-D operands, 4-D batches,
// both broadcast on different axes, summed axes before and after kept ones.
const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{2, 3, 4}, {4, 5}},       {{2, 3, 4}, {1, 4, 5}},       {{3, 4}, {2, 4, 5}},
    {{1, 3, 4}, {2, 4, 5}},    {{4}, {2, 4, 5}},             {{2, 3, 4}, {4}},
    {{2, 3, 3, 4}, {4, 5}},    {{2, 3, 3, 4}, {3, 4, 5}},    {{2, 3, 3, 4}, {2, 1, 4, 5}},
    {{2, 1, 3, 4}, {1, 5, 4, 2}}, {{3, 1, 2, 3, 4}, {2, 4, 2}}, {{1, 4}, {3, 2, 4, 1}}};
}  // namespace

TEST_CASE("matmul gradients of broadcast operands: finite differences and the unfolded formula", "[autograd]") {
  auto mm = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  uint64_t seed = 400;
  for (const auto& [sa, sb] : kBroadcastCases) {
    INFO("shapes " << to_string(sa) << " x " << to_string(sb));
    Tensor a = random_tensor(sa, DType::f64, -1, 1, ++seed), b = random_tensor(sb, DType::f64, -1, 1, ++seed);
    test::check_grad(mm, {a, b});
    Tensor w = random_tensor(matmul(a, b).shape(), DType::f64, -1, 1, ++seed);
    auto g = grad([&](const std::vector<Tensor>& p) { return sum(mul(matmul(p[0], p[1]), w)); },
                  std::vector<Tensor>{a, b});
    auto [da, db] = unfolded_matmul_grads(a, b, w);
    test::check_close(g[0], da, {1e-12, 1e-12});
    test::check_close(g[1], db, {1e-12, 1e-12});
  }
}

TEST_CASE("matmul gradients of broadcast operands are differentiable again", "[autograd]") {
  for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{2, 3, 4}, {4, 2}}, {{3, 4}, {2, 4, 2}},
                                                                   {{2, 1, 3, 4}, {1, 2, 4, 2}}}) {
    INFO("shapes " << to_string(sa) << " x " << to_string(sb));
    // (a, b) -> (d/da, d/db) sum(matmul(a, b) * w), squared: its gradient against finite differences.
    auto inner = [](const std::vector<Tensor>& x) {
      Tensor w = test::random_tensor(matmul(x[0], x[1]).shape(), x[0].dtype(), 0.5, 1.5, 7, x[0].device());
      auto g = grad([&](const std::vector<Tensor>& p) { return sum(mul(matmul(p[0], p[1]), w)); },
                    std::vector<Tensor>{x[0], x[1]});
      return add(sum(mul(g[0], g[0])), sum(mul(g[1], g[1])));
    };
    test::check_grad(inner, {random_tensor(sa, DType::f64, -1, 1, 71), random_tensor(sb, DType::f64, -1, 1, 72)});
  }
}

namespace {
// d/dW of f at w on the CPU, with the host memory it needed above the tensors already alive (after a
// warm-up call, so that no one-time allocation counts).
std::pair<Tensor, std::size_t> grad_and_peak(const std::function<Tensor(const Tensor&)>& f, const Tensor& w) {
  const Device cpu = Device::cpu();
  (void)grad(f, w);
  const std::size_t before = memory_stats(cpu).in_use;
  reset_peak_memory(cpu);
  Tensor g = grad(f, w);
  return {g, memory_stats(cpu).peak - before};
}
}  // namespace

TEST_CASE("matmul weight gradient of a broadcast operand builds no per-batch products", "[autograd]") {
  // x[512, 2, 64] @ W[64, 64] and W[64, 64] @ x[512, 64, 2]: per-batch products of W's gradient would
  // be [512, 64, 64] f32 = 8 MiB; folded into one GEMM the step needs well under 2 MiB.
  Tensor w = random_tensor({64, 64}, DType::f32, -1, 1, 501);
  for (bool w_first : {false, true}) {
    INFO((w_first ? "W @ x" : "x @ W"));
    Tensor x = random_tensor(w_first ? Shape{512, 64, 2} : Shape{512, 2, 64}, DType::f32, -1, 1, 502);
    auto [gw, extra] = grad_and_peak([&](const Tensor& p) { return sum(w_first ? matmul(p, x) : matmul(x, p)); }, w);
    INFO("peak above the live tensors: " << extra << " bytes");
    CHECK(extra < (std::size_t(2) << 20));
    // d/dW sum(x @ W) = column sums of x over its rows, repeated over W's columns (and transposed).
    Tensor xs = w_first ? sum(x, std::vector<int64_t>{0, 2}) : sum(x, std::vector<int64_t>{0, 1});
    Tensor expect = w_first ? xs.unsqueeze(0).expand({64, 64}) : xs.unsqueeze(1).expand({64, 64});
    test::check_close(gw, expect, {1e-4, 1e-3});
  }
}

TEST_CASE("matmul computes no gradient for an untracked operand", "[autograd]") {
  // d/dW sum(x @ W) for data x[4096, 64] and W[64, 4]: x's gradient would take 1 MiB.
  Tensor x = random_tensor({4096, 64}, DType::f32, -1, 1, 511), w = random_tensor({64, 4}, DType::f32, -1, 1, 512);
  auto [gw, extra] = grad_and_peak([&](const Tensor& p) { return sum(matmul(x, p)); }, w);
  INFO("peak above the live tensors: " << extra << " bytes");
  CHECK(extra < (std::size_t(1) << 19));
  test::check_close(gw, sum(x, std::vector<int64_t>{0}).unsqueeze(1).expand({64, 4}), {1e-4, 1e-3});
  // Both operands tracked: both gradients.
  auto g = grad([](const std::vector<Tensor>& p) { return sum(matmul(p[0], p[1])); }, std::vector<Tensor>{x, w});
  test::check_close(g[0], sum(w, std::vector<int64_t>{1}).unsqueeze(0).expand({4096, 64}), {1e-5, 1e-5});
}

TEST_CASE("matmul on CUDA matches the CPU", "[ops]") {
  auto mm = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{1, 1}, {1, 1}},   {{33, 65}, {65, 17}}, {{4}, {4, 3}},   {{2, 4}, {4}},   {{4}, {4}},
      {{2, 1, 3, 4}, {5, 4, 6}}, {{2, 3, 4}, {4, 5}}, {{3, 8}, {2, 8, 5}}, {{0, 3}, {3, 2}}, {{3, 0}, {0, 2}}};
  for (DType dt : kFloatTypes) {
    for (const auto& [sa, sb] : cases) {
      INFO(dtype_name(dt) << " " << to_string(sa) << " x " << to_string(sb));
      test::check_cuda_matches_cpu(mm, {random_tensor(sa, dt, -1, 1, 81), random_tensor(sb, dt, -1, 1, 82)},
                                   tol_matmul(dt));
    }
    auto mmt = [](const std::vector<Tensor>& x) { return matmul(x[0].t(), x[1].transpose(-1, -2)); };
    test::check_cuda_matches_cpu(mmt, {random_tensor({16, 8}, dt, -1, 1, 83), random_tensor({2, 4, 16}, dt, -1, 1, 84)},
                                 tol_matmul(dt));
  }
}

TEST_CASE("matmul on CUDA: large products, TF32 and the GEMM plan cache", "[cuda]") {
  AXON_REQUIRE_CUDA();
  auto mm = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  for (DType dt : kFloatTypes) {
    test::Tol tol = tol_matmul(dt);
    if (dt == DType::bf16) tol = {3e-2, 2e-2};
    if (dt == DType::f16) tol = {1e-2, 5e-3};
    test::check_cuda_matches_cpu(mm, {random_tensor({256, 512}, dt, -1, 1, 91), random_tensor({512, 384}, dt, -1, 1, 92)},
                                 tol);
    // The same shape again runs the cached plan; an unaligned view needs another one.
    Tensor big = random_tensor({257, 512}, dt, -1, 1, 93);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& x) { return matmul(x[0].slice(0, 1, 257), x[1]); },
                                 {big, random_tensor({512, 384}, dt, -1, 1, 94)}, tol);
  }
  CHECK_FALSE(allow_tf32());
  set_allow_tf32(true);
  CHECK(allow_tf32());
  // TF32 keeps 10 mantissa bits: a loose tolerance.
  test::check_cuda_matches_cpu(mm, {random_tensor({128, 256}, DType::f32, -1, 1, 95),
                                    random_tensor({256, 64}, DType::f32, -1, 1, 96)},
                               {1e-2, 2e-2});
  set_allow_tf32(false);
  CHECK_FALSE(allow_tf32());
}

TEST_CASE("allow_tf32 is a global switch, off by default", "[ops]") {
  CHECK_FALSE(allow_tf32());
  set_allow_tf32(true);
  CHECK(allow_tf32());
  // CPU products ignore it and stay exact.
  check_matmul(random_tensor({5, 6}, DType::f32, -1, 1, 97), random_tensor({6, 3}, DType::f32, -1, 1, 98),
               tol_matmul(DType::f32));
  set_allow_tf32(false);
  CHECK_FALSE(allow_tf32());
}

TEST_CASE("matmul errors name the op, shapes and dtypes", "[errors]") {
  Tensor a = zeros({16, 127}), b = zeros({128, 64});
  AXON_REQUIRE_THROWS_WITH(matmul(a, b), "matmul: shapes [16, 127] and [128, 64] cannot be multiplied");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({3}), zeros({4})), "matmul: shapes [3] and [4] cannot be multiplied");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}), zeros({3}, DType::f64)), "f32 and f64");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}, DType::bf16), zeros({3, 2}, DType::f16)), "bf16 and f16");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}, DType::i32), zeros({3, 2}, DType::i32)), "floating-point");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({2, 3}, DType::i64), zeros({3, 2})), "matmul");
  AXON_REQUIRE_THROWS_WITH(matmul(scalar_tensor(2.0), zeros({3})), "at least 1 dimension");
  AXON_REQUIRE_THROWS_WITH(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), "batch dimensions of shapes [2, 3, 4] and [3, 4, 5]");
  AXON_REQUIRE_THROWS_WITH(matmul(Tensor(), zeros({3})), "matmul");
}
