// Unary front-ends and their backward formulas.
#include <cmath>

#include "elementwise.hpp"
#include "fused_epilogue.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::UnaryOp;

Tensor unary_raw(UnaryOp op, const Tensor& x0, DType dt, const kernels::UnaryParams& p = {}) {
  Tensor x = detail::to_dtype_untracked(x0, dt);
  Tensor y(x.shape(), dt, x.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  kernels::Indexer ix[1];
  const Tensor* ops[1] = {&x};
  detail::ew_indexers(x.shape(), ops, ix);
  AXON_ON_DEVICE(
      x.device(), kernels::cpu::unary(op, dt, x.data_ptr(), ix[0], y.data_ptr(), n, p),
      cuda::backend().unary(op, dt, x.data_ptr(), ix[0], y.data_ptr(), n, detail::stream_for(x.device()), p));
  return y;
}

// Ops that need floats: integer and bool inputs are computed in f32.
template <class Backward>
Tensor float_unary(const char* name, UnaryOp op, const Tensor& x, Backward&& backward,
                   const kernels::UnaryParams& p = {}) {
  detail::check_defined(name, x);
  Tensor y = unary_raw(op, x, detail::float_or_f32(x.dtype()), p);
  if (autograd::recording()) backward(x, y);
  return y;
}
}  // namespace

Tensor neg(const Tensor& x) {
  detail::check_defined("neg", x);
  AXON_CHECK(x.dtype() != DType::boolean, "neg",
             "negation of a bool tensor ({}) is not supported; use logical_not", describe(x));
  Tensor y = unary_raw(UnaryOp::neg, x, x.dtype());
  autograd::record("neg", {x}, {y}, [](const Grads& g) { return Grads{neg(g[0])}; });
  return y;
}

// abs, sign, square and relu keep integer dtypes; on bool they are the identity.
Tensor abs(const Tensor& x) {
  detail::check_defined("abs", x);
  if (x.dtype() == DType::boolean) return x;
  Tensor y = unary_raw(UnaryOp::abs, x, x.dtype());
  autograd::record("abs", {x}, {y}, [x](const Grads& g) { return Grads{mul(g[0], sign(x))}; });
  return y;
}

Tensor sign(const Tensor& x) {
  detail::check_defined("sign", x);
  if (x.dtype() == DType::boolean) return x;
  Tensor y = unary_raw(UnaryOp::sign, x, x.dtype());
  autograd::record("sign", {x}, {y}, [](const Grads& g) { return Grads{zeros_like(g[0])}; });
  return y;
}

Tensor square(const Tensor& x) {
  detail::check_defined("square", x);
  if (x.dtype() == DType::boolean) return x;
  Tensor y = unary_raw(UnaryOp::square, x, x.dtype());
  autograd::record("square", {x}, {y}, [x](const Grads& g) { return Grads{mul(g[0], mul(x, 2))}; });
  return y;
}

Tensor relu(const Tensor& x) {
  detail::check_defined("relu", x);
  if (x.dtype() == DType::boolean) return x;
  Tensor y = unary_raw(UnaryOp::relu, x, x.dtype());
  autograd::record("relu", {x}, {y}, [x](const Grads& g) {
    // On the CPU in f32 / f64, outside grad of grad: dy * (x > 0) in one pass (the fused ops' relu
    // backward) instead of a compare, a bool temporary and a where.
    const Tensor& dy = g[0];
    if (!autograd::recording() && x.device().is_cpu() && (x.dtype() == DType::f32 || x.dtype() == DType::f64) &&
        dy.dtype() == x.dtype() && dy.shape() == x.shape())
      return Grads{detail::epilogue_backward(kernels::DenseAct::relu, x.contiguous(), dy.contiguous(), false, 1,
                                             x.numel())
                       .dz};
    return Grads{where(gt(x, 0), dy, 0)};
  });
  return y;
}

namespace {
// floor, ceil and round: the identity on integers (and bool); zero gradient.
Tensor rounding(const char* name, UnaryOp op, const Tensor& x) {
  detail::check_defined(name, x);
  if (!is_floating(x.dtype())) return x;
  Tensor y = unary_raw(op, x, x.dtype());
  autograd::record(name, {x}, {y}, [](const Grads& g) { return Grads{zeros_like(g[0])}; });
  return y;
}
}  // namespace

Tensor floor(const Tensor& x) { return rounding("floor", UnaryOp::floor, x); }
Tensor ceil(const Tensor& x) { return rounding("ceil", UnaryOp::ceil, x); }
Tensor round(const Tensor& x) { return rounding("round", UnaryOp::round, x); }

Tensor exp(const Tensor& x) {
  return float_unary("exp", UnaryOp::exp, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("exp", {x}, {y}, [y](const Grads& g) { return Grads{mul(g[0], y)}; });
  });
}

Tensor expm1(const Tensor& x) {
  return float_unary("expm1", UnaryOp::expm1, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("expm1", {x}, {y}, [y](const Grads& g) { return Grads{mul(g[0], add(y, 1))}; });
  });
}

Tensor log(const Tensor& x) {
  return float_unary("log", UnaryOp::log, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("log", {x}, {y}, [x](const Grads& g) { return Grads{div(g[0], x)}; });
  });
}

Tensor log1p(const Tensor& x) {
  return float_unary("log1p", UnaryOp::log1p, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("log1p", {x}, {y}, [x](const Grads& g) { return Grads{div(g[0], add(x, 1))}; });
  });
}

Tensor sqrt(const Tensor& x) {
  return float_unary("sqrt", UnaryOp::sqrt, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("sqrt", {x}, {y}, [y](const Grads& g) { return Grads{div(mul(g[0], 0.5), y)}; });
  });
}

Tensor rsqrt(const Tensor& x) {
  return float_unary("rsqrt", UnaryOp::rsqrt, x, [](const Tensor& x, const Tensor& y) {
    // d x^(-1/2) = -x^(-3/2) / 2 = -y^3 / 2
    autograd::record("rsqrt", {x}, {y},
                     [y](const Grads& g) { return Grads{mul(g[0], mul(pow(y, 3), -0.5))}; });
  });
}

Tensor sin(const Tensor& x) {
  return float_unary("sin", UnaryOp::sin, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("sin", {x}, {y}, [x](const Grads& g) { return Grads{mul(g[0], cos(x))}; });
  });
}

Tensor cos(const Tensor& x) {
  return float_unary("cos", UnaryOp::cos, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("cos", {x}, {y}, [x](const Grads& g) { return Grads{neg(mul(g[0], sin(x)))}; });
  });
}

Tensor tanh(const Tensor& x) {
  return float_unary("tanh", UnaryOp::tanh, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("tanh", {x}, {y}, [y](const Grads& g) { return Grads{mul(g[0], rsub(1, square(y)))}; });
  });
}

Tensor sigmoid(const Tensor& x) {
  return float_unary("sigmoid", UnaryOp::sigmoid, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("sigmoid", {x}, {y},
                     [y](const Grads& g) { return Grads{mul(g[0], mul(y, rsub(1, y)))}; });
  });
}

Tensor erf(const Tensor& x) {
  return float_unary("erf", UnaryOp::erf, x, [](const Tensor& x, const Tensor& y) {
    // d erf(x) = 2/sqrt(pi) exp(-x^2)
    autograd::record("erf", {x}, {y}, [x](const Grads& g) {
      return Grads{mul(g[0], mul(exp(neg(square(x))), 1.1283791670955126))};
    });
  });
}

Tensor erfinv(const Tensor& x) {
  return float_unary("erfinv", UnaryOp::erfinv, x, [](const Tensor& x, const Tensor& y) {
    // d erfinv(x) = sqrt(pi)/2 exp(erfinv(x)^2)
    autograd::record("erfinv", {x}, {y}, [y](const Grads& g) {
      return Grads{mul(g[0], mul(exp(square(y)), 0.88622692545275801))};
    });
  });
}

Tensor reciprocal(const Tensor& x) {
  return float_unary("reciprocal", UnaryOp::reciprocal, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("reciprocal", {x}, {y},
                     [y](const Grads& g) { return Grads{neg(mul(g[0], square(y)))}; });
  });
}

Tensor gelu(const Tensor& x, bool tanh_approximation) {
  if (!tanh_approximation) {
    return float_unary("gelu", UnaryOp::gelu, x, [](const Tensor& x, const Tensor& y) {
      // d/dx x Phi(x) = Phi(x) + x phi(x)
      autograd::record("gelu", {x}, {y}, [x](const Grads& g) {
        Tensor cdf = mul(add(erf(mul(x, 0.70710678118654752440)), 1), 0.5);
        Tensor pdf = mul(exp(mul(square(x), -0.5)), 0.39894228040143267794);
        return Grads{mul(g[0], add(cdf, mul(x, pdf)))};
      });
    });
  }
  return float_unary("gelu", UnaryOp::gelu_tanh, x, [](const Tensor& x, const Tensor& y) {
    autograd::record("gelu", {x}, {y}, [x](const Grads& g) {
      // y = x/2 (1 + tanh u), u = k (x + c x^3): dy = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3c x^2)
      const double k = 0.79788456080286535588, c = 0.044715;
      Tensor x2 = square(x);
      Tensor t = tanh(mul(mul(x, add(mul(x2, c), 1)), k));
      Tensor left = mul(add(t, 1), 0.5);
      Tensor right = mul(mul(x, rsub(1, square(t))), mul(add(mul(x2, 3 * c), 1), 0.5 * k));
      return Grads{mul(g[0], add(left, right))};
    });
  });
}

Tensor pow(const Tensor& x, Scalar e) {
  kernels::UnaryParams p;
  p.p0 = e.value;
  return float_unary(
      "pow", UnaryOp::pow, x,
      [e](const Tensor& x, const Tensor& y) {
        autograd::record("pow", {x}, {y}, [x, e](const Grads& g) {
          if (e.value == 0) return Grads{zeros_like(g[0])};
          return Grads{mul(g[0], mul(pow(x, e.value - 1), e.value))};
        });
      },
      p);
}

// Scalar bounds: the integer dtype is kept when both given bounds are integral, else f32.
Tensor clamp(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi) {
  detail::check_defined("clamp", x);
  AXON_CHECK(lo || hi, "clamp", "at least one of the bounds must be given (input {})", describe(x));
  AXON_CHECK(x.dtype() != DType::boolean, "clamp", "clamping a bool tensor ({}) is not supported",
             describe(x));
  DType dt = x.dtype();
  if (lo) dt = promote_types(dt, detail::scalar_result_dtype(x.dtype(), *lo));
  if (hi) dt = promote_types(dt, detail::scalar_result_dtype(x.dtype(), *hi));
  kernels::UnaryParams p;
  p.has_lo = lo.has_value();
  p.has_hi = hi.has_value();
  if (lo) p.p0 = lo->value;
  if (hi) p.p1 = hi->value;
  AXON_CHECK(!(std::isnan(p.p0) || std::isnan(p.p1)), "clamp", "a bound is NaN");
  Tensor y = unary_raw(UnaryOp::clamp, x, dt, p);
  autograd::record("clamp", {x}, {y}, [x, lo, hi](const Grads& g) {
    // The gradient passes where lo <= x <= hi.
    Tensor mask;
    if (lo) mask = ge(x, *lo);
    if (hi) mask = mask.defined() ? logical_and(mask, le(x, *hi)) : le(x, *hi);
    return Grads{where(mask, g[0], 0)};
  });
  return y;
}

}  // namespace axon
