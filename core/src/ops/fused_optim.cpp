#include <axon/fused_optim.hpp>
#include <axon/kernels/optim.hpp>

#include "internal.hpp"

namespace axon {
namespace {

// Every tensor f32 on `dev` with the shape of its reference; returns contiguous copies.
std::vector<Tensor> checked(const char* op, const char* what, const std::vector<Tensor>& ts,
                            const std::vector<Tensor>& ref, Device dev) {
  AXON_CHECK(ts.size() == ref.size(), op, "{} holds {} tensors but the gradients {}", what, ts.size(), ref.size());
  std::vector<Tensor> out;
  out.reserve(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    detail::check_defined(op, ts[i], what);
    AXON_CHECK(ts[i].dtype() == DType::f32, op, "{}[{}] must be f32, got {}", what, i, describe(ts[i]));
    AXON_CHECK(ts[i].device() == dev, op, "{}[{}] is {} but the gradients are on {}", what, i, describe(ts[i]),
               dev.str());
    AXON_CHECK(ts[i].shape() == ref[i].shape(), op, "{}[{}] is {} but gradient {} is {}", what, i, describe(ts[i]), i,
               describe(ref[i]));
    out.push_back(ts[i].contiguous());
  }
  return out;
}

Device grads_device(const char* op, const std::vector<Tensor>& grads) {
  AXON_CHECK(!grads.empty(), op, "no tensors to update");
  for (size_t i = 0; i < grads.size(); ++i) detail::check_defined(op, grads[i], "gradient");
  return grads[0].device();
}

void check_scalar(const char* op, const char* what, const Tensor& t, DType dt, Device dev) {
  detail::check_defined(op, t, what);
  AXON_CHECK(t.dim() == 0 && t.dtype() == dt && t.device() == dev, op, "{} must be a 0-d {} tensor on {}, got {}",
             what, dtype_name(dt), dev.str(), describe(t));
}

}  // namespace

FusedAdamResult fused_adam_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& params,
                                  const std::vector<Tensor>& mu, const std::vector<Tensor>& nu, const Tensor& count,
                                  const Tensor& scale, double b1, double b2, double eps, double eps_root,
                                  double weight_decay) {
  const char* op = "fused_adam_update";
  Device dev = grads_device(op, grads);
  auto g = checked(op, "gradients", grads, grads, dev);
  auto p = checked(op, "params", params, grads, dev);
  auto m = checked(op, "mu", mu, grads, dev);
  auto v = checked(op, "nu", nu, grads, dev);
  check_scalar(op, "count", count, DType::i64, dev);
  check_scalar(op, "scale", scale, DType::f32, dev);
  AXON_CHECK(b1 > 0 && b1 < 1 && b2 > 0 && b2 < 1, op, "b1 and b2 must lie in (0, 1), got {} and {}", b1, b2);
  FusedAdamResult r;
  std::vector<kernels::AdamSlot> slots;
  for (size_t i = 0; i < g.size(); ++i) {
    r.updates.push_back(empty(g[i].shape(), DType::f32, dev));
    r.mu.push_back(empty(g[i].shape(), DType::f32, dev));
    r.nu.push_back(empty(g[i].shape(), DType::f32, dev));
    if (g[i].numel() == 0) continue;
    slots.push_back({g[i].data<float>(), p[i].data<float>(), m[i].data<float>(), v[i].data<float>(),
                     r.updates[i].data<float>(), r.mu[i].data<float>(), r.nu[i].data<float>(), g[i].numel()});
  }
  if (slots.empty()) return r;
  kernels::AdamHyper h{float(b1), float(b2), float(eps), float(eps_root), float(weight_decay)};
  Tensor c = count.contiguous(), s = scale.contiguous();
  AXON_ON_DEVICE(dev,
                 kernels::cpu::fused_adam(slots.data(), int64_t(slots.size()), c.data<int64_t>(), s.data<float>(), h),
                 kernels::cuda::fused_adam(slots.data(), int64_t(slots.size()), c.data<int64_t>(), s.data<float>(), h,
                                           detail::stream_for(dev)));
  return r;
}

FusedMomentumResult fused_sgd_momentum_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& trace,
                                              const Tensor& scale, double momentum, bool nesterov) {
  const char* op = "fused_sgd_momentum_update";
  Device dev = grads_device(op, grads);
  auto g = checked(op, "gradients", grads, grads, dev);
  auto t = checked(op, "trace", trace, grads, dev);
  check_scalar(op, "scale", scale, DType::f32, dev);
  FusedMomentumResult r;
  std::vector<kernels::MomentumSlot> slots;
  for (size_t i = 0; i < g.size(); ++i) {
    r.updates.push_back(empty(g[i].shape(), DType::f32, dev));
    r.trace.push_back(empty(g[i].shape(), DType::f32, dev));
    if (g[i].numel() == 0) continue;
    slots.push_back({g[i].data<float>(), t[i].data<float>(), r.updates[i].data<float>(), r.trace[i].data<float>(),
                     g[i].numel()});
  }
  if (slots.empty()) return r;
  Tensor s = scale.contiguous();
  AXON_ON_DEVICE(dev,
                 kernels::cpu::fused_sgd_momentum(slots.data(), int64_t(slots.size()), s.data<float>(),
                                                  float(momentum), nesterov),
                 kernels::cuda::fused_sgd_momentum(slots.data(), int64_t(slots.size()), s.data<float>(),
                                                   float(momentum), nesterov, detail::stream_for(dev)));
  return r;
}

}  // namespace axon
