// Metrics against counts and fractions computed here by hand.
#include <axon/metrics.hpp>

#include "harness.hpp"

using namespace axon;
namespace m = axon::metrics;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_equal;
using Ts = std::vector<Tensor>;

namespace {
Tensor f64(std::vector<double> v, Shape s) { return from_vector(v, s); }
Tensor ids(std::vector<int64_t> v, Shape s) { return from_vector(v, s); }
const axon::test::Tol kTol{1e-6, 1e-7};
}  // namespace

TEST_CASE("accuracy: binary, categorical, sparse, from logits", "[metrics]") {
  // binary {B, 1}: predictions > 0.5 -> 1 0 1 1 vs 1 0 0 1: 3 of 4
  Tensor yb = f64({1, 0, 0, 1}, {4, 1}), pb = f64({0.9, 0.2, 0.6, 0.51}, {4, 1});
  check_close(m::accuracy(yb, pb), {0.75}, {}, kTol);
  // logits: > 0 -> 1 0 0 1: 4 of 4
  check_close(m::accuracy(yb, f64({2, -1, -0.1, 0.3}, {4, 1}), {.from_logits = true}), {1.0}, {}, kTol);
  // exactly 0.5 is not positive
  check_close(m::accuracy(f64({1}, {1, 1}), f64({0.5}, {1, 1})), {0.0}, {}, kTol);
  // categorical: argmax rows 1, 0, 2 vs truth 1, 2, 2
  Tensor p = f64({0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.1, 0.1, 0.8}, {3, 3});
  Tensor y = f64({0, 1, 0, 0, 0, 1, 0, 0, 1}, {3, 3});
  check_close(m::accuracy(y, p), {2.0 / 3}, {}, kTol);
  check_close(m::accuracy(ids({1, 2, 2}, {3}), p, {.sparse = true}), {2.0 / 3}, {}, kTol);
  check_close(m::accuracy(ids({1, 0, 2}, {3, 1}), p, {.sparse = true}), {1.0}, {}, kTol);
  check_close(m::accuracy(y, log(p), {.from_logits = true}), {2.0 / 3}, {}, kTol);
  check_cuda_matches_cpu([](const Ts& v) { return m::accuracy(v[0], v[1]); }, {y, p}, kTol);
}

TEST_CASE("confusion counts, precision, recall, specificity", "[metrics]") {
  // y:    1 1 0 0 1 0
  // p>.5: 1 0 1 0 1 0  -> tp 2, fn 1, fp 1, tn 2
  Tensor y = f64({1, 1, 0, 0, 1, 0}, {6}), p = f64({0.8, 0.3, 0.9, 0.1, 0.6, 0.5}, {6});
  Tensor tp = m::true_positives(y, p);
  CHECK(tp.dtype() == DType::i64);
  check_equal(tp, {2}, {});
  check_equal(m::false_negatives(y, p), {1}, {});
  check_equal(m::false_positives(y, p), {1}, {});
  check_equal(m::true_negatives(y, p), {2}, {});
  check_close(m::precision(y, p), {2.0 / 3}, {}, kTol);
  check_close(m::recall(y, p), {2.0 / 3}, {}, kTol);
  check_close(m::sensitivity(y, p), {2.0 / 3}, {}, kTol);
  check_close(m::specificity(y, p), {2.0 / 3}, {}, kTol);
  // threshold 0.2: p > 0.2 -> 1 1 1 0 1 1: tp 3, fp 2, tn 1
  check_equal(m::true_positives(y, p, {.threshold = 0.2}), {3}, {});
  check_close(m::precision(y, p, {.threshold = 0.2}), {0.6}, {}, kTol);
  check_close(m::specificity(y, p, {.threshold = 0.2}), {1.0 / 3}, {}, kTol);
  // no positives predicted: precision 0, not NaN
  check_close(m::precision(y, zeros({6}, DType::f64)), {0.0}, {}, kTol);
  AXON_REQUIRE_THROWS_WITH(m::precision(y, p.slice(0, 0, 5)), "precision");
  AXON_REQUIRE_THROWS_WITH(m::true_positives(y, p.slice(0, 0, 5)), "must have the same shape");
}

TEST_CASE("mean absolute error metric", "[metrics]") {
  Tensor y = f64({1, 2, 3, 4}, {2, 2}), p = f64({1.5, 2, 2, 8}, {2, 2});
  check_close(m::mean_absolute_error(y, p), {(0.5 + 0 + 1 + 4) / 4.0}, {}, kTol);
}

TEST_CASE("top-k categorical accuracy", "[metrics]") {
  Tensor p = f64({0.1, 0.5, 0.3, 0.1,    // order 1, 2, {0, 3}
                  0.4, 0.3, 0.2, 0.1,    // order 0, 1, 2, 3
                  0.25, 0.25, 0.2, 0.3}, // order 3, 0, 1, 2 (tie: lower index first)
                 {3, 4});
  Tensor truth = ids({2, 3, 1}, {3});
  check_close(m::top_k_categorical_accuracy(truth, p, {.k = 1, .sparse = true}), {0.0}, {}, kTol);
  check_close(m::top_k_categorical_accuracy(truth, p, {.k = 2, .sparse = true}), {1.0 / 3}, {}, kTol);
  check_close(m::top_k_categorical_accuracy(truth, p, {.k = 3, .sparse = true}), {2.0 / 3}, {}, kTol);
  check_close(m::top_k_categorical_accuracy(truth, p, {.k = 4, .sparse = true}), {1.0}, {}, kTol);
  Tensor oh = f64({0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0}, {3, 4});
  check_close(m::top_k_categorical_accuracy(oh, p, {.k = 3}), {2.0 / 3}, {}, kTol);
  // rank 1
  check_close(m::top_k_categorical_accuracy(f64({0, 0, 1, 0}, {4}), p.select(0, 0), {.k = 2}), {1.0}, {}, kTol);
  AXON_REQUIRE_THROWS_WITH(m::top_k_categorical_accuracy(oh, p), "k = 5 must lie in [1, 4]");
  AXON_REQUIRE_THROWS_WITH(m::top_k_categorical_accuracy(truth.to(DType::f32), p, {.k = 2, .sparse = true}),
                           "integer class ids");
  AXON_REQUIRE_THROWS_WITH(m::top_k_categorical_accuracy(oh.slice(1, 0, 3), p, {.k = 2}), "must have y_pred's shape");
  check_cuda_matches_cpu([&](const Ts& v) { return m::top_k_categorical_accuracy(v[0], v[1], {.k = 2}); }, {oh, p},
                         kTol);
}

TEST_CASE("metric errors on bad labels", "[metrics][errors]") {
  Tensor p = f64({0.1, 0.9, 0.8, 0.2}, {2, 2});
  AXON_REQUIRE_THROWS_WITH(m::accuracy(ids({1, 0, 1}, {3}), p, {.sparse = true}), "sparse y_true i64[3] on cpu must have shape [2]");
  AXON_REQUIRE_THROWS_WITH(m::accuracy(f64({1, 0}, {2}), p), "must have y_pred's shape");
  AXON_REQUIRE_THROWS_WITH(m::accuracy(f64({1, 0, 1}, {3, 1}), f64({1, 0}, {2, 1})), "differ in size");
}

TEST_CASE("running_average and running_sum", "[metrics]") {
  auto avg = m::running_average([](const Tensor& y, const Tensor& p) { return m::accuracy(y, p); });
  auto total = m::running_sum([](const Tensor& y, const Tensor& p) { return m::mean_absolute_error(y, p); });
  Tensor y = f64({1, 0}, {2, 1});
  std::vector<Tensor> preds = {f64({0.9, 0.1}, {2, 1}), f64({0.1, 0.1}, {2, 1}), f64({0.1, 0.9}, {2, 1})};
  // accuracies 1, 0.5, 0 -> running means 1, 0.75, 0.5; mae 0.1, 0.5, 0.9 -> sums 0.1, 0.6, 1.5
  std::vector<double> means = {1, 0.75, 0.5}, sums = {0.1, 0.6, 1.5};
  Tensor a, s;
  for (int64_t i = 0; i < 3; ++i) {
    a = avg(a, y, preds[i], i);
    s = total(s, y, preds[i], i);
    check_close(a, {means[i]}, {}, kTol);
    check_close(s, {sums[i]}, {}, kTol);
  }
}
