#pragma once
// Fused neural-network ops: one kernel for the forward and one for the backward where the composite
// of elementwise ops would cost several passes over memory. Their backward formulas use the fused
// backward kernel, except while a tape records the backward itself (grad of grad), where they use
// the equivalent composite formula so that the gradient stays differentiable.
// Integer inputs are computed in f32.
// Gradients at a kink follow PyTorch (see kernels::act::derivative): relu'(0) = 0; relu6 and
// hard_tanh are 0 at their bounds; hard_sigmoid 0 at both ends; hard_silu takes its inner formula
// 2 alpha x + beta at both ends (-0.5 and 1.5 for the defaults at x = -3 and 3); leaky_relu, elu,
// celu and selu take their x <= 0 branch at 0.
#include <axon/fused_activation.hpp>
#include <axon/tensor.hpp>

namespace axon {

// log(1 + e^x), stable for any |x|.
Tensor softplus(const Tensor& x);
// log(sigmoid(x)) = -softplus(-x), stable for any |x|.
Tensor log_sigmoid(const Tensor& x);
// x * sigmoid(x)
Tensor silu(const Tensor& x);
// x * tanh(softplus(x))
Tensor mish(const Tensor& x);
// x > 0 ? x : alpha * (e^x - 1)
Tensor elu(const Tensor& x, double alpha = 1.0);
// x > 0 ? x : alpha * (e^(x / alpha) - 1); alpha must be nonzero
Tensor celu(const Tensor& x, double alpha = 1.0);
// gamma * elu(x, alpha)
Tensor selu(const Tensor& x, double alpha = 1.6732632423543772848170429916717,
            double gamma = 1.0507009873554804934193349852946);
// gelu (erf form, or the tanh approximation) with the fused backward.
Tensor gelu_fused(const Tensor& x, bool tanh_approximation = false);
// clip(alpha x + beta, 0, 1); gradient alpha strictly inside (0, 1), 0 elsewhere
Tensor hard_sigmoid(const Tensor& x, double alpha = 0.2, double beta = 0.5);
// x * hard_sigmoid(x, alpha, beta); gradient 2 alpha x + beta on the closed interval, 0 below, 1 above
Tensor hard_silu(const Tensor& x, double alpha = 1.0 / 6.0, double beta = 0.5);
// clip(x, lo, hi) with gradient 0 at and beyond the bounds (clamp's passes at the bounds);
// the dtype is clamp's (integers stay integers).
Tensor hard_tanh(const Tensor& x, double lo = -1.0, double hi = 1.0);
// hard_tanh(x, 0, 6)
Tensor relu6(const Tensor& x);
// x > 0 ? x : alpha x
Tensor leaky_relu(const Tensor& x, double alpha = 0.01);
// x / (|x| + 1)
Tensor softsign(const Tensor& x);

// A dense layer's y = act(x @ kernel + bias) with the bias add and the activation fused into one pass
// after the GEMM, and a backward whose first pass forms act' and the bias gradient together (the
// derivative is taken from y: nothing else is kept). x [..., in], kernel [in, out], bias [out] or
// undefined; the result is [..., out]. Gradients and values are those of the composite matmul, add and
// relu / tanh / sigmoid (which run instead for dtypes other than f32 and f64).
Tensor fused_dense(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                   FusedActivation activation = FusedActivation::none);
// The same written into `out` (shape [..., out], x's dtype and device), as the out= variants of
// <axon/out.hpp>: no gradient (an error while a tape records), `out` returned. A contiguous f32/f64
// `out` gets the GEMM and the epilogue in place; anything else is computed, then copied in.
Tensor fused_dense_out(const Tensor& out, const Tensor& x, const Tensor& kernel, const Tensor& bias,
                       FusedActivation activation = FusedActivation::none);

// Softmax cross-entropy from logits along the last axis, one fused kernel forward and backward:
// loss[...] = logsumexp(x[..., :]) * sum(y[..., :]) - sum(y[..., :] * x[..., :]) = -sum(y * log_softmax(x)).
// `labels` has x's shape (dense, floating) and the result has x's shape without its last axis.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// The same with integer class ids (i32/i64) of shape x.shape[:-1]: loss = -log_softmax(x)[label].
// Ids outside [0, classes) are an error.
Tensor sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// Raises "<op>: class ids must lie in [0, classes) for <scores_name> <scores>" unless every id (i32
// or i64) does: at once for CPU tensors; on CUDA the device checks them without the host waiting,
// and the error (with the first bad id) is raised at the device's next host read, or inside
// compile()'s capture at the compiled function's next check.
void check_class_ids(const char* op, const Tensor& ids, int64_t classes, const char* scores_name,
                     const Tensor& scores);

}  // namespace axon
