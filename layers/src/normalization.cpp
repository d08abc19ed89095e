// Normalization layers: layer_norm / rms_norm / group_norm on the fused row kernels
// (core/src/ops/norm.cpp); batch_norm and instance_norm as composites (their statistics run over
// strided axes, where the reduction ops are already one pass).
#include <axon/autograd.hpp>
#include <axon/layers/normalization.hpp>
#include <axon/norm_ops.hpp>
#include <axon/ops.hpp>

namespace axon::layers {

namespace {
int64_t channel_axis(const char* op, const Tensor& x, int64_t ci) {
  int64_t r = x.dim();
  AXON_CHECK(ci >= -r && ci < r, op, "channel_index {} is out of range for input {}", ci, describe(x));
  return ci < 0 ? ci + r : ci;
}

void check_param(const char* op, const char* what, const Tensor& p, int64_t c, const Tensor& x) {
  if (!p.defined()) return;
  AXON_CHECK(p.dim() == 1 && p.size(0) == c, op, "{} must have shape [{}] (the channels of input {}), got {}",
             what, c, describe(x), describe(p));
}

// Moves axis `a` to the end (a view), and back.
Tensor to_last(const Tensor& x, int64_t a) {
  if (a == x.dim() - 1) return x;
  std::vector<int64_t> order;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != a) order.push_back(d);
  order.push_back(a);
  return permute(x, order);
}
Tensor from_last(const Tensor& y, int64_t a) {
  if (a == y.dim() - 1) return y;
  std::vector<int64_t> order;
  for (int64_t d = 0; d < y.dim(); ++d) order.push_back(d < a ? d : d == a ? y.dim() - 1 : d - 1);
  return permute(y, order);
}

// [C] -> broadcastable against x with the channel at axis c.
Tensor per_channel(const Tensor& p, const Tensor& x, int64_t c) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[static_cast<size_t>(c)] = p.size(0);
  return reshape(p, s);
}

Tensor affine(const Tensor& y, const Tensor& gamma, const Tensor& beta, int64_t c) {
  Tensor out = y;
  if (gamma.defined()) out = mul(out, per_channel(gamma, y, c));
  if (beta.defined()) out = add(out, per_channel(beta, y, c));
  return out;
}

// The batch norm as ops over `axes` (every axis but the channel axis c, and for instance norm the batch).
BatchNormResult composite_batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
                                     const Tensor& rv, const BatchNormOptions& o, bool instance, const Axes& axes,
                                     int64_t c) {
  const int64_t C = x.size(c);
  BatchNormResult r{Tensor(), rm, rv};
  Tensor m, v;
  if (o.training || !rm.defined()) {
    m = mean(x, axes, true);
    v = var(x, axes, 0, true);
  } else {
    m = per_channel(cast(rm, x.dtype()), x, c);
    v = per_channel(cast(rv, x.dtype()), x, c);
  }
  r.output = affine(mul(sub(x, m), rsqrt(add(v, o.epsilon))), gamma, beta, c);
  if (o.training && rm.defined()) {
    NoGrad ng;
    // Per-channel batch statistics ([C]); for instance norm, the batch mean of the instance stats.
    Tensor bm = reshape(instance ? mean(m, {0}) : m, {C});
    Tensor bv = reshape(instance ? mean(v, {0}) : v, {C});
    int64_t count = 1;
    for (int64_t a : axes) count *= x.size(a);
    double mom = o.momentum;
    if (o.convention == MomentumConvention::pytorch) {
      if (count > 1) bv = mul(bv, double(count) / double(count - 1));
      r.running_mean = add(mul(rm, 1.0 - mom), mul(cast(bm, rm.dtype()), mom));
      r.running_var = add(mul(rv, 1.0 - mom), mul(cast(bv, rv.dtype()), mom));
    } else {
      r.running_mean = add(mul(rm, mom), mul(cast(bm, rm.dtype()), 1.0 - mom));
      r.running_var = add(mul(rv, mom), mul(cast(bv, rv.dtype()), 1.0 - mom));
    }
  }
  return r;
}

BatchNormResult norm_with_stats(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& rm, const Tensor& rv, const BatchNormOptions& o,
                                bool instance) {
  AXON_CHECK(x.defined(), op, "the input must be defined");
  AXON_CHECK(x.dim() >= (instance ? 3 : 2), op,
             "the input must have rank >= {} ([batch, ..., channels]), got {}", instance ? 3 : 2,
             describe(x));
  AXON_CHECK(is_floating(x.dtype()), op, "the input must be floating, got {}", describe(x));
  const int64_t c = channel_axis(op, x, o.channel_index);
  AXON_CHECK(!instance || c != 0, op, "the channel axis cannot be the batch axis 0 for input {}",
             describe(x));
  const int64_t C = x.size(c);
  check_param(op, "gamma", gamma, C, x);
  check_param(op, "beta", beta, C, x);
  check_param(op, "running_mean", rm, C, x);
  check_param(op, "running_var", rv, C, x);
  AXON_CHECK(rm.defined() == rv.defined(), op, "running_mean and running_var must be given together");
  AXON_CHECK(instance || rm.defined(), op, "running_mean and running_var are required");
  AXON_CHECK(o.epsilon >= 0, op, "epsilon must be >= 0, got {}", o.epsilon);
  Axes axes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != c && !(instance && d == 0)) axes.push_back(d);
  // Channels-last batch norm on CUDA: cuDNN's where it is the faster path for the shape (measured
  // once against this composite), with PyTorch's running-statistics convention (cuDNN's own).
  if (!instance && x.is_cuda() && c == x.dim() - 1 && rm.defined() &&
      (!o.training || o.convention == MomentumConvention::pytorch)) {
    auto composite = [&] {
      NoGrad ng;
      (void)composite_batch_norm(x, gamma, beta, rm, rv, o, instance, axes, c);
    };
    CudnnBatchNorm cb = batch_norm_cudnn(x, gamma, beta, rm, rv, o.training, o.momentum, o.epsilon, false, composite);
    if (cb.output.defined()) return {cb.output, cb.running_mean, cb.running_var};
  }
  return composite_batch_norm(x, gamma, beta, rm, rv, o, instance, axes, c);
}

}  // namespace

BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& running_mean, const Tensor& running_var, BatchNormOptions o) {
  return norm_with_stats("batch_norm", x, gamma, beta, running_mean, running_var, o, false);
}

BatchNormResult instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var, BatchNormOptions o) {
  return norm_with_stats("instance_norm", x, gamma, beta, running_mean, running_var, o, true);
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, LayerNormOptions o) {
  AXON_CHECK(x.defined(), "layer_norm", "the input must be defined");
  AXON_CHECK(x.dim() >= 1, "layer_norm", "the input must have rank >= 1, got {}", describe(x));
  const int64_t c = channel_axis("layer_norm", x, o.channel_index);
  check_param("layer_norm", "gamma", gamma, x.size(c), x);
  check_param("layer_norm", "beta", beta, x.size(c), x);
  return from_last(layer_norm_last(to_last(x, c), gamma, beta, o.epsilon), c);
}

Tensor rms_norm(const Tensor& x, const Tensor& gamma, RmsNormOptions o) {
  AXON_CHECK(x.defined(), "rms_norm", "the input must be defined");
  AXON_CHECK(x.dim() >= 1, "rms_norm", "the input must have rank >= 1, got {}", describe(x));
  const int64_t c = channel_axis("rms_norm", x, o.channel_index);
  check_param("rms_norm", "gamma", gamma, x.size(c), x);
  const bool half = x.dtype() == DType::bf16 || x.dtype() == DType::f16;
  if (half && o.upcast == RmsUpcast::normalization && gamma.defined()) {
    Tensor w = o.shift != 0 ? add(cast(gamma, x.dtype()), o.shift) : cast(gamma, x.dtype());
    return mul(from_last(rms_norm_last(to_last(x, c), {}, o.epsilon, 0), c), per_channel(w, x, c));
  }
  return from_last(rms_norm_last(to_last(x, c), gamma, o.epsilon, o.shift), c);
}

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, GroupNormOptions o) {
  const char* op = "group_norm";
  AXON_CHECK(x.defined(), op, "the input must be defined");
  AXON_CHECK(x.dim() >= 2, op, "the input must have rank >= 2 ([batch, ..., channels]), got {}", describe(x));
  const int64_t c = channel_axis(op, x, o.channel_index);
  AXON_CHECK(c != 0, op, "the channel axis cannot be the batch axis 0 for input {}", describe(x));
  const int64_t C = x.size(c), G = o.num_groups;
  AXON_CHECK(G > 0, op, "num_groups must be positive, got {}", G);
  AXON_CHECK(C % G == 0, op, "num_groups {} must divide the {} channels of input {}", G, C, describe(x));
  check_param(op, "gamma", gamma, C, x);
  check_param(op, "beta", beta, C, x);
  // [B, S..., C] -> [B, S, G, C/G] -> [B, G, S, C/G] -> rows of one (sample, group) each.
  Tensor xl = to_last(x, c);
  const int64_t B = x.size(0), S = B * C == 0 ? 0 : x.numel() / (B * C);
  Tensor g = permute(reshape(xl, {B, S, G, C / G}), {0, 2, 1, 3});
  Tensor y = layer_norm_last(reshape(g, {B * G, S * (C / G)}), {}, {}, o.epsilon);
  Tensor back = reshape(permute(reshape(y, {B, G, S, C / G}), {0, 2, 1, 3}), xl.shape());
  return affine(from_last(back, c), gamma, beta, c);
}

}  // namespace axon::layers
