#include <axon/fused_optim.hpp>
#include <axon/kernels/optim.hpp>

#include "internal.hpp"

namespace axon {
namespace {

// The dtype of the update: the gradients' (f32 anywhere, f64 on the CPU).
DType update_dtype(const char* op, const std::vector<Tensor>& grads, Device dev) {
  DType dt = grads[0].dtype();
  AXON_CHECK(dt == DType::f32 || (dt == DType::f64 && dev.is_cpu()), op, "gradients[0] must be f32{}, got {}",
             dev.is_cpu() ? " or f64" : " (f64 is supported on the CPU only)", describe(grads[0]));
  return dt;
}

// Every tensor of dtype `dt` on `dev` with the shape of its reference; returns contiguous copies.
std::vector<Tensor> checked(const char* op, const char* what, const std::vector<Tensor>& ts,
                            const std::vector<Tensor>& ref, DType dt, Device dev) {
  AXON_CHECK(ts.size() == ref.size(), op, "{} holds {} tensors but the gradients {}", what, ts.size(), ref.size());
  std::vector<Tensor> out;
  out.reserve(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    detail::check_defined(op, ts[i], what);
    AXON_CHECK(ts[i].dtype() == dt, op, "{}[{}] must be {}, got {}", what, i, dtype_name(dt), describe(ts[i]));
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

template <class T>
void adam_slots(const std::vector<Tensor>& g, const std::vector<Tensor>& p, const std::vector<Tensor>& m,
                const std::vector<Tensor>& v, const Tensor& count, const Tensor& scale, double b1, double b2,
                double eps, double eps_root, double weight_decay, FusedAdamResult& r) {
  const Device dev = g[0].device();
  std::vector<kernels::AdamSlotT<T>> slots;
  for (size_t i = 0; i < g.size(); ++i) {
    r.updates.push_back(empty(g[i].shape(), dtype_v<T>, dev));
    r.mu.push_back(empty(g[i].shape(), dtype_v<T>, dev));
    r.nu.push_back(empty(g[i].shape(), dtype_v<T>, dev));
    if (g[i].numel() == 0) continue;
    slots.push_back({g[i].data<T>(), p[i].data<T>(), m[i].data<T>(), v[i].data<T>(), r.updates[i].data<T>(),
                     r.mu[i].data<T>(), r.nu[i].data<T>(), g[i].numel()});
  }
  if (slots.empty()) return;
  Tensor c = count.contiguous(), s = scale.contiguous();
  if constexpr (std::is_same_v<T, float>) {
    AXON_ON_DEVICE(dev,
                   kernels::cpu::fused_adam(slots.data(), int64_t(slots.size()), c.data<int64_t>(), s.data<T>(),
                                            kernels::AdamCoefficients{b1, b2, eps, eps_root, weight_decay}),
                   cuda::backend().fused_adam(slots.data(), int64_t(slots.size()), c.data<int64_t>(), s.data<T>(),
                                              kernels::AdamHyper{float(b1), float(b2), float(eps), float(eps_root),
                                                                float(weight_decay)},
                                              detail::stream_for(dev)));
  } else {  // f64: the CPU only (update_dtype)
    AXON_ON_DEVICE(dev,
                   kernels::cpu::fused_adam(slots.data(), int64_t(slots.size()), c.data<int64_t>(), s.data<T>(),
                                            kernels::AdamCoefficients{b1, b2, eps, eps_root, weight_decay}),
                   AXON_FAIL("fused_adam_update", "f64 is supported on the CPU only"));
  }
}

template <class T>
void momentum_slots(const std::vector<Tensor>& g, const std::vector<Tensor>& t, const Tensor& scale, double momentum,
                    bool nesterov, FusedMomentumResult& r) {
  const Device dev = g[0].device();
  std::vector<kernels::MomentumSlotT<T>> slots;
  for (size_t i = 0; i < g.size(); ++i) {
    r.updates.push_back(empty(g[i].shape(), dtype_v<T>, dev));
    r.trace.push_back(empty(g[i].shape(), dtype_v<T>, dev));
    if (g[i].numel() == 0) continue;
    slots.push_back({g[i].data<T>(), t[i].data<T>(), r.updates[i].data<T>(), r.trace[i].data<T>(), g[i].numel()});
  }
  if (slots.empty()) return;
  Tensor s = scale.contiguous();
  if constexpr (std::is_same_v<T, float>) {
    AXON_ON_DEVICE(dev,
                   kernels::cpu::fused_sgd_momentum(slots.data(), int64_t(slots.size()), s.data<T>(), momentum,
                                                    nesterov),
                   cuda::backend().fused_sgd_momentum(slots.data(), int64_t(slots.size()), s.data<T>(),
                                                      float(momentum), nesterov, detail::stream_for(dev)));
  } else {
    AXON_ON_DEVICE(dev, kernels::cpu::fused_sgd_momentum(slots.data(), int64_t(slots.size()), s.data<T>(), momentum, nesterov),
                   AXON_FAIL("fused_sgd_momentum_update", "f64 is supported on the CPU only"));
  }
}

}  // namespace

FusedAdamResult fused_adam_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& params,
                                  const std::vector<Tensor>& mu, const std::vector<Tensor>& nu, const Tensor& count,
                                  const Tensor& scale, double b1, double b2, double eps, double eps_root,
                                  double weight_decay) {
  const char* op = "fused_adam_update";
  Device dev = grads_device(op, grads);
  DType dt = update_dtype(op, grads, dev);
  auto g = checked(op, "gradients", grads, grads, dt, dev);
  auto p = checked(op, "params", params, grads, dt, dev);
  auto m = checked(op, "mu", mu, grads, dt, dev);
  auto v = checked(op, "nu", nu, grads, dt, dev);
  check_scalar(op, "count", count, DType::i64, dev);
  check_scalar(op, "scale", scale, dt, dev);
  AXON_CHECK(b1 > 0 && b1 < 1 && b2 > 0 && b2 < 1, op, "b1 and b2 must lie in (0, 1), got {} and {}", b1, b2);
  FusedAdamResult r;
  if (dt == DType::f32)
    adam_slots<float>(g, p, m, v, count, scale, b1, b2, eps, eps_root, weight_decay, r);
  else
    adam_slots<double>(g, p, m, v, count, scale, b1, b2, eps, eps_root, weight_decay, r);
  return r;
}

FusedMomentumResult fused_sgd_momentum_update(const std::vector<Tensor>& grads, const std::vector<Tensor>& trace,
                                              const Tensor& scale, double momentum, bool nesterov) {
  const char* op = "fused_sgd_momentum_update";
  Device dev = grads_device(op, grads);
  DType dt = update_dtype(op, grads, dev);
  auto g = checked(op, "gradients", grads, grads, dt, dev);
  auto t = checked(op, "trace", trace, grads, dt, dev);
  check_scalar(op, "scale", scale, dt, dev);
  FusedMomentumResult r;
  if (dt == DType::f32)
    momentum_slots<float>(g, t, scale, momentum, nesterov, r);
  else
    momentum_slots<double>(g, t, scale, momentum, nesterov, r);
  return r;
}

}  // namespace axon
