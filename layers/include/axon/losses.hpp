#pragma once
// Loss functions (Axon.Losses). Every loss takes (y_true, y_pred) and an options
// struct whose `reduction` defaults to none, as Axon: none keeps the per-sample (or per-element) loss,
// mean and sum reduce it to a scalar. Where Axon differs from the paper / PyTorch / Keras convention
// (marked ⚠; summarized in docs/conventions.md) the conventional math is the default; the difference is documented below.
#include <functional>
#include <optional>
#include <vector>

#include <axon/tensor.hpp>

namespace axon::losses {

enum class Reduction { none, mean, sum };

// Applies a reduction to a loss tensor.
Tensor reduce(const Tensor& loss, Reduction r);

// Per-sample mean over the last axis of the elementwise binary cross-entropy.
// Probabilities: p is clipped to [1e-7, 1 - 1e-7] and -[y log p + (1 - y) log(1 - p)] (Keras).
//   ⚠ Axon also adds 1e-7 inside the logs after clipping; not reproduced.
// from_logits: -y log_sigmoid(x) - (1 - y) log_sigmoid(-x), stable for any |x| (fused kernels).
// Weights (Keras' class-weighted BCE): each element's loss is multiplied by positive_weight where
// y = 1 and negative_weight where y = 0 (y * pw + (1 - y) * nw for soft labels; a missing weight is 1)
// before the per-sample mean. ⚠ Axon instead returns mean(w * loss) over all elements as a scalar
// whatever the reduction; not reproduced.
struct BinaryCrossEntropyOptions {
  std::optional<double> positive_weight;
  std::optional<double> negative_weight;
  bool from_logits = false;
  Reduction reduction = Reduction::none;
};
Tensor binary_cross_entropy(const Tensor& y_true, const Tensor& y_pred, BinaryCrossEntropyOptions o = {});

// -sum over the last (class) axis of y * log p. Dense y (y_pred's shape), or sparse: integer class
// ids of shape y_pred.shape[:-1] or y_pred.shape[:-1] + [1]. Probabilities are not clipped (Axon:
// xlogy, so y = 0 terms are 0). from_logits: one fused log-softmax kernel forward and backward.
// class_weights (one per class): each sample's loss times w[class] (dense labels: the argmax class),
// and mean = sum(w * loss) / sum(w) (PyTorch's weighted mean, and Axon's).
struct CrossEntropyOptions {
  std::vector<double> class_weights;  // empty: none
  bool from_logits = false;
  bool sparse = false;
  Reduction reduction = Reduction::none;
};
Tensor categorical_cross_entropy(const Tensor& y_true, const Tensor& y_pred, CrossEntropyOptions o = {});

struct ReductionOptions {
  Reduction reduction = Reduction::none;
};
// max(0, max_last((1 - y) p) - sum_last(y p) + 1)
Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
// mean_last max(0, 1 - y p)
Tensor hinge(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
// sum_last y log(y / p), y and p clipped to [1e-7, 1]
Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
// mean_last log(cosh(p - y)), as d + softplus(-2d) - log 2 (finite for large |d|)
Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
// elementwise max(0, -y (p1 - p2) + margin)
struct MarginRankingOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::none;
};
Tensor margin_ranking(const Tensor& y_true, const Tensor& y_pred1, const Tensor& y_pred2,
                      MarginRankingOptions o = {});
// elementwise log(1 + e^(-y p)) (stable softplus), as PyTorch's soft_margin_loss: mean reduces over
// every element. ⚠ Axon sums over axis 0 instead (a per-feature loss); not reproduced.
Tensor soft_margin(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});  // mean_last |y - p|
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});   // mean_last (y - p)^2
// Cosine similarity along `axes`: sum(y p) / max(|y| |p|, eps). ⚠ Axon returns the similarity itself,
// which a minimiser would push towards -1; the default here is Keras' loss, the negated similarity.
// `similarity = true` returns the similarity, as Axon (and torch.nn.functional.cosine_similarity).
struct CosineSimilarityOptions {
  std::vector<int64_t> axes = {1};
  double eps = 1e-6;
  bool similarity = false;
  Reduction reduction = Reduction::none;
};
Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred, CosineSimilarityOptions o = {});
// mean_last(p - y log(p + 1e-7))
Tensor poisson(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o = {});
// elementwise |d| <= delta ? d^2 / 2 : delta |d| - delta^2 / 2, d = y - p
struct HuberOptions {
  double delta = 1.0;
  Reduction reduction = Reduction::none;
};
Tensor huber(const Tensor& y_true, const Tensor& y_pred, HuberOptions o = {});
// PyTorch's smooth_l1_loss: elementwise |d| < beta ? d^2 / (2 beta) : |d| - beta / 2, d = y - p;
// beta = 0 is the L1 loss. Equals huber(delta = beta) / beta. Reduction none by default, as the
// other losses here (PyTorch's default is mean).
struct SmoothL1Options {
  double beta = 1.0;
  Reduction reduction = Reduction::none;
};
Tensor smooth_l1(const Tensor& y_true, const Tensor& y_pred, SmoothL1Options o = {});

// CTC: y_pred = log-probabilities {B, T, D}; y_true = labels {B, S} (integer, padded), l_true = label
// lengths {B}. loss[b] = -log p(labels | y_pred), from the log-space forward (alpha) recursion over the
// blank-extended labels, written with axon ops so that autograd differentiates it. Mean divides each
// loss by its label length first (PyTorch's and Axon's mean). ⚠ Axon returns |log(sum + 1e-7)|; the
// exact -log p is returned here (PyTorch). Impossible alignments give a very large loss (about 1e5)
// rather than inf. input_lengths (PyTorch's ctc_loss input_lengths) gives each sequence's number of
// valid time steps T_b in [1, T]: its steps from T_b on are ignored (and get zero gradient).
struct CtcOptions {
  int64_t blank = 0;
  Reduction reduction = Reduction::none;
  Tensor input_lengths = {};  // integer {B}; undefined: every sequence uses all T steps
};
Tensor connectionist_temporal_classification(const Tensor& l_true, const Tensor& y_true, const Tensor& y_pred,
                                             CtcOptions o = {});

// y (1 - s) + s / C, C = y_pred.shape[1] (Axon's class axis; ranks >= 2).
struct LabelSmoothingOptions {
  double smoothing = 0.1;
};
Tensor apply_label_smoothing(const Tensor& y_true, const Tensor& y_pred, LabelSmoothingOptions o = {});
using LossFn = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
// loss_fn(apply_label_smoothing(y, p), p)
LossFn label_smoothing(LossFn loss_fn, LabelSmoothingOptions o = {});

}  // namespace axon::losses
