// dense (the fused dense op), bilinear and embedding (composites of matmul / take, so autograd comes
// from those ops).
#include <axon/layers/linear.hpp>
#include <axon/nn_ops.hpp>
#include <axon/ops.hpp>

namespace axon::layers {

namespace {
void check_bias(const char* op, const Tensor& bias, int64_t out, const Tensor& kernel) {
  if (!bias.defined()) return;
  AXON_CHECK(bias.dim() == 1 && bias.size(0) == out, op, "bias must have shape [{}] for kernel {}, got {}",
             out, describe(kernel), describe(bias));
}
}  // namespace

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, FusedActivation activation) {
  AXON_CHECK(x.defined() && kernel.defined(), "dense", "input and kernel must be defined");
  AXON_CHECK(x.dim() >= 2, "dense", "the input must have rank >= 2 ([batch, ..., features]), got {}",
             describe(x));
  AXON_CHECK(kernel.dim() == 2, "dense", "the kernel must have shape [in, out], got {}", describe(kernel));
  AXON_CHECK(x.shape().back() == kernel.size(0), "dense",
             "input {} has {} features but the kernel {} expects {}", describe(x), x.shape().back(),
             describe(kernel), kernel.size(0));
  check_bias("dense", bias, kernel.size(1), kernel);
  return fused_dense(x, kernel, bias, activation);
}

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& kernel, const Tensor& bias) {
  AXON_CHECK(x1.defined() && x2.defined() && kernel.defined(), "bilinear",
             "inputs and kernel must be defined");
  AXON_CHECK(kernel.dim() == 3, "bilinear", "the kernel must have shape [out, f1, f2], got {}",
             describe(kernel));
  AXON_CHECK(x1.dim() >= 1 && x2.dim() == x1.dim(), "bilinear",
             "inputs must have the same rank >= 1, got {} and {}", describe(x1), describe(x2));
  Shape lead1(x1.shape().begin(), x1.shape().end() - 1), lead2(x2.shape().begin(), x2.shape().end() - 1);
  AXON_CHECK(lead1 == lead2, "bilinear", "inputs {} and {} must agree on every axis but the last",
             describe(x1), describe(x2));
  const int64_t out = kernel.size(0), f1 = kernel.size(1), f2 = kernel.size(2);
  AXON_CHECK(x1.shape().back() == f1 && x2.shape().back() == f2, "bilinear",
             "inputs {} and {} do not match the kernel {} ([out, f1, f2])", describe(x1), describe(x2),
             describe(kernel));
  check_bias("bilinear", bias, out, kernel);
  // t[..., o, j] = sum_i x1[..., i] A[o, i, j], then y[..., o] = sum_j t[..., o, j] x2[..., j].
  Tensor a = reshape(permute(kernel, {1, 0, 2}), {f1, out * f2});
  Shape tshape = lead1;
  tshape.push_back(out);
  tshape.push_back(f2);
  Tensor t = reshape(matmul(x1, a), tshape);
  Tensor y = sum(mul(t, unsqueeze(x2, x2.dim() - 1)), {-1});
  return bias.defined() ? add(y, bias) : y;
}

Tensor embedding(const Tensor& ids, const Tensor& kernel) {
  AXON_CHECK(ids.defined() && kernel.defined(), "embedding", "ids and kernel must be defined");
  AXON_CHECK(is_integral(ids.dtype()), "embedding", "ids must be integers, got {}", describe(ids));
  AXON_CHECK(kernel.dim() == 2, "embedding", "the kernel must have shape [vocab, dim], got {}",
             describe(kernel));
  return take(kernel, ids, 0);
}

}  // namespace axon::layers
