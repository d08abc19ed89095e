#include <axon/metrics.hpp>

#include <axon/autograd.hpp>
#include <axon/ops.hpp>

namespace axon::metrics {

namespace {
void check_defined(const char* op, const Tensor& y, const Tensor& p) {
  AXON_CHECK(y.defined() && p.defined(), op, "y_true and y_pred must be defined tensors");
  AXON_CHECK(y.device() == p.device(), op, "y_true {} and y_pred {} are on different devices", describe(y),
             describe(p));
}
void check_same(const char* op, const Tensor& y, const Tensor& p) {
  check_defined(op, y, p);
  AXON_CHECK(y.shape() == p.shape(), op, "y_true {} and y_pred {} must have the same shape", describe(y),
             describe(p));
}
// Sparse class ids of shape rows or rows + [1], as i64 of shape rows.
Tensor class_ids(const char* op, const Tensor& y, const Shape& rows) {
  AXON_CHECK(is_integral(y.dtype()), op, "sparse y_true must hold integer class ids (u8, i32 or i64), got {}",
             describe(y));
  Shape with_one = rows;
  with_one.push_back(1);
  AXON_CHECK(y.shape() == rows || y.shape() == with_one, op, "sparse y_true {} must have shape {} or {}",
             describe(y), to_string(rows), to_string(with_one));
  return cast(y.reshape(rows), DType::i64);
}
Tensor fraction(const Tensor& hits) { return mean(cast(hits, DType::f32)); }

struct Confusion {
  Tensor pred, truth;  // bool
};
Confusion confusion(const char* op, const Tensor& y, const Tensor& p, double thr) {
  check_same(op, y, p);
  return {gt(p, thr), ne(y, 0)};
}
Tensor count(const Tensor& b) { return sum(cast(b, DType::i64)); }
}  // namespace

Tensor accuracy(const Tensor& y_true, const Tensor& y_pred, AccuracyOptions o) {
  NoGrad ng;
  check_defined("accuracy", y_true, y_pred);
  const bool binary = y_pred.dim() <= 1 || (y_pred.dim() == 2 && y_pred.shape()[1] == 1);
  if (binary) {
    AXON_CHECK(y_true.numel() == y_pred.numel(), "accuracy", "y_true {} and binary y_pred {} differ in size",
               describe(y_true), describe(y_pred));
    Tensor pred = o.from_logits ? gt(y_pred, 0) : gt(y_pred, 0.5);
    return fraction(eq(pred.reshape({y_pred.numel()}), ne(y_true, 0).reshape({y_pred.numel()})));
  }
  const Shape rows(y_pred.shape().begin(), y_pred.shape().end() - 1);
  Tensor pred = argmax(y_pred, -1);  // softmax keeps the argmax: from_logits changes nothing here
  if (o.sparse) return fraction(eq(pred, class_ids("accuracy", y_true, rows)));
  AXON_CHECK(y_true.shape() == y_pred.shape(), "accuracy", "y_true {} must have y_pred's shape {} (or use sparse)",
             describe(y_true), describe(y_pred));
  return fraction(eq(pred, argmax(y_true, -1)));
}

Tensor true_positives(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  auto c = confusion("true_positives", y, p, o.threshold);
  return count(logical_and(c.pred, c.truth));
}
Tensor false_positives(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  auto c = confusion("false_positives", y, p, o.threshold);
  return count(logical_and(c.pred, logical_not(c.truth)));
}
Tensor true_negatives(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  auto c = confusion("true_negatives", y, p, o.threshold);
  return count(logical_and(logical_not(c.pred), logical_not(c.truth)));
}
Tensor false_negatives(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  auto c = confusion("false_negatives", y, p, o.threshold);
  return count(logical_and(logical_not(c.pred), c.truth));
}

namespace {
Tensor ratio(const Tensor& num, const Tensor& other) {
  Tensor n = cast(num, DType::f32);
  return div(n, add(add(n, cast(other, DType::f32)), 1e-16));
}
}  // namespace

Tensor precision(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  check_same("precision", y, p);
  return ratio(true_positives(y, p, o), false_positives(y, p, o));
}
Tensor recall(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  check_same("recall", y, p);
  return ratio(true_positives(y, p, o), false_negatives(y, p, o));
}
Tensor sensitivity(const Tensor& y, const Tensor& p, ThresholdOptions o) { return recall(y, p, o); }
Tensor specificity(const Tensor& y, const Tensor& p, ThresholdOptions o) {
  NoGrad ng;
  check_same("specificity", y, p);
  return ratio(true_negatives(y, p, o), false_positives(y, p, o));
}

Tensor mean_absolute_error(const Tensor& y, const Tensor& p) {
  check_same("mean_absolute_error", y, p);
  Tensor yf = is_floating(y.dtype()) ? y : cast(y, DType::f32);
  Tensor pf = is_floating(p.dtype()) ? p : cast(p, DType::f32);
  return mean(abs(sub(yf, pf)));
}

Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, TopKOptions o) {
  NoGrad ng;
  const char* op = "top_k_categorical_accuracy";
  check_defined(op, y_true, y_pred);
  AXON_CHECK(y_pred.dim() == 1 || y_pred.dim() == 2, op, "y_pred must have rank 1 or 2, got {}", describe(y_pred));
  const int64_t classes = y_pred.shape().back();
  AXON_CHECK(o.k >= 1 && o.k <= classes, op, "k = {} must lie in [1, {}] (the number of classes of y_pred {})", o.k,
             classes, describe(y_pred));
  Tensor p = y_pred.dim() == 1 ? unsqueeze(y_pred, 0) : y_pred;
  const Shape rows{p.shape()[0]};
  Tensor truth;
  if (o.sparse) {
    truth = class_ids(op, y_true.dim() == 0 ? y_true.reshape({1}) : y_true, rows);
  } else {
    AXON_CHECK(y_true.shape() == y_pred.shape(), op, "y_true {} must have y_pred's shape {} (or use sparse)",
               describe(y_true), describe(y_pred));
    truth = argmax(y_pred.dim() == 1 ? unsqueeze(y_true, 0) : y_true, -1);
  }
  Tensor top = topk(p, o.k, -1, true).second;  // {B, k}
  return fraction(any(eq(top, unsqueeze(truth, -1)), {-1}));
}

RunningMetric running_average(Metric metric) {
  return [metric = std::move(metric)](const Tensor& acc, const Tensor& y, const Tensor& p, int64_t i) {
    Tensor obs = metric(y, p);
    if (i == 0 || !acc.defined()) return obs;
    return div(add(mul(acc, double(i)), obs), double(i + 1));
  };
}
RunningMetric running_sum(Metric metric) {
  return [metric = std::move(metric)](const Tensor& acc, const Tensor& y, const Tensor& p, int64_t i) {
    Tensor obs = metric(y, p);
    if (i == 0 || !acc.defined()) return obs;
    return add(acc, obs);
  };
}

}  // namespace axon::metrics
