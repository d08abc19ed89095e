#pragma once
// The activation functions (Axon.Activations, reference §1.1): elementwise unless an axis is named.
// Where Axon's defaults differ from the paper / PyTorch / Keras convention (marked ⚠ in the
// reference) the conventional math is the default and the difference is documented on the function.
// softplus, log_sigmoid, silu, mish, elu, celu, selu, gelu, hard_sigmoid, hard_silu, leaky_relu and
// softsign run fused kernels forward and backward (<axon/nn_ops.hpp>); the others are single axon ops
// (exp, relu, sigmoid, tanh, clamp) or the fused softmax family. Gradients at kinks follow PyTorch
// (the rule is in <axon/nn_ops.hpp>): relu, relu6, hard_tanh and hard_sigmoid are 0 there.
#include <string>
#include <vector>

#include <axon/tensor.hpp>

namespace axon::activations {

struct AlphaOptions {
  double alpha = 1.0;
};
using EluOptions = AlphaOptions;
using CeluOptions = AlphaOptions;  // alpha must be nonzero
struct LeakyReluOptions {
  double alpha = 1.0e-2;
};
struct SeluOptions {
  double alpha = 1.6732632423543772848170429916717;
  double gamma = 1.0507009873554804934193349852946;
};
struct GeluOptions {
  bool tanh_approximation = false;  // Axon has only the exact erf form, the default
};
// ⚠ Axon's beta defaults to 0.2, which makes hard_sigmoid(0) = 0.2 instead of 0.5; the default here is
// Keras' clip(0.2 x + 0.5, 0, 1), symmetric about 0 like sigmoid. Pass beta = 0.2 for Axon's.
struct HardSigmoidOptions {
  double alpha = 0.2;
  double beta = 0.5;
};
// hard_silu(x) = x * hard_sigmoid(x). ⚠ Axon's documented formula is PyTorch's hardswish
// x * relu6(x + 3) / 6 (= x^2/6 + x/2 on [-3, 3]) but its code uses hard_sigmoid's defaults; the
// default here is the documented hardswish (alpha 1/6, beta 1/2).
struct HardSiluOptions {
  double alpha = 1.0 / 6.0;
  double beta = 0.5;
};
// ⚠ Axon's docs say axis 1; its code (and this default) is the last axis.
struct AxisOptions {
  int64_t axis = -1;
};

Tensor celu(const Tensor& x, CeluOptions o = {});  // x > 0 ? x : alpha * expm1(x / alpha)
Tensor elu(const Tensor& x, EluOptions o = {});    // x > 0 ? x : alpha * expm1(x)
Tensor exp(const Tensor& x);
Tensor gelu(const Tensor& x, GeluOptions o = {});  // x/2 (1 + erf(x / sqrt 2))
Tensor hard_sigmoid(const Tensor& x, HardSigmoidOptions o = {});  // clip(alpha x + beta, 0, 1)
Tensor hard_silu(const Tensor& x, HardSiluOptions o = {});
Tensor hard_tanh(const Tensor& x);  // clip(x, -1, 1); gradient 0 at ±1
Tensor leaky_relu(const Tensor& x, LeakyReluOptions o = {});  // x > 0 ? x : alpha x
Tensor linear(const Tensor& x);  // identity (returns x itself)
// log sum exp(x) along the axis, keeping it (size 1), max-shifted: finite for |x| = 1000.
Tensor log_sumexp(const Tensor& x, AxisOptions o = {});
Tensor log_sigmoid(const Tensor& x);  // -softplus(-x)
Tensor log_softmax(const Tensor& x, AxisOptions o = {});
Tensor mish(const Tensor& x);     // x tanh(softplus(x))
Tensor relu(const Tensor& x);     // max(x, 0); gradient 0 at 0
Tensor relu6(const Tensor& x);    // min(max(x, 0), 6); gradient 0 at 0 and 6
Tensor sigmoid(const Tensor& x);  // 1 / (1 + e^-x)
Tensor silu(const Tensor& x);     // x sigmoid(x)
Tensor selu(const Tensor& x, SeluOptions o = {});  // gamma * elu(x, alpha)
Tensor softmax(const Tensor& x, AxisOptions o = {});
Tensor softplus(const Tensor& x);  // log1p(e^-|x|) + max(x, 0)
Tensor softsign(const Tensor& x);  // x / (|x| + 1)
Tensor tanh(const Tensor& x);

// Any of the above by name with its default options ("relu", "gelu", ...); an unknown name is an
// error that lists the valid ones.
Tensor activate(const std::string& name, const Tensor& x);
const std::vector<std::string>& names();

}  // namespace axon::activations
