// The CPU's f32 GEMM on oneDNN's sgemm and on OpenBLAS (issue 17): matmul forced onto each library
// in turn and left to the automatic choice, against a float64 loop on odd shapes, transposed views
// (no copy: the GEMM's trans flags), column slices (leading dimensions beyond the row), batches,
// products that split over the threads and products too small to; f64 staying on OpenBLAS. The
// run counters prove which library ran.
#include <axon/cpu_gemm.hpp>

#include "harness.hpp"

using namespace axon;
using test::random_tensor;
using PathScope = test::GemmPathScope;

namespace {

// C = A B in float64 from the logical values of 2-D a [m, k] and b [k, n], or 3-D with equal batches.
std::vector<double> ref_matmul(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  const int64_t r = a.dim(), nb = r == 3 ? a.shape()[0] : 1;
  const int64_t m = a.shape()[r - 2], k = a.shape()[r - 1], n = b.shape()[r - 1];
  std::vector<double> c(static_cast<size_t>(nb * m * n));
  for (int64_t q = 0; q < nb; ++q)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += va[(q * m + i) * k + p] * vb[(q * k + p) * n + j];
        c[(q * m + i) * n + j] = s;
      }
  return c;
}

// An operand with the logical shape [rows, cols] (or [batch, rows, cols]) laid out as `layout` says:
// 'n' contiguous, 't' the transpose of a contiguous [cols, rows], 's' columns 3.. of a wider matrix.
Tensor operand(int64_t batch, int64_t rows, int64_t cols, char layout, uint64_t seed) {
  auto shape = [&](int64_t r, int64_t c) { return batch > 1 ? Shape{batch, r, c} : Shape{r, c}; };
  const int64_t last = batch > 1 ? 2 : 1;
  if (layout == 't') return random_tensor(shape(cols, rows), DType::f32, -1, 1, seed).transpose(last - 1, last);
  if (layout == 's') return random_tensor(shape(rows, cols + 5), DType::f32, -1, 1, seed).slice(last, 3, 3 + cols);
  return random_tensor(shape(rows, cols), DType::f32, -1, 1, seed);
}

struct Case {
  int64_t batch, m, n, k;
  char la, lb;
};

const std::vector<Case> kCases = {
    {1, 1, 1, 1, 'n', 'n'},      {1, 3, 9, 7, 'n', 'n'},       {1, 7, 13, 5, 't', 'n'},      {1, 33, 17, 65, 'n', 't'},
    {1, 19, 40, 23, 't', 't'},   {1, 130, 70, 129, 'n', 'n'},  {1, 130, 70, 129, 't', 'n'},  {1, 70, 130, 129, 'n', 't'},
    {1, 200, 96, 77, 's', 's'},  {1, 45, 300, 61, 's', 't'},   {1, 128, 10, 128, 't', 'n'},  {1, 128, 128, 784, 'n', 'n'},
    {3, 21, 34, 15, 'n', 'n'},   {3, 21, 34, 15, 't', 't'},    {4, 90, 80, 70, 'n', 't'},
};

// Runs matmul under `path` and returns its result and how many calls each library ran.
struct Run {
  Tensor y;
  CpuGemmRuns delta;
};
Run run_on(CpuGemmPath path, const Tensor& a, const Tensor& b) {
  PathScope p(path);
  const CpuGemmRuns before = cpu_gemm_runs();
  Tensor y = matmul(a, b);
  const CpuGemmRuns after = cpu_gemm_runs();
  return {y, {after.openblas - before.openblas, after.onednn - before.onednn}};
}

const test::Tol kTol{1e-4, 1e-4};  // f32 sums of up to 784 products of values in [-1, 1]

}  // namespace

TEST_CASE("f32 GEMM on oneDNN, on OpenBLAS and chosen per shape matches float64 loops", "[ops][onednn]") {
  uint64_t seed = 9100;
  for (const Case& c : kCases) {
    INFO("batch " << c.batch << " m " << c.m << " n " << c.n << " k " << c.k << " layouts " << c.la << c.lb);
    const Tensor a = operand(c.batch, c.m, c.k, c.la, ++seed), b = operand(c.batch, c.k, c.n, c.lb, ++seed);
    const std::vector<double> ref = ref_matmul(a, b);
    const Shape shape = c.batch > 1 ? Shape{c.batch, c.m, c.n} : Shape{c.m, c.n};
    // A few rows, both untransposed, run the small-row kernel (gemm_small.cpp), neither library.
    const bool small = c.la == 'n' && c.lb == 'n' && c.m <= 4;

    const Run o = run_on(CpuGemmPath::openblas, a, b);
    test::check_close(o.y, ref, shape, kTol);
    CHECK(o.delta.onednn == 0);
    CHECK((o.delta.openblas > 0) == !small);

    const Run d = run_on(CpuGemmPath::onednn, a, b);
    test::check_close(d.y, ref, shape, kTol);
    // Without oneDNN the forced path runs what OpenBLAS ran above.
    CHECK(d.delta.openblas == (cpu_gemm_has_onednn() ? 0 : o.delta.openblas));
    CHECK((d.delta.onednn > 0) == (!small && cpu_gemm_has_onednn()));

    // Twice: the first call times both libraries into scratch, the second uses the choice kept.
    for (int i = 0; i < 2; ++i) {
      const Run t = run_on(CpuGemmPath::automatic, a, b);
      test::check_close(t.y, ref, shape, kTol);
      CHECK((t.delta.openblas + t.delta.onednn > 0) == !small);
      if (!cpu_gemm_has_onednn()) CHECK(t.delta.onednn == 0);
    }
  }
}

TEST_CASE("f64 GEMM stays on OpenBLAS whatever the f32 setting", "[ops][onednn]") {
  const Tensor a = random_tensor({37, 29}, DType::f64, -1, 1, 9201).transpose(0, 1);
  const Tensor b = random_tensor({37, 41}, DType::f64, -1, 1, 9202);
  const std::vector<double> ref = ref_matmul(a, b);
  const Run d = run_on(CpuGemmPath::onednn, a, b);
  test::check_close(d.y, ref, {29, 41}, {1e-12, 1e-12});
  CHECK(d.delta.onednn == 0);
  CHECK(d.delta.openblas == 0);  // the counters count f32 calls only
}

TEST_CASE("the CPU GEMM path setting reads back", "[ops][onednn]") {
  PathScope keep(CpuGemmPath::automatic);
  for (CpuGemmPath p : {CpuGemmPath::openblas, CpuGemmPath::onednn, CpuGemmPath::automatic}) {
    set_cpu_gemm_path(p);
    CHECK(cpu_gemm_path() == p);
  }
}
