// Reductions over sets of axes (sum, mean, prod, max, min, all, any, argmax, argmin, var, std,
// logsumexp, norm) and sum_to, with their backward formulas.
//
// Every reduction runs one kernel over a contiguous [outer, n, inner] layout. When the tensor's
// memory is dense and the reduced axes are adjacent in memory order, the kernel reads the input in
// place (a transposed input is reduced without a copy); otherwise the kept axes are permuted in
// front of the reduced ones and the input is copied once.
#include <algorithm>
#include <axon/kernels/reduce.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;
using kernels::ReduceOp;

// Reduced axes as a mask over x's axes; empty `axes` means every axis. A 0-d tensor accepts axis
// 0 or -1 (NumPy) and has nothing to reduce.
std::vector<bool> axis_mask(const char* op, const Tensor& x, const Axes& axes) {
  int64_t r = x.dim();
  std::vector<bool> m(static_cast<size_t>(r), axes.empty());
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(r, 1)), false);
  for (int64_t a : axes) {
    int64_t ax = normalize_axis(a, r, op);
    AXON_CHECK(!seen[ax], op, "axis {} is repeated in axes {} (tensor {})", a, to_string(axes), describe(x));
    seen[ax] = true;
    if (r > 0) m[ax] = true;
  }
  return m;
}

Axes mask_axes(const std::vector<bool>& m) {
  Axes a;
  for (size_t i = 0; i < m.size(); ++i)
    if (m[i]) a.push_back(static_cast<int64_t>(i));
  return a;
}

// x's shape with reduced axes set to 1 (keepdims) or dropped.
Shape reduced_shape(const Shape& s, const std::vector<bool>& m, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!m[i])
      out.push_back(s[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

int64_t reduced_count(const Shape& s, const std::vector<bool>& m) {
  int64_t n = 1;
  for (size_t i = 0; i < s.size(); ++i)
    if (m[i]) n *= s[i];
  return n;
}

#ifdef AXON_HAS_CUDA
void cuda_reduce(ReduceOp op, const Tensor& src, const Tensor& y, int64_t outer, int64_t n, int64_t inner,
                 double scale) {
  Device dev = src.device();
  size_t ws = cuda::backend().reduce_workspace_bytes(op, src.dtype(), outer, n, inner);
  Tensor w = ws ? empty({static_cast<int64_t>(ws)}, DType::u8, dev) : Tensor();
  cuda::backend().reduce(op, src.dtype(), src.data_ptr(), y.data_ptr(), outer, n, inner, scale,
                         ws ? w.data_ptr() : nullptr, ws, detail::stream_for(dev));
}
#endif

void run_reduce(ReduceOp op, const Tensor& src, const Tensor& y, int64_t outer, int64_t n, int64_t inner,
                double scale) {
  AXON_ON_DEVICE(src.device(),
                 kernels::cpu::reduce(op, src.dtype(), src.data_ptr(), y.data_ptr(), outer, n, inner, scale),
                 cuda_reduce(op, src, y, outer, n, inner, scale));
}

double identity_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::prod:
    case ReduceOp::all:
      return 1;
    default:
      return 0;
  }
}

// The reduction itself, unrecorded: a new contiguous tensor of the reduced shape.
Tensor reduce_raw(const char* opname, ReduceOp op, const Tensor& x, const std::vector<bool>& mask,
                  bool keepdims, double scale = 1) {
  NoGrad ng;
  const Shape& s = x.shape();
  Shape oshape = reduced_shape(s, mask, keepdims);
  DType odt = kernels::reduce_out_dtype(op, x.dtype());
  if (x.numel() == 0) {
    if (numel(oshape) == 0) return empty(oshape, odt, x.device());
    bool has_identity =
        op == ReduceOp::sum || op == ReduceOp::prod || op == ReduceOp::all || op == ReduceOp::any;
    AXON_CHECK(has_identity, opname,
               "cannot reduce over an empty axis of {} (axes {}): the result has no identity", describe(x),
               to_string(mask_axes(mask)));
    return full(oshape, identity_of(op) * (op == ReduceOp::sum ? scale : 1), odt, x.device());
  }

  // The axes that matter (size > 1), in memory order (largest stride first).
  struct Ax {
    int64_t size, stride;
    bool red;
    int64_t logical;
  };
  std::vector<Ax> ax;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1) ax.push_back({s[i], x.strides()[i], static_cast<bool>(mask[i]), static_cast<int64_t>(i)});
  std::stable_sort(ax.begin(), ax.end(), [](const Ax& a, const Ax& b) { return a.stride > b.stride; });
  bool dense = true;
  int64_t expect = 1;
  for (size_t i = ax.size(); i-- > 0;) {
    dense = dense && ax[i].stride == expect;
    expect *= ax[i].size;
  }
  // Reduced axes must form one run in memory order.
  int64_t first = -1, last = -1;
  for (size_t i = 0; i < ax.size(); ++i)
    if (ax[i].red) {
      if (first < 0) first = static_cast<int64_t>(i);
      last = static_cast<int64_t>(i);
    }
  bool run = true;
  for (int64_t i = first; first >= 0 && i <= last; ++i) run = run && ax[i].red;

  if (dense && run) {
    if (first < 0)
      first = last = static_cast<int64_t>(ax.size());  // nothing reduced: n = 1 at the end
    else
      ++last;
    int64_t outer = 1, n = 1, inner = 1;
    Shape mem_shape;               // kept axes in memory order
    std::vector<int64_t> mem_log;  // their logical positions
    for (int64_t i = 0; i < static_cast<int64_t>(ax.size()); ++i) {
      if (i < first)
        outer *= ax[i].size;
      else if (i >= last)
        inner *= ax[i].size;
      else
        n *= ax[i].size;
      if (!ax[i].red) {
        mem_shape.push_back(ax[i].size);
        mem_log.push_back(ax[i].logical);
      }
    }
    Tensor y(mem_shape, odt, x.device());
    run_reduce(op, x, y, outer, n, inner, scale);
    if (std::is_sorted(mem_log.begin(), mem_log.end())) return y.view(oshape);
    // Kept axes come out in memory order: put them back in logical order.
    std::vector<int64_t> order(mem_log.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return mem_log[a] < mem_log[b]; });
    return contiguous(permute(y, order)).view(oshape);
  }

  // General case: kept axes first, reduced axes last, one copy.
  std::vector<int64_t> perm;
  Shape kept;
  int64_t outer = 1, n = 1;
  for (size_t i = 0; i < s.size(); ++i)
    if (!mask[i]) {
      perm.push_back(static_cast<int64_t>(i));
      kept.push_back(s[i]);
      outer *= s[i];
    }
  for (size_t i = 0; i < s.size(); ++i)
    if (mask[i]) {
      perm.push_back(static_cast<int64_t>(i));
      n *= s[i];
    }
  Tensor src = contiguous(permute(x, perm));
  Tensor y(kept, odt, x.device());
  run_reduce(op, src, y, outer, n, 1, scale);
  return y.view(oshape);
}

// g (the reduced shape) broadcast back over x's shape.
Tensor expand_back(const Tensor& g, const Shape& keep_shape, const Shape& in_shape) {
  return expand(reshape(g, keep_shape), in_shape);
}

Tensor to_float(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, DType::f32); }

Tensor extreme(const char* opname, ReduceOp op, const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined(opname, x);
  auto mask = axis_mask(opname, x, axes);
  Tensor y = reduce_raw(opname, op, x, mask, keepdims);
  if (autograd::recording() && is_floating(x.dtype())) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    Axes red = mask_axes(mask);
    // The gradient goes to the elements equal to the result, split evenly among ties.
    autograd::record(opname, {x}, {y}, [x, y, in, ks, red](const Grads& g) {
      Tensor hit = cast(eq(x, reshape(y, ks)), g[0].dtype());
      Tensor count = sum(hit, red, true);
      return Grads{mul(hit, div(reshape(g[0], ks), count))};
    });
  }
  return y;
}

Tensor arg_extreme(const char* opname, ReduceOp op, const Tensor& x, int64_t axis, bool keepdims) {
  detail::check_defined(opname, x);
  auto mask = axis_mask(opname, x, {axis});
  return reduce_raw(opname, op, x, mask, keepdims);  // integer result: no gradient
}

Tensor logical(const char* opname, ReduceOp op, const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined(opname, x);
  return reduce_raw(opname, op, x, axis_mask(opname, x, axes), keepdims);
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined("sum", x);
  auto mask = axis_mask("sum", x, axes);
  Tensor y = reduce_raw("sum", ReduceOp::sum, x, mask, keepdims);
  if (autograd::recording()) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    autograd::record("sum", {x}, {y}, [in, ks](const Grads& g) { return Grads{expand_back(g[0], ks, in)}; });
  }
  return y;
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined("mean", x);
  auto mask = axis_mask("mean", x, axes);
  Tensor xf = to_float(x);  // the mean of integers is f32
  int64_t count = reduced_count(x.shape(), mask);
  Tensor y;
  if (count == 0) {  // NumPy: the mean of nothing is NaN
    NoGrad ng;
    Shape os = reduced_shape(x.shape(), mask, keepdims);
    y = full(os, std::numeric_limits<double>::quiet_NaN(), xf.dtype(), x.device());
  } else {
    y = reduce_raw("mean", ReduceOp::sum, xf, mask, keepdims, 1.0 / static_cast<double>(count));
  }
  if (autograd::recording()) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    double inv = 1.0 / static_cast<double>(count);
    autograd::record("mean", {xf}, {y},
                     [in, ks, inv](const Grads& g) { return Grads{mul(expand_back(g[0], ks, in), inv)}; });
  }
  return y;
}

Tensor prod(const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined("prod", x);
  auto mask = axis_mask("prod", x, axes);
  Tensor y = reduce_raw("prod", ReduceOp::prod, x, mask, keepdims);
  if (autograd::recording() && is_floating(x.dtype())) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    Axes red = mask_axes(mask);
    // d prod / d x_i = product of the others. Zeros are handled without dividing by them: with no
    // zero in the group it is prod / x_i; with exactly one zero only that element gets a gradient
    // (the product of the nonzero ones); with two or more every gradient is zero.
    autograd::record("prod", {x}, {y}, [x, in, ks, red](const Grads& g) {
      Tensor zero = eq(x, Scalar(0));
      Tensor nonzero_x = where(zero, ones_like(x), x);
      Tensor p = prod(nonzero_x, red, true);  // product of the nonzero elements
      Tensor nzeros = sum(cast(zero, x.dtype()), red, true);
      Tensor none = expand(eq(nzeros, Scalar(0)), in);
      Tensor one = logical_and(zero, eq(nzeros, Scalar(1)));
      Tensor others = where(none, div(p, nonzero_x), where(one, expand(p, in), zeros_like(x)));
      return Grads{mul(expand_back(g[0], ks, in), others)};
    });
  }
  return y;
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) {
  return extreme("max", ReduceOp::max, x, axes, keepdims);
}
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) {
  return extreme("min", ReduceOp::min, x, axes, keepdims);
}
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) {
  return arg_extreme("argmax", ReduceOp::argmax, x, axis, keepdims);
}
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims) {
  return arg_extreme("argmin", ReduceOp::argmin, x, axis, keepdims);
}
Tensor all(const Tensor& x, const Axes& axes, bool keepdims) {
  return logical("all", ReduceOp::all, x, axes, keepdims);
}
Tensor any(const Tensor& x, const Axes& axes, bool keepdims) {
  return logical("any", ReduceOp::any, x, axes, keepdims);
}

namespace {
// Sum of squared deviations / max(count - correction, 0), computed in two passes (mean first) for
// accuracy. Unrecorded.
Tensor variance_raw(const Tensor& xf, const std::vector<bool>& mask, int64_t correction, bool keepdims) {
  NoGrad ng;
  Axes red = mask_axes(mask);
  Tensor d = sub(xf, mean(xf, red, true));
  int64_t dof = std::max<int64_t>(reduced_count(xf.shape(), mask) - correction, 0);
  return div(sum(mul(d, d), red, keepdims), Scalar(static_cast<double>(dof)));
}
}  // namespace

Tensor var(const Tensor& x, const Axes& axes, int64_t correction, bool keepdims) {
  detail::check_defined("var", x);
  auto mask = axis_mask("var", x, axes);
  AXON_CHECK(correction >= 0, "var", "correction must be non-negative, got {}", correction);
  Tensor xf = to_float(x);
  Tensor y = variance_raw(xf, mask, correction, keepdims);
  if (autograd::recording()) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    Axes red = mask_axes(mask);
    double dof = static_cast<double>(std::max<int64_t>(reduced_count(in, mask) - correction, 0));
    autograd::record("var", {xf}, {y}, [xf, in, ks, red, dof](const Grads& g) {
      Tensor d = sub(xf, mean(xf, red, true));  // recomputed: keeps grad-of-grad exact
      return Grads{mul(mul(expand_back(g[0], ks, in), d), Scalar(2.0 / dof))};
    });
  }
  return y;
}

Tensor std(const Tensor& x, const Axes& axes, int64_t correction, bool keepdims) {
  detail::check_defined("std", x);
  auto mask = axis_mask("std", x, axes);
  AXON_CHECK(correction >= 0, "std", "correction must be non-negative, got {}", correction);
  Tensor xf = to_float(x);
  Tensor y;
  {
    NoGrad ng;
    y = sqrt(variance_raw(xf, mask, correction, keepdims));
  }
  if (autograd::recording()) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    Axes red = mask_axes(mask);
    double dof = static_cast<double>(std::max<int64_t>(reduced_count(in, mask) - correction, 0));
    autograd::record("std", {xf}, {y}, [xf, y, in, ks, red, dof](const Grads& g) {
      Tensor d = sub(xf, mean(xf, red, true));
      Tensor scale = div(reshape(g[0], ks), mul(reshape(y, ks), Scalar(dof)));
      return Grads{mul(d, scale)};
    });
  }
  return y;
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  detail::check_defined("logsumexp", x);
  auto mask = axis_mask("logsumexp", x, axes);
  Tensor xf = to_float(x);
  Axes red = mask_axes(mask);
  Shape in = x.shape(), ks = reduced_shape(in, mask, true);
  Tensor y;
  {
    NoGrad ng;
    Tensor m;
    if (reduced_count(in, mask) == 0 || xf.numel() == 0) {
      m = zeros(ks, xf.dtype(), x.device());
    } else {
      // Shift by the maximum so exp cannot overflow; an infinite maximum shifts by 0 instead
      // (all -inf gives log(0) = -inf, any +inf gives +inf, NaN stays NaN).
      m = max(xf, red, true);
      m = where(ne(abs(m), Scalar(std::numeric_limits<double>::infinity())), m, Scalar(0));
    }
    Tensor s = log(sum(exp(sub(xf, m)), red, true));
    y = add(s, m);
    if (!keepdims) y = reshape(y, reduced_shape(in, mask, false));
  }
  if (autograd::recording()) {
    autograd::record("logsumexp", {xf}, {y}, [xf, y, ks](const Grads& g) {
      return Grads{mul(reshape(g[0], ks), exp(sub(xf, reshape(y, ks))))};
    });
  }
  return y;
}

Tensor norm(const Tensor& x, double ord, const Axes& axes, bool keepdims) {
  detail::check_defined("norm", x);
  AXON_CHECK(!std::isnan(ord), "norm", "ord must be a number, got NaN");
  axis_mask("norm", x, axes);  // validates the axes before any work
  Tensor xf = to_float(x);
  constexpr double inf = std::numeric_limits<double>::infinity();
  // ord 1, +-inf and general p are compositions of recorded ops, so their gradients come from
  // those ops (including the even split among ties for +-inf).
  if (ord == 1) return sum(abs(xf), axes, keepdims);
  if (ord == inf) return max(abs(xf), axes, keepdims);
  if (ord == -inf) return min(abs(xf), axes, keepdims);
  if (ord == 0) {  // the number of nonzero elements; no gradient
    NoGrad ng;
    return cast(sum(ne(xf, Scalar(0)), axes, keepdims), xf.dtype());
  }
  if (ord != 2) return pow(sum(pow(abs(xf), Scalar(ord)), axes, keepdims), Scalar(1.0 / ord));
  auto mask = axis_mask("norm", x, axes);
  Tensor y;
  {
    NoGrad ng;
    y = sqrt(sum(mul(xf, xf), axes, keepdims));
  }
  if (autograd::recording()) {
    Shape in = x.shape(), ks = reduced_shape(in, mask, true);
    // x / ||x||, with 0 (a subgradient) for the zero vector instead of 0/0.
    autograd::record("norm", {xf}, {y}, [xf, y, ks](const Grads& g) {
      Tensor yk = reshape(y, ks);
      Tensor safe = where(ne(yk, Scalar(0)), yk, Scalar(1));
      return Grads{mul(reshape(g[0], ks), div(xf, safe))};
    });
  }
  return y;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  detail::check_defined("sum_to", x);
  const Shape& s = x.shape();
  if (s == shape) return x;
  // Right-aligned as in broadcasting: x's extra leading axes are summed, and so are the axes
  // where the target has 1; extra leading target axes must be 1.
  int64_t r = x.dim(), tr = static_cast<int64_t>(shape.size());
  std::vector<bool> mask(static_cast<size_t>(r), false);
  for (int64_t i = 0; i < std::max(r, tr); ++i) {
    int64_t xi = i - std::max<int64_t>(tr - r, 0), ti = i - std::max<int64_t>(r - tr, 0);
    int64_t xd = xi >= 0 ? s[xi] : 1, td = ti >= 0 ? shape[ti] : 1;
    AXON_CHECK(ti >= 0 ? (td == xd || td == 1) : true, "sum_to", "cannot sum {} to the shape {}", describe(x),
               to_string(shape));
    AXON_CHECK(xi >= 0 || td == 1, "sum_to", "cannot sum {} to the shape {}", describe(x), to_string(shape));
    if (xi >= 0 && (ti < 0 || (td == 1 && xd != 1))) mask[xi] = true;
  }
  Tensor y = reduce_raw("sum_to", ReduceOp::sum, x, mask, false);
  {
    NoGrad ng;
    y = y.view(shape);
  }
  if (autograd::recording()) {
    Shape in = s;
    autograd::record("sum_to", {x}, {y}, [in](const Grads& g) { return Grads{expand(g[0], in)}; });
  }
  return y;
}

}  // namespace axon
