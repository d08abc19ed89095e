// Element-wise, matrix-product, softmax, reduction and cast operators of onnx::import_model.
#include <cmath>
#include <optional>

#include <axon/activations.hpp>
#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Unary = Tensor (*)(const Tensor&);

OpFactory unary(Unary f) {
  return [f](const Attrs& a) -> OpImpl {
    return {[f, a_who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      AXON_CHECK(!in.empty() && in[0].defined(), kImport, "{}: the input is missing", a_who);
      return {f(in[0])};
    }};
  };
}

using Binary = Tensor (*)(const Tensor&, const Tensor&);

OpFactory binary(Binary f) {
  return [f](const Attrs& a) -> OpImpl {
    return {[f, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      AXON_CHECK(in.size() == 2 && in[0].defined() && in[1].defined(), kImport, "{}: two inputs expected", who);
      return {f(in[0], in[1])};
    }};
  };
}

// Max, Min, Sum, Mean: one or more inputs, broadcast.
OpFactory variadic(Binary f, bool mean) {
  return [f, mean](const Attrs& a) -> OpImpl {
    return {[f, mean, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      AXON_CHECK(!in.empty(), kImport, "{}: at least one input expected", who);
      Tensor r = in[0];
      for (size_t k = 1; k < in.size(); ++k) r = f(r, in[k]);
      return {mean ? div(r, static_cast<double>(in.size())) : r};
    }};
  };
}

bool integral(const Tensor& t) { return !t.is_floating_point() && t.dtype() != DType::boolean; }

// ONNX's Div truncates integers (shape arithmetic: head dims, ...); axon's div is true division.
Tensor onnx_div(const Tensor& a, const Tensor& b) {
  if (!integral(a) || !integral(b)) return div(a, b);
  const Tensor q = div(cast(a, DType::f64), cast(b, DType::f64));
  return cast(where(lt(q, 0.0), ceil(q), floor(q)), a.dtype());
}
Tensor onnx_pow(const Tensor& a, const Tensor& b) {
  Tensor r = pow(a, b);
  return r.dtype() == a.dtype() ? r : cast(r, a.dtype());
}
Tensor identity(const Tensor& x) { return x; }
Tensor softsign(const Tensor& x) { return div(x, add(abs(x), 1.0)); }
Tensor softplus(const Tensor& x) { return activations::softplus(x); }

OpImpl make_matmul(const Attrs& a) {
  return {[who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    AXON_CHECK(in.size() == 2 && in[0].defined() && in[1].defined(), kImport, "{}: two inputs expected", who);
    return {matmul(in[0], in[1])};
  }};
}

// Y = alpha op(A) op(B) + beta C, A and B 2-d (torch's Linear with transB = 1).
OpImpl make_gemm(const Attrs& a) {
  const double alpha = a.f("alpha", 1.f), beta = a.f("beta", 1.f);
  const bool ta = a.i("transA", 0) != 0, tb = a.i("transB", 0) != 0;
  return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    AXON_CHECK(in.size() >= 2 && in[0].defined() && in[1].defined(), kImport, "{}: inputs A and B expected", who);
    AXON_CHECK(in[0].dim() == 2 && in[1].dim() == 2, kImport, "{}: A and B must be 2-d, got {} and {}", who,
               describe(in[0]), describe(in[1]));
    Tensor y = matmul(ta ? in[0].t() : in[0], tb ? in[1].t() : in[1]);
    if (alpha != 1) y = mul(y, alpha);
    if (in.size() > 2 && in[2].defined()) y = add(y, beta == 1 ? in[2] : mul(in[2], beta));
    return {y};
  }};
}

OpFactory softmax_like(Tensor (*f)(const Tensor&, int64_t)) {
  return [f](const Attrs& a) -> OpImpl {
    const int64_t axis = a.i("axis", -1);
    return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      return {f(input(in, 0, who, "the input"), norm_axis(axis, in[0].dim(), who))};
    }};
  };
}

OpFactory with_alpha(double fallback, Tensor (*f)(const Tensor&, double)) {
  return [=](const Attrs& a) -> OpImpl {
    const double alpha = a.f("alpha", static_cast<float>(fallback));
    return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      return {f(input(in, 0, who, "the input"), alpha)};
    }};
  };
}
Tensor leaky(const Tensor& x, double alpha) { return activations::leaky_relu(x, {.alpha = alpha}); }
Tensor elu(const Tensor& x, double alpha) { return activations::elu(x, {.alpha = alpha}); }
Tensor celu(const Tensor& x, double alpha) { return activations::celu(x, {.alpha = alpha}); }
Tensor hard_swish(const Tensor& x) { return activations::hard_silu(x); }  // x relu6(x + 3) / 6

OpImpl make_selu(const Attrs& a) {
  const activations::SeluOptions defaults;
  const double alpha = a.f("alpha", static_cast<float>(defaults.alpha));
  const double gamma = a.f("gamma", static_cast<float>(defaults.gamma));
  return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    return {activations::selu(input(in, 0, who, "the input"), {.alpha = alpha, .gamma = gamma})};
  }};
}

// PRelu: x < 0 ? slope x : x, the slope broadcast (PyTorch's nn.PReLU: one per channel, [C, 1, 1]).
OpImpl make_prelu(const Attrs& a) {
  return {[who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    const Tensor& x = input(in, 0, who, "X");
    return {where(lt(x, 0.0), mul(x, input(in, 1, who, "slope")), x)};
  }};
}

OpImpl make_hard_sigmoid(const Attrs& a) {
  const double alpha = a.f("alpha", 0.2f), beta = a.f("beta", 0.5f);
  return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    return {activations::hard_sigmoid(input(in, 0, who, "the input"), {.alpha = alpha, .beta = beta})};
  }};
}

OpImpl make_gelu(const Attrs& a) {
  const std::string approximate = a.s("approximate", "none");
  AXON_CHECK(approximate == "none" || approximate == "tanh", kImport, "{}: approximate = \"{}\" is not none or tanh",
             a.who(), approximate);
  return {[tanh_form = approximate == "tanh", who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    return {gelu(input(in, 0, who, "the input"), tanh_form)};
  }};
}

// Clip (opset 11+): optional min and max inputs.
OpImpl make_clip(const Attrs& a) {
  return {[who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    const Tensor& x = input(in, 0, who, "the input");
    auto bound = [&](size_t slot) -> std::optional<Scalar> {
      const Tensor b = optional_input(in, slot);
      if (!b.defined()) return std::nullopt;
      AXON_CHECK(b.numel() == 1, kImport, "{}: min and max must be scalars, got {}", who, describe(b));
      return Scalar(cast(b, DType::f64).to(Device::cpu()).reshape({}).item<double>());
    };
    return {clamp(x, bound(1), bound(2))};
  }};
}

OpImpl make_where(const Attrs& a) {
  return {[who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    const Tensor& c = input(in, 0, who, "the condition");
    return {where(c.dtype() == DType::boolean ? c : ne(c, 0.0), input(in, 1, who, "X"), input(in, 2, who, "Y"))};
  }};
}

OpImpl make_cast(const Attrs& a) {
  const DType to = to_dtype(static_cast<int32_t>(a.i("to", 0)), a.who());
  return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
    return {cast(input(in, 0, who, "the input"), to)};
  }};
}

// ReduceMean / ReduceSum / ReduceMax / ReduceMin / ReduceProd: axes as an attribute (before opset
// 18, ReduceSum before 13) or as input 1; none reduces every axis unless noop_with_empty_axes.
using Reduction = Tensor (*)(const Tensor&, const Axes&, bool);
OpFactory reduction(Reduction f) {
  return [f](const Attrs& a) -> OpImpl {
    const bool keep = a.i("keepdims", 1) != 0, noop = a.i("noop_with_empty_axes", 0) != 0;
    const std::vector<int64_t> attr_axes = a.ints("axes");
    return {[=, who = a.who()](const std::vector<Tensor>& in, OpRun&) -> std::vector<Tensor> {
      const Tensor& x = input(in, 0, who, "the input");
      const Tensor axes_in = optional_input(in, 1);
      std::vector<int64_t> axes = axes_in.defined() ? int_values(axes_in, who, "axes") : attr_axes;
      if (axes.empty() && noop) return {x};
      for (int64_t& ax : axes) ax = norm_axis(ax, x.dim(), who);
      return {f(x, axes, keep)};
    }};
  };
}

}  // namespace

void add_math_ops(std::map<std::string, OpFactory>& ops) {
  ops["Relu"] = unary(relu);
  ops["Sigmoid"] = unary(sigmoid);
  ops["Tanh"] = unary(tanh);
  ops["Exp"] = unary(exp);
  ops["Log"] = unary(log);
  ops["Sqrt"] = unary(sqrt);
  ops["Neg"] = unary(neg);
  ops["Abs"] = unary(abs);
  ops["Erf"] = unary(erf);
  ops["Reciprocal"] = unary(reciprocal);
  ops["Floor"] = unary(floor);
  ops["Ceil"] = unary(ceil);
  ops["Sin"] = unary(sin);
  ops["Cos"] = unary(cos);
  ops["Sign"] = unary(sign);
  ops["Not"] = unary(logical_not);
  ops["Softsign"] = unary(softsign);
  ops["Softplus"] = unary(softplus);
  ops["Identity"] = unary(identity);
  ops["Add"] = binary(add);
  ops["Sub"] = binary(sub);
  ops["Mul"] = binary(mul);
  ops["Div"] = binary(onnx_div);
  ops["Pow"] = binary(onnx_pow);
  ops["Equal"] = binary(eq);
  ops["Less"] = binary(lt);
  ops["LessOrEqual"] = binary(le);
  ops["Greater"] = binary(gt);
  ops["GreaterOrEqual"] = binary(ge);
  ops["And"] = binary(logical_and);
  ops["Or"] = binary(logical_or);
  ops["Xor"] = binary(logical_xor);
  ops["Max"] = variadic(maximum, false);
  ops["Min"] = variadic(minimum, false);
  ops["Sum"] = variadic(add, false);
  ops["Mean"] = variadic(add, true);
  ops["MatMul"] = make_matmul;
  ops["Gemm"] = make_gemm;
  ops["LeakyRelu"] = with_alpha(0.01, leaky);
  ops["Elu"] = with_alpha(1.0, elu);
  ops["Celu"] = with_alpha(1.0, celu);
  ops["Selu"] = make_selu;
  ops["PRelu"] = make_prelu;
  ops["HardSwish"] = unary(hard_swish);
  ops["HardSigmoid"] = make_hard_sigmoid;
  ops["Gelu"] = make_gelu;
  ops["Clip"] = make_clip;
  ops["Where"] = make_where;
  ops["Cast"] = make_cast;
  ops["ReduceMean"] = reduction(mean);
  ops["ReduceSum"] = reduction(sum);
  ops["ReduceMax"] = reduction(max);
  ops["ReduceMin"] = reduction(min);
  ops["ReduceProd"] = reduction(prod);
  ops["ReduceLogSumExp"] = reduction(logsumexp);
  ops["Softmax"] = softmax_like(softmax);
  ops["LogSoftmax"] = softmax_like(log_softmax);
}

}  // namespace axon::onnx::detail
