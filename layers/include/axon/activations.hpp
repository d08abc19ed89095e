#pragma once
// The activation functions (Axon.Activations): elementwise unless an axis is named.
// Where Axon's defaults differ from the paper / PyTorch / Keras convention (marked ⚠ here; summarized in
// docs/conventions.md) the conventional math is the default and the difference is documented on the function.
// softplus, log_sigmoid, silu, mish, elu, celu, selu, gelu, hard_sigmoid, hard_silu, leaky_relu and
// softsign run fused kernels forward and backward (<axon/nn_ops.hpp>); the others are single axon ops
// (exp, relu, sigmoid, tanh, clamp) or the fused softmax family. Gradients at kinks follow PyTorch
// (the rule is in <axon/nn_ops.hpp>): relu, relu6, hard_tanh and hard_sigmoid are 0 there.
#include <string>
#include <vector>

#include <axon/nn_ops.hpp>
#include <axon/ops.hpp>
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

// One function per name: where the core has the op (<axon/ops.hpp>, <axon/nn_ops.hpp>) the name here
// IS that function (a using-declaration: activations::relu and axon::relu are the same), and the
// functions with options add an overload taking the options struct beside the core's positional one
// (activations::elu(x) is axon::elu(x); activations::elu(x, {.alpha = 2}) the options form).
using axon::celu;
using axon::elu;
using axon::exp;
using axon::hard_sigmoid;
using axon::hard_silu;
using axon::hard_tanh;  // clip(x, -1, 1); gradient 0 at ±1
using axon::leaky_relu;
using axon::log_sigmoid;  // -softplus(-x)
using axon::log_softmax;
using axon::mish;   // x tanh(softplus(x))
using axon::relu;   // max(x, 0); gradient 0 at 0
using axon::relu6;  // min(max(x, 0), 6); gradient 0 at 0 and 6
using axon::selu;
using axon::sigmoid;  // 1 / (1 + e^-x)
using axon::silu;     // x sigmoid(x)
using axon::softmax;
using axon::softplus;  // log1p(e^-|x|) + max(x, 0)
using axon::softsign;  // x / (|x| + 1)
using axon::tanh;

Tensor celu(const Tensor& x, CeluOptions o);  // x > 0 ? x : alpha * expm1(x / alpha)
Tensor elu(const Tensor& x, EluOptions o);    // x > 0 ? x : alpha * expm1(x)
// x/2 (1 + erf(x / sqrt 2)) with the fused backward (gelu_fused); axon::gelu(x, bool) is the
// elementwise op with a composite backward, the same values.
Tensor gelu(const Tensor& x, GeluOptions o = {});
Tensor hard_sigmoid(const Tensor& x, HardSigmoidOptions o);  // clip(alpha x + beta, 0, 1)
Tensor hard_silu(const Tensor& x, HardSiluOptions o);
Tensor leaky_relu(const Tensor& x, LeakyReluOptions o);  // x > 0 ? x : alpha x
Tensor linear(const Tensor& x);  // identity (returns x itself)
// log sum exp(x) along the axis, keeping it (size 1), max-shifted: finite for |x| = 1000.
Tensor log_sumexp(const Tensor& x, AxisOptions o = {});
Tensor log_softmax(const Tensor& x, AxisOptions o);
Tensor selu(const Tensor& x, SeluOptions o);  // gamma * elu(x, alpha)
Tensor softmax(const Tensor& x, AxisOptions o);

// Any of the above by name with its default options ("relu", "gelu", ...); an unknown name is an
// error that lists the valid ones.
Tensor activate(const std::string& name, const Tensor& x);
const std::vector<std::string>& names();

}  // namespace axon::activations
