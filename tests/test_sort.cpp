// sort and topk against a std::stable_sort reference computed here.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "harness.hpp"

using namespace axon;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_equal;
using axon::test::check_grad;
using axon::test::random_tensor;

namespace {

constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

struct Sorted {
  std::vector<double> values, indices;
};

// Stable sort of every line along `axis`; NaN is the greatest value.
Sorted ref_sort(const std::vector<double>& v, const Shape& shape, int64_t axis, bool descending,
                int64_t k = -1) {
  int64_t r = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += r;
  int64_t outer = 1, n = shape[axis], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= shape[d];
  if (k < 0) k = n;
  auto less = [](double a, double b) { return !std::isnan(a) && (std::isnan(b) || a < b); };
  Sorted s;
  s.values.resize(static_cast<size_t>(outer * k * inner));
  s.indices.resize(s.values.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<int64_t> idx(n);
      std::iota(idx.begin(), idx.end(), 0);
      auto val = [&](int64_t j) { return v[(o * n + j) * inner + i]; };
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
        return descending ? less(val(b), val(a)) : less(val(a), val(b));
      });
      for (int64_t j = 0; j < k; ++j) {
        s.values[(o * k + j) * inner + i] = val(idx[j]);
        s.indices[(o * k + j) * inner + i] = static_cast<double>(idx[j]);
      }
    }
  return s;
}

Shape with_axis(Shape s, int64_t axis, int64_t size) {
  s[axis < 0 ? axis + s.size() : axis] = size;
  return s;
}

}  // namespace

TEST_CASE("sort along every axis, both directions, dtypes and layouts", "[ops][sort]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8}) {
    for (int layout = 0; layout < 2; ++layout) {
      // Few distinct values, so ties (and stability) matter.
      double lo = dt == DType::u8 ? 0 : -4;
      Tensor x = random_tensor({4, 5, 6}, dt, lo, lo + 8, 3);
      if (layout == 1) x = random_tensor({6, 4, 5}, dt, lo, lo + 8, 4).permute({1, 2, 0});
      if (is_floating(dt)) x = floor(x);
      auto v = x.to_vector<double>();
      for (int64_t axis : {0, 1, 2, -1}) {
        for (bool desc : {false, true}) {
          INFO(dtype_name(dt) << " layout " << layout << " axis " << axis << " descending " << desc);
          auto [values, indices] = sort(x, axis, desc);
          auto ref = ref_sort(v, x.shape(), axis, desc);
          CHECK(values.dtype() == dt);
          CHECK(indices.dtype() == DType::i64);
          check_equal(values, ref.values, x.shape());
          check_equal(indices, ref.indices, x.shape());
          check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return sort(in[0], axis, desc).first; },
                                 {x}, {0, 0});
          check_cuda_matches_cpu(
              [&](const std::vector<Tensor>& in) { return sort(in[0], axis, desc).second; }, {x}, {0, 0});
        }
      }
    }
  }
}

TEST_CASE("sort puts NaN last ascending and first descending; -0 and 0 keep their order", "[ops][sort]") {
  Tensor x = tensor({3, kNaNF, -1, 0.0f, -0.0f, kNaNF, 2});
  auto [va, ia] = sort(x);
  auto a = va.to_vector<double>();
  check_equal(ia, {2, 3, 4, 6, 0, 1, 5}, {7});
  CHECK(a[0] == -1);
  CHECK(std::signbit(a[2]));  // -0.0 stays after 0.0 (stable), and keeps its sign
  CHECK(std::isnan(a[5]));
  CHECK(std::isnan(a[6]));
  auto [vd, id] = sort(x, 0, true);
  check_equal(id, {1, 5, 0, 6, 3, 4, 2}, {7});
  for (bool desc : {false, true}) {
    check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return sort(in[0], 0, desc).second; }, {x},
                           {0, 0});
    check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return sort(in[0], 0, desc).first; }, {x},
                           {0, 0});
  }
}

TEST_CASE("sort of long rows, many short rows, 0-d and empty tensors", "[ops][sort]") {
  for (auto shape : {Shape{100000}, Shape{3000, 7}, Shape{2, 50000}}) {
    Tensor x = random_tensor(shape, DType::f32, -100, 100, 5);
    auto v = x.to_vector<double>();
    auto ref = ref_sort(v, shape, -1, false);
    auto [values, indices] = sort(x);
    check_equal(values, ref.values, shape);
    check_equal(indices, ref.indices, shape);
    check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sort(in[0], -1, true).second; }, {x},
                           {0, 0});
  }
  auto [v0, i0] = sort(scalar_tensor(2.0));
  check_equal(v0, {2}, {});
  check_equal(i0, {0}, {});
  auto [ve, ie] = sort(zeros({3, 0}), 1);
  CHECK(ve.shape() == Shape{3, 0});
  CHECK(ie.shape() == Shape{3, 0});
  auto [ve0, ie0] = sort(zeros({0, 4}), 1);
  CHECK(ve0.shape() == Shape{0, 4});
  check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return sort(in[0], 1).first; }, {zeros({0, 4})},
                         {0, 0});
}

TEST_CASE("topk: largest and smallest, sorted, first indices on ties", "[ops][sort]") {
  Tensor x = tensor({5, 1, 5, 3, 2, 3}, {2, 3});
  auto [v, i] = topk(x, 2, 1);
  check_equal(v, {5, 5, 3, 3}, {2, 2});
  check_equal(i, {0, 2, 0, 2}, {2, 2});
  auto [vs, is] = topk(x, 1, 0, false);
  check_equal(vs, {3, 1, 3}, {1, 3});
  check_equal(is, {1, 0, 1}, {1, 3});
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    Tensor r = random_tensor({4, 9, 3}, dt, -50, 50, 6).permute({0, 2, 1});  // [4, 3, 9], non-contiguous
    auto rv = r.to_vector<double>();
    for (int64_t axis : {0, 1, 2}) {
      for (int64_t k : {int64_t(0), int64_t(1), int64_t(3), r.shape()[axis]}) {
        for (bool largest : {true, false}) {
          INFO(dtype_name(dt) << " axis " << axis << " k " << k << " largest " << largest);
          auto ref = ref_sort(rv, r.shape(), axis, largest, k);
          auto [tv, ti] = topk(r, k, axis, largest);
          check_equal(tv, ref.values, with_axis(r.shape(), axis, k));
          check_equal(ti, ref.indices, with_axis(r.shape(), axis, k));
          check_cuda_matches_cpu(
              [&](const std::vector<Tensor>& in) { return topk(in[0], k, axis, largest).second; }, {r},
              {0, 0});
        }
      }
    }
  }
}

TEST_CASE("sort and topk errors", "[ops][sort][errors]") {
  Tensor x = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(topk(x, 4, 1),
                           "topk: k = 4 is out of range for axis 1 of size 3 (f32[2, 3] on cpu)");
  AXON_REQUIRE_THROWS_WITH(topk(x, -1), "topk: k = -1 is out of range");
  AXON_REQUIRE_THROWS_WITH(topk(x, 1, 2), "topk: axis 2 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(sort(x, -3), "sort: axis -3 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(sort(Tensor()), "sort: input is an undefined tensor");
}

TEST_CASE("gradients of sort and topk values", "[autograd][sort]") {
  // Distinct values: the sort is locally constant, so finite differences are well defined.
  Tensor x = random_tensor({3, 4, 5}, DType::f64, -1, 1, 8);
  for (int64_t axis : {0, 1, -1}) {
    for (bool desc : {false, true}) {
      check_grad([=](const std::vector<Tensor>& in) { return sort(in[0], axis, desc).first; }, {x});
      check_grad([=](const std::vector<Tensor>& in) { return topk(in[0], 2, axis, desc).first; }, {x});
    }
  }
  check_grad([](const std::vector<Tensor>& in) { return topk(in[0].t(), 3, 0).first; }, {x.select(2, 0)});
  auto [val, g] = value_and_grad([](const Tensor& t) { return sum(topk(t, 2).first); },
                                 tensor({1, 4, 2, 3}).to(DType::f64));
  check_equal(g, {0, 1, 0, 1}, {4});
}

TEST_CASE("CUDA sort of more than 2^31 elements sorts every row", "[cuda][sort]") {
  AXON_REQUIRE_CUDA();
  // 2^16 + 1 rows of 2^15 u8 (2 GiB; with the i64 indices about 26 GiB of device memory in all): the
  // rows go to CUB in chunks whose counts fit its 32-bit item counts.
  const int64_t n = int64_t(1) << 15, rows = (int64_t(1) << 16) + 1;
  std::vector<uint8_t> row(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) row[static_cast<size_t>(c)] = static_cast<uint8_t>((c * 37 + c / 256) % 251);
  const Tensor cpu_row = from_vector(row, {1, n});
  const auto [want_v, want_i] = sort(cpu_row, 1);
  const Device d = Device::cuda(0);
  Tensor x = contiguous(expand(cpu_row.to(d), {rows, n}));
  auto [v, i] = sort(x, 1);
  for (int64_t r : {int64_t(0), rows / 2, rows - 2, rows - 1}) {
    INFO("row " << r);
    check_equal(v.slice(0, r, r + 1), want_v.to_vector<double>(), {1, n});
    check_equal(i.slice(0, r, r + 1), want_i.to_vector<double>(), {1, n});
  }
}
