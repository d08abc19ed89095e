// take, index_select, gather, scatter_add and one_hot: values against loops written here, negative
// indices and axes, layouts, empty tensors, gradients, CUDA against CPU, and errors.
#include <string>

#include "harness.hpp"

using namespace axon;
using test::random_tensor;
using test::ravel;
using test::unravel;

namespace {

Tensor idx64(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }
Tensor idx32(const std::vector<int32_t>& v, const Shape& shape) { return from_vector(v, shape); }

int64_t wrap(int64_t v, int64_t n) { return v < 0 ? v + n : v; }

// NumPy's take in plain loops.
std::vector<double> ref_take(const Tensor& x, const Tensor& index, int64_t axis) {
  auto xv = x.to_vector<double>();
  auto iv = index.to_vector<int64_t>();
  const Shape& xs = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= xs[d];
  for (size_t d = axis + 1; d < xs.size(); ++d) inner *= xs[d];
  const int64_t n = xs[axis];
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : iv)
      for (int64_t i = 0; i < inner; ++i) out.push_back(xv[(o * n + wrap(j, n)) * inner + i]);
  return out;
}

Shape take_shape(const Shape& xs, const Shape& is, int64_t axis) {
  Shape s(xs.begin(), xs.begin() + axis);
  s.insert(s.end(), is.begin(), is.end());
  s.insert(s.end(), xs.begin() + axis + 1, xs.end());
  return s;
}

std::vector<double> ref_gather(const Tensor& x, int64_t axis, const Tensor& index) {
  auto xv = x.to_vector<double>();
  auto iv = index.to_vector<int64_t>();
  std::vector<double> out;
  for (int64_t p = 0; p < index.numel(); ++p) {
    auto c = unravel(p, index.shape());
    c[axis] = wrap(iv[p], x.shape()[axis]);
    out.push_back(xv[ravel(c, x.shape())]);
  }
  return out;
}

std::vector<double> ref_scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  auto out = x.to_vector<double>();
  auto iv = index.to_vector<int64_t>();
  auto sv = src.to_vector<double>();
  for (int64_t p = 0; p < index.numel(); ++p) {
    auto c = unravel(p, index.shape());
    const double s = sv[ravel(c, src.shape())];
    c[axis] = wrap(iv[p], x.shape()[axis]);
    out[ravel(c, x.shape())] += s;
  }
  return out;
}

const std::vector<DType> kFloatTypes = {DType::f32, DType::f64, DType::bf16, DType::f16};

}  // namespace

TEST_CASE("take picks values along an axis, wrapping negative indices", "[ops]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  test::check_equal(take(x, idx64({2, 0, -1}, {3}), 1), {3, 1, 3, 6, 4, 6}, {2, 3});
  test::check_equal(take(x, idx32({1, 0}, {2, 1}), 0), {4, 5, 6, 1, 2, 3}, {2, 1, 3});
  test::check_equal(take(x, idx64({-2}, {}), -1), {2, 5}, {2});  // a 0-d index drops the axis
  test::check_equal(take(x, idx64({}, {0}), 1), {}, {2, 0});
  test::check_equal(take(x, idx64({1, 1}, {2}), -2), {4, 5, 6, 4, 5, 6}, {2, 3});

  const std::vector<DType> types = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8};
  for (DType dt : types) {
    Tensor xr = random_tensor({3, 4, 5}, dt, 0, 9, 3);
    for (int64_t axis : {0, 1, 2}) {
      Tensor index = axis == 0 ? idx64({2, -1, 0, 1, -3, 0}, {2, 3}) : idx64({3, -1, 0, 1, 3, -4}, {2, 3});
      INFO(dtype_name(dt) << " axis " << axis);
      Tensor y = take(xr, index, axis);
      CHECK(y.dtype() == dt);
      test::check_equal(y, ref_take(xr, index, axis), take_shape(xr.shape(), index.shape(), axis));
    }
  }
  // Non-contiguous data and index.
  Tensor xt = random_tensor({5, 4}, DType::f32, -1, 1, 4).t();  // [4, 5]
  Tensor it = idx64({0, 1, 2, 3, 4, 0}, {2, 3}).t();             // [3, 2]
  test::check_equal(take(xt, it, 1), ref_take(xt, it.contiguous(), 1), {4, 3, 2});
  // Bool data moves byte-wise.
  Tensor b = from_vector(std::vector<bool>{true, false, true}, {3});
  CHECK(take(b, idx64({1, 2, 1}, {3})).to_vector<bool>() == std::vector<bool>{false, true, false});
  // Empty data with an empty index is fine.
  CHECK(take(empty({0, 3}), idx64({}, {0}), 0).shape() == Shape{0, 3});
  CHECK(take(empty({2, 0}), idx64({1, 0}, {2}), 0).shape() == Shape{2, 0});
}

TEST_CASE("index_select takes a 1-D index", "[ops]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  test::check_equal(index_select(x, 0, idx32({3, 0, 3}, {3})), {7, 8, 1, 2, 7, 8}, {3, 2});
  test::check_equal(index_select(x, -1, idx64({1}, {1})), {2, 4, 6, 8}, {4, 1});
  test::check_equal(index_select(x, 0, idx64({-1, -4}, {2})), {7, 8, 1, 2}, {2, 2});
  CHECK(index_select(x, 0, idx64({}, {0})).shape() == Shape{0, 2});
}

TEST_CASE("gather follows torch.gather", "[ops]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4});
  // out[i][j] = x[index[i][j]][j]
  test::check_equal(gather(x, 0, idx64({2, 0, 1, 1, 0, 0, 2, 2}, {2, 4})), {9, 2, 7, 8, 1, 2, 11, 12}, {2, 4});
  // out[i][j] = x[i][index[i][j]], with an index narrower than x and negative entries
  test::check_equal(gather(x, 1, idx32({3, 0, -1, 1, 2, 2}, {3, 2})), {4, 1, 8, 6, 11, 11}, {3, 2});
  test::check_equal(gather(x, -1, idx64({0, 0}, {1, 2})), {1, 1}, {1, 2});
  CHECK(gather(x, 0, idx64({}, {0, 4})).shape() == Shape{0, 4});

  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::i64}) {
    Tensor xr = random_tensor({4, 3, 5}, dt, -5, 5, 5);
    Tensor index = random_tensor({3, 2, 5}, DType::i64, -3, 3, 6);
    for (int64_t axis : {0, 1, 2}) {
      INFO(dtype_name(dt) << " axis " << axis);
      test::check_equal(gather(xr, axis, index), ref_gather(xr, axis, index), index.shape());
    }
    Tensor xt = xr.transpose(0, 2);  // [5, 3, 4]
    Tensor it = index.transpose(0, 2);  // [5, 2, 3]
    test::check_equal(gather(xt, 1, it), ref_gather(xt.contiguous(), 1, it.contiguous()), it.shape());
  }
}

TEST_CASE("scatter_add accumulates src at the indexed positions", "[ops]") {
  Tensor x = ones({3, 4});
  Tensor index = idx64({0, 1, 2, 0, 2, 0, 0, 1}, {2, 4});
  Tensor src = tensor({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  // axis 0: out[index[i][j]][j] += src[i][j]
  test::check_equal(scatter_add(x, 0, index, src), {2, 7, 8, 5, 1, 3, 1, 9, 6, 1, 4, 1}, {3, 4});
  // axis 1 with repeated targets and a negative index
  Tensor i1 = idx32({3, 3, -1, 0, 1, 1}, {3, 2});
  Tensor s1 = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  test::check_equal(scatter_add(zeros({3, 4}), 1, i1, s1), {0, 0, 0, 3, 4, 0, 0, 3, 0, 11, 0, 0}, {3, 4});
  // x is unchanged.
  test::check_equal(x, std::vector<double>(12, 1.0), {3, 4});

  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64}) {
    Tensor xr = random_tensor({4, 3, 5}, dt, -4, 4, 7);
    Tensor ir = random_tensor({3, 2, 5}, DType::i64, -3, 3, 8);
    Tensor sr = random_tensor({3, 3, 6}, dt, -4, 4, 9);  // larger than the index: the extra is ignored
    for (int64_t axis : {0, 1, 2}) {
      INFO(dtype_name(dt) << " axis " << axis);
      // 16-bit sums round after every addition.
      test::Tol tol = dt == DType::bf16 ? test::Tol{2e-2, 0.1} : dt == DType::f16 ? test::Tol{2e-3, 1e-2}
                                                                                 : test::tol_for(dt);
      test::check_close(scatter_add(xr, axis, ir, sr), ref_scatter_add(xr, axis, ir, sr), xr.shape(), tol);
    }
  }
  // Non-contiguous x and src.
  Tensor xt = random_tensor({4, 3}, DType::f64, -1, 1, 10).t();
  Tensor st = random_tensor({2, 3}, DType::f64, -1, 1, 11).t();
  Tensor it = idx64({0, 3, 1, 1, 2, 0}, {3, 2});
  test::check_close(scatter_add(xt, 1, it, st), ref_scatter_add(xt.contiguous(), 1, it, st.contiguous()), {3, 4},
                    test::tol_for(DType::f64));
  // Empty index: a copy of x.
  test::check_equal(scatter_add(ones({2, 2}), 0, idx64({}, {0, 2}), zeros({0, 2})), {1, 1, 1, 1}, {2, 2});
}

TEST_CASE("whole rows: take, gather and scatter_add of dense rows match the element loops", "[ops]") {
  // Enough rows for the pool to split them (parts of 64 KiB); i32 and negative indices.
  Tensor x = random_tensor({1000, 7, 9}, DType::f32, -1, 1, 20);
  std::vector<int32_t> iv;
  for (int i = 0; i < 900; ++i) iv.push_back(int32_t((i * 37) % 1000) - (i % 3 == 0 ? 1000 : 0));
  Tensor index = idx32(iv, {30, 30});
  test::check_equal(take(x, index, 0), ref_take(x, index, 0), {30, 30, 7, 9});
  test::check_equal(index_select(x, 0, index.reshape({-1})), ref_take(x, index.reshape({-1}), 0), {900, 7, 9});
  // A slice of rows (storage offset); a middle axis (outer > 1); the last axis (rows of one element).
  Tensor xs = x.slice(0, 100, 400);
  Tensor i2 = idx64({299, 0, -300, 150, -1, 7}, {2, 3});
  test::check_equal(take(xs, i2, 0), ref_take(xs.contiguous(), i2, 0), {2, 3, 7, 9});
  test::check_equal(take(x, idx64({6, 0, -7, 3}, {4}), 1), ref_take(x, idx64({6, 0, -7, 3}, {4}), 1), {1000, 4, 9});
  test::check_equal(take(x, idx64({8, -9, 2}, {3}), 2), ref_take(x, idx64({8, -9, 2}, {3}), 2), {1000, 7, 3});
  // Rows of 1, 2, 8 and other byte counts.
  for (DType dt : {DType::u8, DType::bf16, DType::f64, DType::i32}) {
    INFO(dtype_name(dt));
    Tensor xd = random_tensor({6, 4, 3}, dt, 0, 9, 21);
    Tensor id = idx64({5, -6, 2, 2}, {4});
    test::check_equal(take(xd, id, 0), ref_take(xd, id, 0), {4, 4, 3});
    test::check_equal(take(xd, idx64({2, -1}, {2}), 2), ref_take(xd, idx64({2, -1}, {2}), 2), {6, 4, 2});
  }
  // Layouts: rows dense but the outer dims strided (a column slice), rows not dense (a transpose),
  // outer dims that do not collapse, and an axis of stride 0 (expand): each against the loops.
  Tensor base = random_tensor({4, 6, 5}, DType::f32, -1, 1, 22);
  Tensor cols = base.slice(1, 0, 3);  // [4, 3, 5], strides (30, 5, 1)
  Tensor i4 = idx64({2, -3, 1, 1}, {4});
  test::check_equal(take(cols, i4, 1), ref_take(cols.contiguous(), i4, 1), {4, 4, 5});
  test::check_equal(take(cols, idx64({4, 0}, {2}), 2), ref_take(cols.contiguous(), idx64({4, 0}, {2}), 2), {4, 3, 2});
  Tensor tr = base.transpose(1, 2);  // [4, 5, 6]
  test::check_equal(take(tr, i4, 0), ref_take(tr.contiguous(), i4, 0), {4, 5, 6});
  Tensor ex = random_tensor({1, 5}, DType::f32, -1, 1, 23).expand({4, 5});
  test::check_equal(take(ex, i4, 0), ref_take(ex.contiguous(), i4, 0), {4, 5});

  // gather with an index broadcast along the rows: one index per (outer, j), shared or not; and an
  // index narrower than the rows (element loops).
  Tensor xg = random_tensor({6, 50, 40}, DType::f32, -1, 1, 24);
  Tensor per = random_tensor({6, 30, 1}, DType::i64, -50, 49, 25).expand({6, 30, 40});
  Tensor shared = random_tensor({1, 30, 1}, DType::i64, -50, 49, 26).expand({6, 30, 40});
  Tensor narrow = random_tensor({6, 30, 1}, DType::i64, -50, 49, 27).expand({6, 30, 20});
  for (const Tensor* ig : {&per, &shared, &narrow}) {
    test::check_equal(gather(xg, 1, *ig), ref_gather(xg, 1, ig->contiguous()), ig->shape());
  }

  // scatter_add of whole rows (take's gradient): repeated targets, several column blocks and outer
  // positions, bit for bit the element loop's sums (same order), which a non-contiguous src runs.
  Tensor xa = random_tensor({3, 40, 2500}, DType::f32, -1, 1, 28);
  Tensor sa = random_tensor({3, 60, 2500}, DType::f32, -1, 1, 29);
  Tensor sa_strided = sa.transpose(0, 1).contiguous().transpose(0, 1);
  Tensor ia_shared = random_tensor({1, 60, 1}, DType::i64, -40, 39, 30).expand({3, 60, 2500});
  Tensor ia_per = random_tensor({3, 60, 1}, DType::i32, -40, 39, 31).expand({3, 60, 2500});
  for (const Tensor* ia : {&ia_shared, &ia_per}) {
    Tensor rows = scatter_add(xa, 1, *ia, sa), loops = scatter_add(xa, 1, *ia, sa_strided);
    CHECK(rows.to_vector<float>() == loops.to_vector<float>());
    test::check_close(rows, ref_scatter_add(xa, 1, ia->contiguous(), sa), xa.shape(), test::tol_for(DType::f32));
  }
  for (DType dt : {DType::bf16, DType::i64, DType::f64}) {
    INFO(dtype_name(dt));
    Tensor xb = random_tensor({2, 5, 3}, dt, -4, 4, 32);
    Tensor sb = random_tensor({2, 7, 3}, dt, -4, 4, 33);
    Tensor ib = idx64({4, 0, -1, 4, 2, 4, 0}, {1, 7, 1}).expand({2, 7, 3});
    Tensor rows = scatter_add(xb, 1, ib, sb);
    Tensor loops = scatter_add(xb, 1, ib, sb.transpose(0, 2).contiguous().transpose(0, 2));
    CHECK(rows.to_vector<double>() == loops.to_vector<double>());
  }
}

TEST_CASE("one_hot encodes labels", "[ops]") {
  test::check_equal(one_hot(idx64({2, 0, 1}, {3}), 3), {0, 0, 1, 1, 0, 0, 0, 1, 0}, {3, 3});
  Tensor oh = one_hot(idx32({1, 0, 3, 3}, {2, 2}), 4, DType::i64);
  CHECK(oh.dtype() == DType::i64);
  test::check_equal(oh, {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, {2, 2, 4});
  for (DType dt : {DType::f64, DType::bf16, DType::f16, DType::u8, DType::boolean})
    test::check_equal(one_hot(idx64({1}, {1}), 2, dt), {0, 1}, {1, 2});
  CHECK(one_hot(idx64({}, {0}), 0).shape() == Shape{0, 0});
  CHECK(one_hot(idx64({}, {2, 0}), 5).shape() == Shape{2, 0, 5});
  test::check_equal(one_hot(idx64({4, 1, 0, 2}, {2, 2}).t(), 5), {0, 0, 0, 0, 1, 1, 0, 0, 0, 0,
                                                                  0, 1, 0, 0, 0, 0, 0, 1, 0, 0},
                    {2, 2, 5});
}

TEST_CASE("indexing gradients match finite differences", "[autograd]") {
  // Index tensors are inputs too, so that the harness moves them to the GPU with the data.
  using V = std::vector<Tensor>;
  Tensor x = random_tensor({4, 3}, DType::f64, -1, 1, 20);
  Tensor rep = idx64({0, 2, 2, -1, 0}, {5});  // repeated indices accumulate
  test::check_grad([](const V& v) { return take(v[0], v[1], 0); }, {x, rep});
  test::check_grad([](const V& v) { return take(v[0], v[1], 1); }, {x, idx64({2, 0, 2, 1}, {2, 2})});
  test::check_grad([](const V& v) { return take(v[0], v[1], 0); }, {x, idx64({1}, {})});
  test::check_grad([](const V& v) { return index_select(v[0], 1, v[1]); }, {x, idx32({2, 2, 0}, {3})});
  Tensor x3 = random_tensor({3, 4, 2}, DType::f64, -1, 1, 21);
  test::check_grad([](const V& v) { return take(v[0], v[1], 1); }, {x3, rep.slice(0, 0, 3)});
  Tensor gi = idx64({0, 1, 2, 0, 2, 2, -1, 0}, {2, 2, 2});
  test::check_grad([](const V& v) { return gather(v[0], 0, v[1]); }, {x3, gi});
  test::check_grad([](const V& v) { return gather(v[0], 1, v[1]); }, {x3, gi});
  // scatter_add: d/dx = g, d/dsrc = gather(g) (zero where the index does not reach src).
  Tensor si = idx64({0, 2, 2, 1}, {2, 2});
  test::check_grad([](const V& v) { return scatter_add(v[0], 0, v[2], v[1]); },
                   {random_tensor({3, 2}, DType::f64, -1, 1, 22), random_tensor({3, 3}, DType::f64, -1, 1, 23), si});
  test::check_grad([](const V& v) { return scatter_add(v[0], -1, v[2], v[1]); },
                   {random_tensor({2, 3}, DType::f64, -1, 1, 24), random_tensor({2, 2}, DType::f64, -1, 1, 25), si});
  // The gradient of take is itself differentiable (take's backward is a scatter_add, whose
  // backward is a gather).
  test::check_grad(
      [](const V& v) {
        auto g = grad([&](const Tensor& t) { return sum(mul(take(t, v[2], 0), v[1])); }, v[0]);
        return mul(g, v[0]);
      },
      {x, random_tensor({5, 3}, DType::f64, -1, 1, 26), rep});
}

TEST_CASE("indexing on CUDA matches the CPU", "[ops]") {
  Tensor index = random_tensor({2, 3}, DType::i64, -3, 3, 30);
  for (DType dt : kFloatTypes) {
    Tensor x = random_tensor({3, 4, 5}, dt, -1, 1, 31);
    auto tol = test::tol_for(dt);
    for (int64_t axis : {0, 1, 2}) {
      test::check_cuda_matches_cpu([axis](const std::vector<Tensor>& v) { return take(v[0], v[1], axis); },
                                   {x, index}, tol);
      test::check_cuda_matches_cpu([axis](const std::vector<Tensor>& v) { return index_select(v[0], axis, v[1]); },
                                   {x, idx32({2, 0, -1}, {3})}, tol);
      Tensor gi = random_tensor({2, 3, 4}, DType::i64, -3, 3, 32);
      test::check_cuda_matches_cpu([axis](const std::vector<Tensor>& v) { return gather(v[0], axis, v[1]); },
                                   {x, gi}, tol);
      test::check_cuda_matches_cpu(
          [axis](const std::vector<Tensor>& v) { return scatter_add(v[0], axis, v[1], v[2]); },
          {x, gi, random_tensor({2, 3, 4}, dt, -1, 1, 33)},
          dt == DType::bf16 ? test::Tol{3e-2, 1e-2} : dt == DType::f16 ? test::Tol{4e-3, 2e-3} : tol);
    }
  }
  for (DType dt : {DType::i32, DType::i64, DType::u8, DType::boolean}) {
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return take(v[0], v[1], 1); },
                                 {random_tensor({3, 4}, dt, 0, 5, 34), index}, {0, 0});
  }
  test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return scatter_add(v[0], 0, v[1], v[2]); },
                               {random_tensor({3, 4}, DType::i64, -5, 5, 35), idx64({0, 1, 2, 0, 2, 2, 2, 2}, {2, 4}),
                                random_tensor({2, 4}, DType::i64, -5, 5, 36)},
                               {0, 0});
  for (DType dt : {DType::f32, DType::i64, DType::bf16, DType::boolean}) {
    test::check_cuda_matches_cpu([dt](const std::vector<Tensor>& v) { return one_hot(v[0], 7, dt); },
                                 {random_tensor({3, 5}, DType::i32, 0, 7, 37)}, {0, 0});
  }
}

TEST_CASE("indexing errors name the op, the index and the size", "[errors]") {
  Tensor x = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(take(x, idx64({0, 3}, {2}), 1), "take: index 3 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(take(x, idx64({-4}, {1}), 1), "take: index -4 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(take(x, idx32({0, 1, 7, 9}, {2, 2}), 0), "take: index 7 is out of range for axis 0 of size 2");
  AXON_REQUIRE_THROWS_WITH(take(x, tensor({0, 1}), 0), "take: index must be i32 or i64");
  AXON_REQUIRE_THROWS_WITH(take(x, idx64({0}, {1}), 2), "take");
  AXON_REQUIRE_THROWS_WITH(take(scalar_tensor(1.0), idx64({0}, {1}), 0), "0-d");
  AXON_REQUIRE_THROWS_WITH(take(empty({0, 3}), idx64({0}, {1}), 0), "index 0 is out of range for axis 0 of size 0");
  AXON_REQUIRE_THROWS_WITH(index_select(x, 0, idx64({0, 1}, {1, 2})), "index_select: index must be 1-D");
  AXON_REQUIRE_THROWS_WITH(index_select(x, 0, idx64({2}, {1})), "index_select: index 2 is out of range for axis 0 of size 2");
  AXON_REQUIRE_THROWS_WITH(index_select(x, 0, from_vector(std::vector<uint8_t>{0}, {1})), "i32 or i64");
  AXON_REQUIRE_THROWS_WITH(gather(x, 1, idx64({0, 5}, {1, 2})), "gather: index 5 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(gather(x, 1, idx64({0, 1}, {2})), "gather: index i64[2] on cpu must have the rank");
  AXON_REQUIRE_THROWS_WITH(gather(x, 1, idx64({0, 0, 0, 0, 0, 0}, {3, 2})), "gather: index shape [3, 2] exceeds input shape");
  AXON_REQUIRE_THROWS_WITH(gather(x, 0, tensor({0}, {1, 1})), "gather: index must be i32 or i64");
  Tensor si = idx64({0, 2}, {1, 2});
  AXON_REQUIRE_THROWS_WITH(scatter_add(x, 0, si, ones({1, 2})), "scatter_add: index 2 is out of range for axis 0 of size 2");
  AXON_REQUIRE_THROWS_WITH(scatter_add(x, 0, idx64({0}, {1, 1}), ones({1, 1}, DType::f64)), "scatter_add: src f64[1, 1]");
  AXON_REQUIRE_THROWS_WITH(scatter_add(x, 0, idx64({0, 0}, {1, 2}), ones({1, 1})), "exceeds src shape");
  AXON_REQUIRE_THROWS_WITH(scatter_add(x, 0, idx64({0}, {1}), ones({1})), "must have the same rank");
  AXON_REQUIRE_THROWS_WITH(scatter_add(zeros({2}, DType::boolean), 0, idx64({0}, {1}), zeros({1}, DType::boolean)),
                   "scatter_add");
  // A broadcast index is checked once per distinct value and reports the first bad one in order.
  Tensor bi = idx64({1, -7, 9, 0}, {1, 4, 1}).expand({2, 4, 3});
  AXON_REQUIRE_THROWS_WITH(gather(zeros({2, 5, 3}), 1, bi), "gather: index -7 is out of range for axis 1 of size 5");
  AXON_REQUIRE_THROWS_WITH(scatter_add(zeros({2, 5, 3}), 1, bi, ones({2, 4, 3})),
                           "scatter_add: index -7 is out of range for axis 1 of size 5");
  AXON_REQUIRE_THROWS_WITH(one_hot(idx64({0, 3}, {2}), 3), "one_hot: label 3 is out of range for 3 classes");
  AXON_REQUIRE_THROWS_WITH(one_hot(idx64({-1}, {1}), 3), "one_hot: label -1 is out of range for 3 classes");
  AXON_REQUIRE_THROWS_WITH(one_hot(tensor({1}), 3), "one_hot: labels must be i32 or i64");
  AXON_REQUIRE_THROWS_WITH(one_hot(idx64({0}, {1}), -2), "num_classes must be non-negative");
}

TEST_CASE("indexing errors on CUDA read as on the CPU", "[cuda]") {
  AXON_REQUIRE_CUDA();
  Device gpu = Device::cuda(0), cpu = Device::cpu();
  Tensor x = zeros({2, 3}, DType::f32, gpu);
  // Raised at the next host read (here the copy to the CPU), with the CPU's words.
  AXON_REQUIRE_THROWS_WITH(take(x, idx64({0, 3, 5}, {3}).to(gpu), 1).to(cpu),
                           "take: index 3 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(take(x, idx32({-4}, {1}).to(gpu), 1).to(cpu),
                           "take: index -4 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(index_select(x, 0, idx64({1, 2}, {2}).to(gpu)).to(cpu),
                           "index_select: index 2 is out of range");
  AXON_REQUIRE_THROWS_WITH(gather(x, 1, idx64({0, 5}, {1, 2}).to(gpu)).to(cpu),
                           "gather: index 5 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(scatter_add(x, 0, idx64({0, 2}, {1, 2}).to(gpu), ones({1, 2}, DType::f32, gpu)).to(cpu),
                           "scatter_add: index 2 is out of range for axis 0 of size 2");
  AXON_REQUIRE_THROWS_WITH(one_hot(idx64({0, 3}, {2}).to(gpu), 3).to(cpu),
                           "one_hot: label 3 is out of range for 3 classes");
  // Many bad indices: the first in row-major order is reported, as on the CPU.
  std::vector<int64_t> many(10000, 0);
  for (size_t i = 5000; i < many.size(); ++i) many[i] = 100 + static_cast<int64_t>(i);
  AXON_REQUIRE_THROWS_WITH(take(x, idx64(many, {100, 100}).to(gpu), 1).to(cpu), "take: index 5100 is out of range");
  // The device is still usable afterwards.
  test::check_equal(take(x, idx64({2, 0}, {2}).to(gpu), 1), {0, 0, 0, 0}, {2, 2});
}

TEST_CASE("CUDA range checks do not wait: a bad index raises at the next host read, naming the op", "[cuda]") {
  AXON_REQUIRE_CUDA();
  Device gpu = Device::cuda(0);
  Tensor x = random_tensor({4, 3}, DType::f32, -1, 1, 50, gpu);
  Tensor bad = idx64({0, 9, 2}, {3}).to(gpu), good = idx64({3, 0}, {2}).to(gpu);
  // The op returns, and more device work queues after it; the read raises.
  Tensor y;
  CHECK_NOTHROW(y = take(x, bad, 0));
  Tensor z = add(take(x, good, 0), 1.0);
  AXON_REQUIRE_THROWS_WITH(z.to(Device::cpu()), "take: index 9 is out of range for axis 0 of size 4");
  // Raised once: the next reads succeed and the device computes right.
  test::check_close(z, add(take(x.to(Device::cpu()), idx64({3, 0}, {2}), 0), 1.0), {0, 0});
  // Every host read raises: synchronize(), item(), to_vector(); each op names itself.
  index_select(x, 1, idx32({1, 3}, {2}).to(gpu));
  AXON_REQUIRE_THROWS_WITH(synchronize(gpu), "index_select: index 3 is out of range for axis 1 of size 3");
  Tensor oh = one_hot(idx64({0, 5}, {2}).to(gpu), 3);
  AXON_REQUIRE_THROWS_WITH(sum(oh).item<float>(), "one_hot: label 5 is out of range for 3 classes");
  Tensor loss = sparse_softmax_cross_entropy(x, idx64({0, 1, 7, 2}, {4}).to(gpu));
  AXON_REQUIRE_THROWS_WITH(loss.to_vector<float>(), "sparse_softmax_cross_entropy: class id 7 is out of range");
  scatter_add(x, 0, idx64({4, 0, 0}, {1, 3}).to(gpu), ones({1, 3}, DType::f32, gpu));
  AXON_REQUIRE_THROWS_WITH(synchronize(gpu), "scatter_add: index 4 is out of range for axis 0 of size 4");
  // The first failing op since the last read is the one named, whatever fails after it.
  gather(x, 1, idx64({-4, 0, 0}, {1, 3}).to(gpu));
  take(x, bad, 0);
  AXON_REQUIRE_THROWS_WITH(synchronize(gpu), "gather: index -4 is out of range for axis 1 of size 3");
  CHECK_NOTHROW(synchronize(gpu));
  // Gradients through a checked forward need no second check and stay right.
  Tensor w = random_tensor({4, 3}, DType::f32, -1, 1, 51, gpu);
  Tensor g = grad([&](const Tensor& t) { return sum(mul(take(t, idx64({1, 1, 3}, {3}).to(gpu), 0), w.slice(0, 0, 3))); },
                  x);
  Tensor wc = w.to(Device::cpu());
  std::vector<double> ref(12, 0.0);
  for (int64_t c = 0; c < 3; ++c) {
    ref[3 + c] = wc.to_vector<double>()[c] + wc.to_vector<double>()[3 + c];
    ref[9 + c] = wc.to_vector<double>()[6 + c];
  }
  test::check_close(g, ref, {4, 3}, {1e-6, 1e-6});
}

namespace {
// The gradient of a 16-bit take whose index repeats one row 1000 times: the 1000 terms are summed
// in f32 and rounded once (a 16-bit running sum rounds at every step; in bf16 it stops growing
// past 256 for terms near 1). Against the f64 sum of the same 16-bit terms.
void check_repeated_take_gradient(Device d) {
  std::vector<int64_t> ids(1003, 2);
  ids[0] = 0;
  ids[500] = 1;
  ids[1002] = 4;
  const Tensor index = idx64(ids, {1003}).to(d);
  // Rows of 8 and of 40 (on CUDA, one thread per element below 32, the row kernel above).
  for (int64_t cols : {8, 40})
    for (DType dt : {DType::bf16, DType::f16}) {
      INFO(dtype_name(dt) << " rows of " << cols << " on " << d.str());
      const Tensor w = random_tensor({1003, cols}, dt, 0.5, 1.5, 52);  // upstream gradient of each taken row
      const std::vector<double> wv = w.to_vector<double>();
      std::vector<double> ref(static_cast<size_t>(5 * cols), 0.0);
      const auto c = static_cast<size_t>(cols);
      for (size_t r = 0; r < ids.size(); ++r)
        for (size_t k = 0; k < c; ++k) ref[static_cast<size_t>(ids[r]) * c + k] += wv[r * c + k];
      const Tensor wd = w.to(d);
      Tensor g = grad([&](const Tensor& t) { return sum(mul(take(t, index, 0), wd)); }, zeros({5, cols}, dt, d));
      REQUIRE(g.dtype() == dt);
      // One rounding of the exact sum: half an ulp (2^-9 in bf16, 2^-12 in f16), with room.
      test::check_close(g.to(DType::f64), ref, {5, cols}, {dt == DType::bf16 ? 4e-3 : 5e-4, 0});
    }
}
}  // namespace

TEST_CASE("16-bit take gradients with a repeated index are summed in f32", "[autograd]") {
  check_repeated_take_gradient(Device::cpu());
}

TEST_CASE("16-bit take gradients with a repeated index are summed in f32 on CUDA", "[cuda][autograd]") {
  AXON_REQUIRE_CUDA();
  check_repeated_take_gradient(Device::cuda(0));
}

TEST_CASE("16-bit scatter_add and gather gradients add in f32", "[ops]") {
  // 300 ones into one element: 300 exactly (a bf16 running sum stops at 256).
  Tensor idx = zeros({1, 300}, DType::i64);
  Tensor out = scatter_add(zeros({1, 2}, DType::bf16), 1, idx, ones({1, 300}, DType::bf16));
  test::check_equal(out.to(DType::f64), {300, 0}, {1, 2});
  Tensor g = grad([&](const Tensor& t) { return sum(gather(t, 1, idx)); }, zeros({1, 2}, DType::bf16));
  test::check_equal(g.to(DType::f64), {300, 0}, {1, 2});
}
