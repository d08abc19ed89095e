// batch_norm_cudnn (norm_ops.hpp): cuDNN's spatial batch norm, chosen per shape against the caller's
// composite, with its backward (cuDNN's, or the composite formula while a tape records it).
#include <axon/kernels/cudnn_pool_norm.hpp>
#include <axon/norm_ops.hpp>

#include "elementwise.hpp"
#include "internal.hpp"
#ifdef AXON_HAS_CUDNN
#include "../cuda/backend.hpp"
#include "cudnn_workspace.hpp"
#endif

namespace axon {

#ifndef AXON_HAS_CUDNN
CudnnBatchNorm batch_norm_cudnn(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                double, double, bool, const std::function<void()>&) {
  return {};
}
#else
namespace {
using autograd::Grads;

DType stat_dtype(DType dt) { return dt == DType::f64 ? DType::f64 : DType::f32; }

// p in dtype dt, contiguous, a fresh copy (cuDNN updates running statistics in place), or `fill`s.
Tensor param(const Tensor& p, DType dt, int64_t c, double fill, Device dev) {
  NoGrad ng;
  if (!p.defined()) return fill == 0 ? zeros({c}, dt, dev) : ones({c}, dt, dev);
  Tensor out({c}, dt, dev);
  detail::copy_to_view(p, out);
  return out;
}

// The gradients of y = [relu](gamma xh + beta), xh = (x - mean) invstd, as differentiable ops over
// x0 (training: mean and invstd are x0's own batch statistics; inference: the given constants).
Grads composite_backward(const Tensor& x0, const Tensor& gamma0, const Tensor& y, const Tensor& g0, bool training,
                         const Tensor& rm, const Tensor& rv, double eps, bool relu, DType dt) {
  Tensor x = cast(x0, dt);
  Axes axes;
  for (int64_t d = 0; d + 1 < x.dim(); ++d) axes.push_back(d);
  Tensor m, rs;
  if (training) {
    m = mean(x, axes, true);
    rs = rsqrt(add(var(x, axes, 0, true), eps));
  } else {
    m = cast(rm, dt);
    rs = rsqrt(add(cast(rv, dt), eps));
  }
  Tensor xh = mul(sub(x, m), rs);
  Tensor g = relu ? mul(g0, cast(gt(y, 0.0), dt)) : cast(g0, dt);
  Tensor gg = gamma0.defined() ? mul(g, cast(gamma0, dt)) : g;
  Tensor dx = training ? mul(rs, sub(sub(gg, mean(gg, axes, true)), mul(xh, mean(mul(gg, xh), axes, true))))
                       : mul(gg, rs);
  return {dx, gamma0.defined() ? sum(mul(g, xh), axes) : Tensor(), sum(g, axes)};
}
}  // namespace

CudnnBatchNorm batch_norm_cudnn(const Tensor& x0, const Tensor& gamma0, const Tensor& beta0, const Tensor& rm0,
                                const Tensor& rv0, bool training, double momentum, double eps, bool relu,
                                const std::function<void()>& reference) {
  const char* op = "batch_norm";
  if (!x0.defined() || !x0.is_cuda() || x0.dim() < 2 || !rm0.defined() || !rv0.defined()) return {};
  const cuda::Backend& b = cuda::backend();
  const DType dt = x0.dtype();
  const int64_t c = x0.shape().back(), n = x0.size(0), pixels = n * c == 0 ? 0 : x0.numel() / (n * c);
  if (!b.cudnn_available() || !b.cudnn_bn_supports(dt, n, pixels, c)) return {};
  const Device dev = x0.device();
  const DType st = stat_dtype(dt);
  Tensor x;
  {
    NoGrad ng;
    x = x0.is_contiguous() ? x0 : contiguous(x0);
  }
  const bool fuse = relu && training && b.cudnn_bn_fused_relu(dt, c);
  detail::WorkspaceKeep keep{dev, {}};
  kernels::cudnn::BatchNormArgs a;
  a.dt = dt;
  a.n = n;
  a.pixels = pixels;
  a.c = c;
  a.eps = eps;
  a.relu = fuse;
  a.handle = cuda::context(dev.index).cudnn();
  a.stream = detail::stream_for(dev);
  a.workspace = detail::workspace_for(keep);
  Tensor w = param(gamma0, st, c, 1, dev), bias = param(beta0, st, c, 0, dev);
  Tensor rm = param(rm0, st, c, 0, dev), rv = param(rv0, st, c, 1, dev);
  Tensor y(x.shape(), dt, dev), save_mean({c}, st, dev), save_invstd({c}, st, dev);
  Tensor reserve;
  if (training) reserve = empty({std::max<int64_t>(int64_t(b.cudnn_bn_reserve_bytes(a)), 1)}, DType::u8, dev);
  auto run = [&](const Tensor& rm_out, const Tensor& rv_out) {
    return training ? b.cudnn_bn_training(a, x.data_ptr(), y.data_ptr(), w.data_ptr(), bias.data_ptr(), momentum,
                                          rm_out.data_ptr(), rv_out.data_ptr(), save_mean.data_ptr(),
                                          save_invstd.data_ptr(), reserve.data_ptr())
                    : b.cudnn_bn_inference(a, x.data_ptr(), y.data_ptr(), w.data_ptr(), bias.data_ptr(),
                                           rm.data_ptr(), rv.data_ptr());
  };
  std::vector<int64_t> key{1, static_cast<int64_t>(dt), n, pixels, c, training, fuse,
                           reinterpret_cast<int64_t>(a.handle)};
  // The measurement's cuDNN runs update scratch copies of the running statistics.
  auto measured = [&] { return run(param(rm, st, c, 0, dev), param(rv, st, c, 1, dev)); };
  const auto path = b.cudnn_choose(key, a.stream, measured, reference);
  if (path != kernels::cudnn::Path::cudnn || !run(rm, rv)) return {};

  const bool has_beta = beta0.defined();
  if (training) {
    autograd::record(op, {x0, gamma0, beta0}, {y}, [=](const Grads& g) -> Grads {
      if (autograd::recording()) {
        Grads r = composite_backward(x0, gamma0, y, g[0], true, rm0, rv0, eps, fuse, dt);
        if (!has_beta) r[2] = Tensor();
        return r;
      }
      Tensor dy;
      {
        NoGrad ng;
        dy = detail::to_dtype_untracked(g[0], dt);
        if (!dy.is_contiguous()) dy = contiguous(dy);
      }
      detail::WorkspaceKeep k2{dev, {}};
      kernels::cudnn::BatchNormArgs a2 = a;
      a2.workspace = detail::workspace_for(k2);
      Tensor dx(x.shape(), dt, dev), dw({c}, st, dev), db({c}, st, dev);
      const bool ok = cuda::backend().cudnn_bn_backward(a2, x.data_ptr(), y.data_ptr(), dy.data_ptr(), w.data_ptr(),
                                                        bias.data_ptr(), save_mean.data_ptr(), save_invstd.data_ptr(),
                                                        reserve.data_ptr(), dx.data_ptr(), dw.data_ptr(), db.data_ptr());
      if (!ok) {
        Grads r = composite_backward(x0, gamma0, y, g[0], true, rm0, rv0, eps, fuse, dt);
        if (!has_beta) r[2] = Tensor();
        return r;
      }
      return {dx, gamma0.defined() ? dw : Tensor(), has_beta ? db : Tensor()};
    });
  } else {
    autograd::record(op, {x0, gamma0, beta0}, {y}, [=](const Grads& g) -> Grads {
      Grads r = composite_backward(x0, gamma0, y, g[0], false, rm, rv, eps, false, dt);
      if (!has_beta) r[2] = Tensor();
      return r;
    });
  }
  CudnnBatchNorm out;
  out.output = relu && !fuse ? axon::relu(y) : y;
  {
    NoGrad ng;
    out.running_mean = training ? cast(rm, rm0.dtype()) : rm0;
    out.running_var = training ? cast(rv, rv0.dtype()) : rv0;
  }
  return out;
}
#endif

}  // namespace axon
