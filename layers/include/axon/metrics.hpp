#pragma once
// Metrics (Axon.Metrics): (y_true, y_pred) -> a 0-d tensor. Not differentiable by
// design (comparisons and argmax); results are f32 (counts are i64).
#include <functional>

#include <axon/tensor.hpp>

namespace axon::metrics {

// y_pred of shape {B, 1} (or {B}): binary, prediction = y_pred > 0.5 (sigmoid first when from_logits,
// i.e. logit > 0) compared with y_true != 0. Otherwise categorical: argmax over the last axis of y_pred
// against argmax of y_true, or against y_true itself (integer class ids, shape {B} or {B, 1}) when sparse.
struct AccuracyOptions {
  bool from_logits = false;
  bool sparse = false;
};
Tensor accuracy(const Tensor& y_true, const Tensor& y_pred, AccuracyOptions o = {});

struct ThresholdOptions {
  double threshold = 0.5;
};
// Counts (i64) of (y_pred > threshold) against y_true != 0.
Tensor true_positives(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});
Tensor false_positives(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});
Tensor true_negatives(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});
Tensor false_negatives(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});
Tensor precision(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});    // tp / (tp + fp + 1e-16)
Tensor recall(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});       // tp / (tp + fn + 1e-16)
Tensor sensitivity(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});  // = recall
Tensor specificity(const Tensor& y_true, const Tensor& y_pred, ThresholdOptions o = {});  // tn / (fp + tn + 1e-16)

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);  // mean over every element

// Fraction of samples whose true class is among the k largest predictions (ties: the lower index
// first). y_pred {B, C} (or {C}); y_true one-hot of the same shape, or class ids {B} / {B, 1} if sparse.
struct TopKOptions {
  int64_t k = 5;
  bool sparse = false;
};
Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, TopKOptions o = {});

// Combinators over batches: given the running value, a batch and its 0-based index i,
//   running_average: (acc * i + metric(y, p)) / (i + 1);   running_sum: acc + metric(y, p).
// At i = 0 the running value is ignored (pass an undefined Tensor).
using Metric = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
using RunningMetric =
    std::function<Tensor(const Tensor& acc, const Tensor& y_true, const Tensor& y_pred, int64_t i)>;
RunningMetric running_average(Metric metric);
RunningMetric running_sum(Metric metric);

}  // namespace axon::metrics
