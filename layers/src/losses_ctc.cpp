// Connectionist temporal classification: the log-space alpha recursion with axon ops, one sequence
// at a time, so that autograd differentiates it (no fused kernel).
#include <axon/losses.hpp>

#include <axon/ops.hpp>

namespace axon::losses {

namespace {
// Stands in for log(0): finite, so that unreachable states give zero gradients instead of NaN.
constexpr double kLogZero = -1e5;
}  // namespace

Tensor connectionist_temporal_classification(const Tensor& l_true, const Tensor& y_true, const Tensor& y_pred,
                                             CtcOptions o) {
  const char* op = "connectionist_temporal_classification";
  AXON_CHECK(l_true.defined() && y_true.defined() && y_pred.defined(), op, "inputs must be defined tensors");
  AXON_CHECK(y_pred.dim() == 3, op, "y_pred must be log-probabilities {{B, T, D}}, got {}", describe(y_pred));
  AXON_CHECK(y_true.dim() == 2 && (y_true.dtype() == DType::i32 || y_true.dtype() == DType::i64), op,
             "y_true must be integer labels {{B, S}}, got {}", describe(y_true));
  AXON_CHECK(l_true.dim() == 1 && (l_true.dtype() == DType::i32 || l_true.dtype() == DType::i64), op,
             "l_true must be integer label lengths {{B}}, got {}", describe(l_true));
  const int64_t B = y_pred.shape()[0], T = y_pred.shape()[1], D = y_pred.shape()[2], S = y_true.shape()[1];
  AXON_CHECK(y_true.shape()[0] == B && l_true.shape()[0] == B, op,
             "batch sizes differ: l_true {}, y_true {}, y_pred {}", describe(l_true), describe(y_true),
             describe(y_pred));
  AXON_CHECK(o.blank >= 0 && o.blank < D, op, "blank {} is not a class of y_pred {}", o.blank, describe(y_pred));
  AXON_CHECK(T > 0, op, "y_pred needs at least one time step, got {}", describe(y_pred));
  std::vector<int64_t> steps(B, T);
  if (o.input_lengths.defined()) {
    const Tensor& il = o.input_lengths;
    AXON_CHECK(il.dim() == 1 && il.shape()[0] == B && (il.dtype() == DType::i32 || il.dtype() == DType::i64), op,
               "input_lengths must be integer {{B}} with B = {} (y_pred {}), got {}", B, describe(y_pred), describe(il));
    steps = cast(il, DType::i64).to(Device::cpu()).to_vector<int64_t>();
    for (int64_t b = 0; b < B; ++b)
      AXON_CHECK(steps[b] >= 1 && steps[b] <= T, op, "input length {} of sequence {} is outside [1, {}] (y_pred {})",
                 steps[b], b, T, describe(y_pred));
  }
  const Device dev = y_pred.device();
  const std::vector<int64_t> lens = cast(l_true, DType::i64).to(Device::cpu()).to_vector<int64_t>();
  const std::vector<int64_t> labels = cast(y_true, DType::i64).to(Device::cpu()).contiguous().to_vector<int64_t>();
  Tensor lp_all = is_floating(y_pred.dtype()) ? y_pred : cast(y_pred, DType::f32);
  const DType dt = lp_all.dtype();
  std::vector<Tensor> losses;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = lens[b];
    AXON_CHECK(n >= 0 && n <= S, op, "label length {} of sequence {} is outside [0, {}]", n, b, S);
    // Blank-extended labels and which states may skip the blank before them.
    const int64_t L = 2 * n + 1;
    std::vector<int64_t> ext(L, o.blank);
    std::vector<double> skip(L, kLogZero), init(L, kLogZero);
    for (int64_t s = 0; s < n; ++s) {
      int64_t c = labels[b * S + s];
      AXON_CHECK(c >= 0 && c < D && c != o.blank, op,
                 "label {} at [{}, {}] must be a class of y_pred other than the blank {}", c, b, s, o.blank);
      ext[2 * s + 1] = c;
    }
    for (int64_t s = 3; s < L; s += 2)
      if (ext[s] != ext[s - 2]) skip[s] = 0;
    init[0] = 0;
    if (L > 1) init[1] = 0;
    Tensor idx = to_device(from_vector(ext, {L}), dev);
    Tensor skip_t = to_device(from_vector(skip, {L}), dev).to(dt);
    Tensor lpe = take(lp_all.select(0, b), idx, 1);  // [T, L]
    Tensor alpha = add(lpe.select(0, 0), to_device(from_vector(init, {L}), dev).to(dt));
    Tensor pad1 = full({1}, kLogZero, dt, dev), pad2 = full({2}, kLogZero, dt, dev);
    for (int64_t t = 1; t < steps[b]; ++t) {
      Tensor a1 = L > 1 ? concat({pad1, slice(alpha, 0, 0, L - 1)}) : pad1;
      Tensor a2 = L > 2 ? add(concat({pad2, slice(alpha, 0, 0, L - 2)}), skip_t) : full({L}, kLogZero, dt, dev);
      alpha = add(logsumexp(stack({alpha, a1, a2}), {0}), lpe.select(0, t));
    }
    Tensor tail = L > 1 ? slice(alpha, 0, L - 2, L) : alpha;
    losses.push_back(neg(logsumexp(tail, {0})));
  }
  if (B == 0) return reduce(Tensor({0}, dt, dev), o.reduction);
  Tensor loss = stack(losses);
  if (o.reduction == Reduction::mean) {
    Tensor l = clamp(cast(to_device(l_true, dev), dt), Scalar(1.0), std::nullopt);
    return mean(div(loss, l));
  }
  return reduce(loss, o.reduction);
}

}  // namespace axon::losses
