#include <axon/losses.hpp>

#include <cmath>

#include <axon/autograd.hpp>
#include <axon/nn_ops.hpp>
#include <axon/ops.hpp>

namespace axon::losses {

namespace {
void check_pair(const char* op, const Tensor& y, const Tensor& p) {
  AXON_CHECK(y.defined() && p.defined(), op, "y_true and y_pred must be defined tensors");
  AXON_CHECK(y.shape() == p.shape(), op, "y_true {} and y_pred {} must have the same shape", describe(y),
             describe(p));
  AXON_CHECK(y.device() == p.device(), op, "y_true {} and y_pred {} are on different devices", describe(y),
             describe(p));
}
Tensor floating(const Tensor& t) { return is_floating(t.dtype()) ? t : cast(t, DType::f32); }
// Mean over the last axis (a 0-d input is its own mean).
Tensor mean_last(const Tensor& t) { return t.dim() == 0 ? t : mean(t, {-1}); }
Tensor sum_last(const Tensor& t) { return t.dim() == 0 ? t : sum(t, {-1}); }
}  // namespace

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none: return loss;
    case Reduction::mean: return mean(loss);
    case Reduction::sum: return sum(loss);
  }
  return loss;
}

Tensor binary_cross_entropy(const Tensor& y_true, const Tensor& y_pred, BinaryCrossEntropyOptions o) {
  check_pair("binary_cross_entropy", y_true, y_pred);
  Tensor y = floating(y_true), p = floating(y_pred);
  Tensor l;
  if (o.from_logits) {
    l = neg(add(mul(y, log_sigmoid(p)), mul(rsub(1, y), log_sigmoid(neg(p)))));
  } else {
    const double eps = 1e-7;
    Tensor pc = clamp(p, Scalar(eps), Scalar(1 - eps));
    l = neg(add(mul(y, log(pc)), mul(rsub(1, y), log(rsub(1, pc)))));
  }
  if (o.positive_weight || o.negative_weight) {
    const double pw = o.positive_weight.value_or(1.0), nw = o.negative_weight.value_or(1.0);
    l = mul(l, add(mul(y, pw - nw), nw));
  }
  return reduce(mean_last(l), o.reduction);
}

Tensor categorical_cross_entropy(const Tensor& y_true, const Tensor& y_pred, CrossEntropyOptions o) {
  const char* op = "categorical_cross_entropy";
  AXON_CHECK(y_true.defined() && y_pred.defined(), op, "y_true and y_pred must be defined tensors");
  AXON_CHECK(y_pred.dim() >= 1, op, "y_pred must have a class axis, got {}", describe(y_pred));
  AXON_CHECK(y_true.device() == y_pred.device(), op, "y_true {} and y_pred {} are on different devices",
             describe(y_true), describe(y_pred));
  const int64_t classes = y_pred.shape().back();
  const Shape rows(y_pred.shape().begin(), y_pred.shape().end() - 1);
  Tensor labels = y_true;
  if (o.sparse) {
    AXON_CHECK(is_integral(y_true.dtype()), op,
               "sparse y_true must hold integer class ids (u8, i32 or i64), got {}", describe(y_true));
    Shape with_one = rows;
    with_one.push_back(1);
    AXON_CHECK(y_true.shape() == rows || y_true.shape() == with_one, op,
               "sparse y_true {} must have shape {} or {} for y_pred {}", describe(y_true), to_string(rows),
               to_string(with_one), describe(y_pred));
    if (y_true.shape() != rows) labels = y_true.reshape(rows);
    if (labels.dtype() == DType::u8) labels = cast(labels, DType::i64);  // as an IDX file's labels come
  } else {
    AXON_CHECK(y_true.shape() == y_pred.shape(), op, "y_true {} must have y_pred's shape {} (or use sparse labels)",
               describe(y_true), describe(y_pred));
  }
  if (!o.class_weights.empty()) {
    AXON_CHECK(static_cast<int64_t>(o.class_weights.size()) == classes, op,
               "class_weights has {} entries but y_pred {} has {} classes", o.class_weights.size(), describe(y_pred),
               classes);
  }
  Tensor l;
  if (o.from_logits) {
    l = o.sparse ? sparse_softmax_cross_entropy(y_pred, labels) : softmax_cross_entropy(y_pred, floating(labels));
  } else if (o.sparse) {
    AXON_CHECK(rows.size() + 1 == y_pred.shape().size(), op, "internal shape error");
    Tensor ids = cast(unsqueeze(labels, -1), DType::i64);
    // Checked here for an error naming this loss (on CUDA without waiting for the device).
    check_class_ids(op, ids, classes, "y_pred", y_pred);
    l = neg(squeeze(log(gather(floating(y_pred), -1, ids)), -1));
  } else {
    Tensor y = floating(y_true), p = floating(y_pred);
    // xlogy: a zero label contributes 0 even where p = 0
    l = neg(sum_last(where(eq(y, 0), zeros_like(p), mul(y, log(p)))));
  }
  if (o.class_weights.empty()) return reduce(l, o.reduction);
  Tensor cw = to_device(from_vector(o.class_weights), y_pred.device());
  Tensor cls = o.sparse ? cast(labels, DType::i64) : argmax(y_true, -1);
  Tensor w = cast(take(cw, cls, 0), l.dtype());
  Tensor wl = mul(l, w);
  if (o.reduction == Reduction::mean) return div(sum(wl), sum(w));
  return reduce(wl, o.reduction);
}

Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("categorical_hinge", y_true, y_pred);
  Tensor y = floating(y_true), p = floating(y_pred);
  Tensor neg_term = max(mul(rsub(1, y), p), {-1});
  Tensor pos_term = sum(mul(y, p), {-1});
  return reduce(relu(add(sub(neg_term, pos_term), 1)), o.reduction);
}

Tensor hinge(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("hinge", y_true, y_pred);
  return reduce(mean_last(relu(rsub(1, mul(floating(y_true), floating(y_pred))))), o.reduction);
}

Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("kl_divergence", y_true, y_pred);
  Tensor y = clamp(floating(y_true), Scalar(1e-7), Scalar(1.0));
  Tensor p = clamp(floating(y_pred), Scalar(1e-7), Scalar(1.0));
  return reduce(sum_last(mul(y, log(div(y, p)))), o.reduction);
}

Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("log_cosh", y_true, y_pred);
  Tensor d = sub(floating(y_pred), floating(y_true));
  // log cosh d = d + log(1 + e^-2d) - log 2
  return reduce(mean_last(sub(add(d, softplus(mul(d, -2))), std::log(2.0))), o.reduction);
}

Tensor margin_ranking(const Tensor& y_true, const Tensor& y_pred1, const Tensor& y_pred2, MarginRankingOptions o) {
  check_pair("margin_ranking", y_pred1, y_pred2);
  check_pair("margin_ranking", y_true, y_pred1);
  Tensor d = sub(floating(y_pred1), floating(y_pred2));
  return reduce(relu(add(neg(mul(floating(y_true), d)), o.margin)), o.reduction);
}

Tensor soft_margin(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("soft_margin", y_true, y_pred);
  return reduce(softplus(neg(mul(floating(y_true), floating(y_pred)))), o.reduction);
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("mean_absolute_error", y_true, y_pred);
  return reduce(mean_last(abs(sub(floating(y_true), floating(y_pred)))), o.reduction);
}

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("mean_squared_error", y_true, y_pred);
  return reduce(mean_last(square(sub(floating(y_true), floating(y_pred)))), o.reduction);
}

Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred, CosineSimilarityOptions o) {
  check_pair("cosine_similarity", y_true, y_pred);
  for (int64_t a : o.axes)
    AXON_CHECK(a >= -y_pred.dim() && a < y_pred.dim(), "cosine_similarity", "axis {} is out of range for {}", a,
               describe(y_pred));
  Tensor y = floating(y_true), p = floating(y_pred);
  Tensor dot = sum(mul(y, p), o.axes);
  Tensor norms = mul(sqrt(sum(square(y), o.axes)), sqrt(sum(square(p), o.axes)));
  Tensor sim = div(dot, maximum(norms, full_like(norms, o.eps)));
  return reduce(o.similarity ? sim : neg(sim), o.reduction);
}

Tensor poisson(const Tensor& y_true, const Tensor& y_pred, ReductionOptions o) {
  check_pair("poisson", y_true, y_pred);
  Tensor y = floating(y_true), p = floating(y_pred);
  return reduce(mean_last(sub(p, mul(y, log(add(p, 1e-7))))), o.reduction);
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, HuberOptions o) {
  check_pair("huber", y_true, y_pred);
  AXON_CHECK(o.delta > 0, "huber", "delta must be positive, got {}", o.delta);
  Tensor d = abs(sub(floating(y_true), floating(y_pred)));
  Tensor quad = mul(square(d), 0.5);
  Tensor lin = sub(mul(d, o.delta), 0.5 * o.delta * o.delta);
  return reduce(where(le(d, o.delta), quad, lin), o.reduction);
}

Tensor smooth_l1(const Tensor& y_true, const Tensor& y_pred, SmoothL1Options o) {
  check_pair("smooth_l1", y_true, y_pred);
  AXON_CHECK(o.beta >= 0 && std::isfinite(o.beta), "smooth_l1", "beta must be finite and >= 0, got {}", o.beta);
  Tensor d = abs(sub(floating(y_true), floating(y_pred)));
  if (o.beta == 0) return reduce(d, o.reduction);
  Tensor quad = mul(square(d), 0.5 / o.beta);
  return reduce(where(lt(d, o.beta), quad, sub(d, 0.5 * o.beta)), o.reduction);
}

Tensor apply_label_smoothing(const Tensor& y_true, const Tensor& y_pred, LabelSmoothingOptions o) {
  AXON_CHECK(y_pred.defined() && y_pred.dim() >= 2, "apply_label_smoothing",
             "y_pred must have rank >= 2 (classes on axis 1), got {}",
             y_pred.defined() ? describe(y_pred) : std::string("undefined"));
  const double c = static_cast<double>(y_pred.shape()[1]);
  return add(mul(floating(y_true), 1 - o.smoothing), o.smoothing / c);
}

LossFn label_smoothing(LossFn loss_fn, LabelSmoothingOptions o) {
  return [loss_fn = std::move(loss_fn), o](const Tensor& y, const Tensor& p) {
    return loss_fn(apply_label_smoothing(y, p, o), p);
  };
}

}  // namespace axon::losses
