// concat, stack, split and pad: values against loops written here, dtype promotion, negative
// axes, layouts, empty tensors, gradients, CUDA against CPU, and errors.
#include <string>

#include "harness.hpp"

using namespace axon;
using test::random_tensor;
using test::ravel;
using test::unravel;

namespace {

using Pads = std::vector<std::pair<int64_t, int64_t>>;

// Concatenation in plain loops: each output element finds the input that holds it.
std::vector<double> ref_concat(const std::vector<Tensor>& xs, int64_t axis, Shape& shape) {
  shape = xs[0].shape();
  shape[axis] = 0;
  for (const auto& x : xs) shape[axis] += x.shape()[axis];
  std::vector<std::vector<double>> vals;
  for (const auto& x : xs) vals.push_back(x.to_vector<double>());
  std::vector<double> out;
  for (int64_t p = 0; p < numel(shape); ++p) {
    auto c = unravel(p, shape);
    size_t t = 0;
    while (c[axis] >= xs[t].shape()[axis]) c[axis] -= xs[t++].shape()[axis];
    out.push_back(vals[t][ravel(c, xs[t].shape())]);
  }
  return out;
}

std::vector<double> ref_pad(const Tensor& x, const Pads& pads, double value, Shape& shape) {
  shape = x.shape();
  for (size_t d = 0; d < pads.size(); ++d) shape[d] += pads[d].first + pads[d].second;
  auto xv = x.to_vector<double>();
  std::vector<double> out;
  for (int64_t p = 0; p < numel(shape); ++p) {
    auto c = unravel(p, shape);
    bool inside = true;
    for (size_t d = 0; d < pads.size(); ++d) {
      c[d] -= pads[d].first;
      inside = inside && c[d] >= 0 && c[d] < x.shape()[d];
    }
    out.push_back(inside ? xv[ravel(c, x.shape())] : value);
  }
  return out;
}

const std::vector<DType> kTypes = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64};

}  // namespace

TEST_CASE("concat joins along an axis", "[ops]") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2}), b = tensor({5, 6}, {1, 2}), c = tensor({7, 8}, {2, 1});
  test::check_equal(concat({a, b}), {1, 2, 3, 4, 5, 6}, {3, 2});
  test::check_equal(concat({a, c}, 1), {1, 2, 7, 3, 4, 8}, {2, 3});
  test::check_equal(concat({c, a, c}, -1), {7, 1, 2, 7, 8, 3, 4, 8}, {2, 4});
  test::check_equal(concat({a}), {1, 2, 3, 4}, {2, 2});

  for (DType dt : kTypes) {
    std::vector<Tensor> xs = {random_tensor({2, 3, 4}, dt, -5, 5, 1), random_tensor({2, 1, 4}, dt, -5, 5, 2),
                              random_tensor({2, 5, 4}, dt, -5, 5, 3).slice(1, 1, 4),  // non-contiguous
                              random_tensor({4, 2, 2}, dt, -5, 5, 4).permute({1, 2, 0})};  // [2, 2, 4]
    Shape shape;
    auto expected = ref_concat(xs, 1, shape);
    Tensor y = concat(xs, 1);
    CHECK(y.dtype() == dt);
    test::check_equal(y, expected, shape);
    std::vector<Tensor> ys = {xs[0], random_tensor({3, 3, 4}, dt, -5, 5, 5)};
    test::check_equal(concat(ys, 0), ref_concat(ys, 0, shape), shape);
    std::vector<Tensor> zs = {xs[0], random_tensor({2, 3, 1}, dt, -5, 5, 6)};
    test::check_equal(concat(zs, -1), ref_concat(zs, 2, shape), shape);
  }
}

TEST_CASE("concat promotes dtypes like torch.cat", "[ops]") {
  Tensor f = tensor({1.5f}, {1});
  CHECK(concat({f, from_vector(std::vector<double>{2.25})}).dtype() == DType::f64);
  Tensor i = from_vector(std::vector<int32_t>{3}, {1});
  Tensor y = concat({i, f});
  CHECK(y.dtype() == DType::f32);
  test::check_equal(y, {3, 1.5}, {2});
  CHECK(concat({i, from_vector(std::vector<int64_t>{4}, {1})}).dtype() == DType::i64);
  CHECK(concat({random_tensor({1}, DType::bf16), random_tensor({1}, DType::f16)}).dtype() == DType::f32);
  Tensor bl = from_vector(std::vector<bool>{true, false}, {2});
  test::check_equal(concat({bl, i}), {1, 0, 3}, {3});
}

TEST_CASE("concat and stack with empty tensors", "[ops]") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2});
  test::check_equal(concat({empty({0, 2}), a, empty({0, 2})}), {1, 2, 3, 4}, {2, 2});
  CHECK(concat({empty({0, 2}), empty({0, 2})}).shape() == Shape{0, 2});
  CHECK(concat({empty({3, 0}), empty({3, 0})}, 0).shape() == Shape{6, 0});
  CHECK(stack({empty({0, 2}), empty({0, 2})}, 1).shape() == Shape{0, 2, 2});
}

TEST_CASE("stack adds an axis", "[ops]") {
  Tensor a = tensor({1, 2, 3}), b = tensor({4, 5, 6});
  test::check_equal(stack({a, b}), {1, 2, 3, 4, 5, 6}, {2, 3});
  test::check_equal(stack({a, b}, 1), {1, 4, 2, 5, 3, 6}, {3, 2});
  test::check_equal(stack({a, b}, -1), {1, 4, 2, 5, 3, 6}, {3, 2});
  test::check_equal(stack({scalar_tensor(7), scalar_tensor(8), scalar_tensor(9)}), {7, 8, 9}, {3});
  Tensor m = tensor({1, 2, 3, 4}, {2, 2});
  test::check_equal(stack({m, m.t()}, 1), {1, 2, 1, 3, 3, 4, 2, 4}, {2, 2, 2});
}

TEST_CASE("split returns views in order", "[ops]") {
  Tensor x = tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {4, 3});
  auto parts = split(x, std::vector<int64_t>{1, 0, 3}, 0);
  REQUIRE(parts.size() == 3);
  test::check_equal(parts[0], {0, 1, 2}, {1, 3});
  CHECK(parts[1].shape() == Shape{0, 3});
  test::check_equal(parts[2], {3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 3});
  auto cols = split(x, std::vector<int64_t>{2, 1}, -1);
  test::check_equal(cols[0], {0, 1, 3, 4, 6, 7, 9, 10}, {4, 2});
  test::check_equal(cols[1], {2, 5, 8, 11}, {4, 1});
  auto chunks = split(x, int64_t{3}, 0);  // 3 + 1
  REQUIRE(chunks.size() == 2);
  test::check_equal(chunks[1], {9, 10, 11}, {1, 3});
  auto c2 = split(x, int64_t{2}, 1);
  REQUIRE(c2.size() == 2);
  test::check_equal(c2[0], {0, 1, 3, 4, 6, 7, 9, 10}, {4, 2});
  auto big = split(x, int64_t{10}, 0);
  REQUIRE(big.size() == 1);
  CHECK(big[0].shape() == Shape{4, 3});
  auto none = split(empty({0, 3}), int64_t{2}, 0);
  REQUIRE(none.size() == 1);
  CHECK(none[0].shape() == Shape{0, 3});
}

TEST_CASE("pad fills with a constant and crops with negative pads", "[ops]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  test::check_equal(pad(x, {{1, 0}, {2, 1}}, 9), {9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9}, {3, 6});
  test::check_equal(pad(x, {{0, 1}}), {1, 2, 3, 4, 5, 6, 0, 0, 0}, {3, 3});  // leading axes only
  test::check_equal(pad(x, {{0, 0}, {-1, 1}}, -1), {2, 3, -1, 5, 6, -1}, {2, 3});
  test::check_equal(pad(x, {{-1, 0}, {-1, -1}}), {5}, {1, 1});
  test::check_equal(pad(x, {}), {1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(pad(x, {{-2, 0}}).shape() == Shape{0, 3});
  test::check_equal(pad(x, {{0, 0}, {-4, 3}}, 7), {7, 7, 7, 7}, {2, 2});  // everything cropped, then padded
  test::check_equal(pad(empty({0, 2}), {{1, 1}}, 3), {3, 3, 3, 3}, {2, 2});

  const std::vector<Pads> cases = {{{1, 2}, {0, 0}, {3, 1}}, {{0, 0}, {-1, 2}}, {{-1, -1}, {1, -2}, {0, 1}}};
  for (DType dt : kTypes) {
    Tensor xr = random_tensor({3, 4, 5}, dt, -5, 5, 7);
    for (const Pads& p : cases) {
      Shape shape;
      auto expected = ref_pad(xr, p, 2, shape);
      test::check_equal(pad(xr, p, 2), expected, shape);
      Tensor xt = xr.transpose(0, 2);  // [5, 4, 3]
      expected = ref_pad(xt, p, -3, shape);
      test::check_equal(pad(xt, p, -3), expected, shape);
    }
  }
}

TEST_CASE("joining and padding gradients match finite differences", "[autograd]") {
  auto a = random_tensor({2, 3}, DType::f64, -1, 1, 10), b = random_tensor({2, 2}, DType::f64, -1, 1, 11);
  test::check_grad([](const std::vector<Tensor>& v) { return concat({v[0], v[1], v[0]}, 1); }, {a, b});
  test::check_grad([](const std::vector<Tensor>& v) { return concat({v[0].t(), v[1]}, 0); }, {a, b});
  auto c = random_tensor({2, 3}, DType::f64, -1, 1, 12);
  test::check_grad([](const std::vector<Tensor>& v) { return stack({v[0], v[1]}, 1); }, {a, c});
  test::check_grad([](const std::vector<Tensor>& v) { return stack({v[1], v[0], v[1]}, -1); }, {a, c});
  test::check_grad(
      [](const std::vector<Tensor>& v) {
        auto p = split(v[0], std::vector<int64_t>{1, 2}, 1);
        return concat({mul(p[1], p[1]), p[0]}, 1);
      },
      {a});
  // An integer input takes no gradient; the float one gets its slice of g.
  Tensor i = from_vector(std::vector<int32_t>{1, 2}, {1, 2});
  test::check_grad([](const std::vector<Tensor>& v) { return concat({v[1], v[0]}, 0); }, {b, i});
  test::check_grad([](const std::vector<Tensor>& v) { return pad(v[0], {{1, 2}, {0, 1}}, 5); }, {a});
  test::check_grad([](const std::vector<Tensor>& v) { return pad(v[0], {{-1, 1}, {2, -2}}); }, {a});
  // pad's gradient is pad, so it is differentiable again.
  test::check_grad(
      [](const std::vector<Tensor>& v) {
        auto g = grad([&](const Tensor& t) { return sum(mul(pad(t, {{1, -1}}), v[1])); }, v[0]);
        return mul(g, v[0]);
      },
      {a, random_tensor({2, 3}, DType::f64, -1, 1, 13)});
}

TEST_CASE("joining and padding on CUDA match the CPU", "[ops]") {
  for (DType dt : kTypes) {
    auto tol = test::tol_for(dt);
    Tensor a = random_tensor({3, 4}, dt, -3, 3, 20), b = random_tensor({3, 2}, dt, -3, 3, 21);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return concat({v[0], v[1], v[0]}, -1); },
                                 {a, b}, tol);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return concat({v[0].t(), v[1].t()}, 0); },
                                 {a, b}, tol);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return stack({v[0], v[0]}, 1); }, {a}, tol);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return pad(v[0], {{1, 2}, {-1, 3}}, 4); },
                                 {a}, tol);
    test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return split(v[0], int64_t{3}, 1)[1]; },
                                 {a}, tol);
  }
  test::check_cuda_matches_cpu([](const std::vector<Tensor>& v) { return concat({v[0], v[1]}, 0); },
                               {random_tensor({2, 2}, DType::i32, -3, 3, 22), random_tensor({1, 2}, DType::f64, -1, 1, 23)},
                               test::tol_for(DType::f64));
}

TEST_CASE("joining and padding errors name the op and the shapes", "[errors]") {
  AXON_REQUIRE_THROWS_WITH(concat({zeros({2, 3}), zeros({2, 4})}, 0),
                   "concat: shapes [2, 3] and [2, 4] differ outside the concatenation axis 0");
  AXON_REQUIRE_THROWS_WITH(concat({zeros({2, 3}), zeros({3})}, 0), "concat: tensors must have the same rank, got shapes [2, 3], [3]");
  AXON_REQUIRE_THROWS_WITH(concat({scalar_tensor(1), scalar_tensor(2)}), "concat: cannot concatenate 0-d tensors");
  AXON_REQUIRE_THROWS_WITH(concat({}), "concat: needs at least one tensor");
  AXON_REQUIRE_THROWS_WITH(concat({zeros({2}), Tensor()}), "concat: tensor 1 is undefined");
  AXON_REQUIRE_THROWS_WITH(concat({zeros({2}), zeros({2})}, 1), "concat");
  AXON_REQUIRE_THROWS_WITH(stack({zeros({2, 3}), zeros({3, 2})}), "stack: tensors must have the same shape, got [2, 3], [3, 2]");
  AXON_REQUIRE_THROWS_WITH(stack({zeros({2}), zeros({2})}, 2), "stack");
  AXON_REQUIRE_THROWS_WITH(stack({}), "stack: needs at least one tensor");
  AXON_REQUIRE_THROWS_WITH(split(zeros({4, 3}), std::vector<int64_t>{1, 2}, 0), "split: sizes [1, 2] sum to 3 but axis 0");
  AXON_REQUIRE_THROWS_WITH(split(zeros({4, 3}), std::vector<int64_t>{5, -1}, 0), "negative size");
  AXON_REQUIRE_THROWS_WITH(split(zeros({4, 3}), int64_t{0}, 0), "split: chunk size must be positive, got 0");
  AXON_REQUIRE_THROWS_WITH(split(scalar_tensor(1), int64_t{1}, 0), "split: cannot split a 0-d tensor");
  AXON_REQUIRE_THROWS_WITH(pad(zeros({2}), {{1, 1}, {1, 1}}), "pad: 2 (before, after) pairs given for f32[2] on cpu");
  AXON_REQUIRE_THROWS_WITH(pad(zeros({2, 3}), {{0, 0}, {-2, -2}}), "pad: padding (-2, -2) leaves axis 1");
}
