// where and clamp with tensor bounds: three operands broadcast together.
#include "elementwise.hpp"

namespace axon {

namespace {
using autograd::Grads;

void check_cond(const Tensor& cond) {
  AXON_CHECK(cond.dtype() == DType::boolean, "where", "the condition must be a bool tensor, got {}",
             describe(cond));
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a0, const Tensor& b0) {
  detail::check_defined("where", cond, "condition");
  detail::check_defined("where", a0, "first input");
  detail::check_defined("where", b0, "second input");
  check_cond(cond);
  Device dev = detail::same_device("where", {&cond, &a0, &b0});
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a0.shape(), "where"), b0.shape(), "where");
  DType dt = promote_types(a0.dtype(), b0.dtype());
  Tensor a = detail::to_dtype_untracked(a0, dt);
  Tensor b = detail::to_dtype_untracked(b0, dt);
  Tensor y(shape, dt, dev);
  const int64_t n = y.numel();
  if (n > 0) {
    kernels::Indexer ix[3];
    const Tensor* ops[3] = {&cond, &a, &b};
    detail::ew_indexers(shape, ops, ix);
    auto* cp = static_cast<const bool*>(cond.data_ptr());
    AXON_ON_DEVICE(
        dev, kernels::cpu::where(dt, cp, ix[0], a.data_ptr(), ix[1], b.data_ptr(), ix[2], 0, y.data_ptr(), n),
        cuda::backend().where(dt, cp, ix[0], a.data_ptr(), ix[1], b.data_ptr(), ix[2], 0, y.data_ptr(), n,
                              detail::stream_for(dev)));
  }
  // No gradient to the condition; the unselected branch gets zero.
  autograd::record("where", {a0, b0}, {y}, [cond](const Grads& g) {
    return Grads{where(cond, g[0], 0), where(logical_not(cond), g[0], 0)};
  });
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a0, Scalar s) {
  detail::check_defined("where", cond, "condition");
  detail::check_defined("where", a0, "first input");
  check_cond(cond);
  Device dev = detail::same_device("where", {&cond, &a0});
  Shape shape = cond.shape() == a0.shape() ? a0.shape() : broadcast_shapes(cond.shape(), a0.shape(), "where");
  DType dt = detail::scalar_result_dtype(a0.dtype(), s);
  Tensor a = detail::to_dtype_untracked(a0, dt);
  Tensor y(shape, dt, dev);
  const int64_t n = y.numel();
  if (n > 0) {
    kernels::Indexer ix[2];
    const Tensor* ops[2] = {&cond, &a};
    detail::ew_indexers(shape, ops, ix);
    auto* cp = static_cast<const bool*>(cond.data_ptr());
    AXON_ON_DEVICE(
        dev,
        kernels::cpu::where(dt, cp, ix[0], a.data_ptr(), ix[1], nullptr, ix[1], s.value, y.data_ptr(), n),
        cuda::backend().where(dt, cp, ix[0], a.data_ptr(), ix[1], nullptr, ix[1], s.value, y.data_ptr(), n,
                              detail::stream_for(dev)));
  }
  autograd::record("where", {a0}, {y}, [cond](const Grads& g) { return Grads{where(cond, g[0], 0)}; });
  return y;
}

// Tensor bounds (either may be undefined, not both): y = min(max(x, lo), hi), so lo > hi gives hi,
// as PyTorch. Gradients, as PyTorch: x where lo <= x <= hi; lo where x < lo and lo < hi; hi where
// x > hi or hi < lo.
Tensor clamp(const Tensor& x0, const Tensor& lo0, const Tensor& hi0) {
  detail::check_defined("clamp", x0);
  AXON_CHECK(lo0.defined() || hi0.defined(), "clamp", "at least one of the bounds must be given (input {})",
             describe(x0));
  Device dev = detail::same_device("clamp", {&x0, &lo0, &hi0});
  Shape shape = x0.shape();
  DType dt = x0.dtype();
  for (const Tensor* t : {&lo0, &hi0}) {
    if (!t->defined()) continue;
    shape = broadcast_shapes(shape, t->shape(), "clamp");
    dt = promote_types(dt, t->dtype());
  }
  AXON_CHECK(dt != DType::boolean, "clamp", "clamping bool tensors is not supported ({})", describe(x0));
  Tensor x = detail::to_dtype_untracked(x0, dt);
  Tensor lo = lo0.defined() ? detail::to_dtype_untracked(lo0, dt) : x;
  Tensor hi = hi0.defined() ? detail::to_dtype_untracked(hi0, dt) : x;
  Tensor y(shape, dt, dev);
  const int64_t n = y.numel();
  if (n > 0) {
    kernels::Indexer ix[3];
    const Tensor* ops[3] = {&x, &lo, &hi};
    detail::ew_indexers(shape, ops, ix);
    const void* lp = lo0.defined() ? lo.data_ptr() : nullptr;
    const void* hp = hi0.defined() ? hi.data_ptr() : nullptr;
    AXON_ON_DEVICE(dev, kernels::cpu::clamp(dt, x.data_ptr(), ix[0], lp, ix[1], hp, ix[2], y.data_ptr(), n),
                   cuda::backend().clamp(dt, x.data_ptr(), ix[0], lp, ix[1], hp, ix[2], y.data_ptr(), n,
                                         detail::stream_for(dev)));
  }
  autograd::record("clamp", {x0, lo0, hi0}, {y}, [x0, lo0, hi0](const Grads& g) {
    Tensor gx, glo, ghi;
    if (lo0.defined() && hi0.defined()) {
      gx = where(logical_and(ge(x0, lo0), le(x0, hi0)), g[0], 0);
      glo = where(logical_and(lt(x0, lo0), lt(lo0, hi0)), g[0], 0);
      ghi = where(logical_or(gt(x0, hi0), lt(hi0, lo0)), g[0], 0);
    } else if (lo0.defined()) {
      gx = where(ge(x0, lo0), g[0], 0);
      glo = where(lt(x0, lo0), g[0], 0);
    } else {
      gx = where(le(x0, hi0), g[0], 0);
      ghi = where(gt(x0, hi0), g[0], 0);
    }
    return Grads{gx, glo, ghi};
  });
  return y;
}

}  // namespace axon
