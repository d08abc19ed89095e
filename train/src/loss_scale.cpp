// Loss scaling (Axon.LossScale): identity, static and dynamic, with every decision made on the device.
#include <cmath>
#include <limits>

#include <axon/ops.hpp>
#include <axon/train/loss_scale.hpp>

namespace axon::training {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool is_16bit(DType dt) { return dt == DType::bf16 || dt == DType::f16; }

const Tensor& entry(const LossScaleState& s, const char* key, const std::string& who) {
  auto it = s.find(key);
  AXON_CHECK(it != s.end() && it->second.defined(), who,
             "the loss-scale state has no \"{}\" (it comes from the loss scale's init)", key);
  return it->second;
}

// loss·s, in f32 for a 16-bit loss: the scale (2^15 and up) is out of f16's range.
Tensor scale_loss(const Tensor& loss, const LossScaleState& state, const std::string& who) {
  const Tensor l = is_16bit(loss.dtype()) ? cast(loss, DType::f32) : loss;
  return mul(l, cast(entry(state, "loss_scale", who), l.dtype()));
}

// grads/s, computed in f32 (f64 for f64 gradients) and returned in each gradient's dtype.
Params unscale_grads(const Params& grads, const Tensor& scale) {
  const Tensor inv = rdiv(1, scale);
  Params out;
  for (const auto& [layer, m] : grads)
    for (const auto& [name, g] : m) {
      const DType wide = g.dtype() == DType::f64 ? DType::f64 : DType::f32;
      out[layer][name] = cast(mul(cast(g, wide), cast(inv, wide)), g.dtype());
    }
  return out;
}

Tensor tensor_finite(const Tensor& g, bool nan_is_overflow) {
  // |g| < inf is false for NaN as well as ±inf; |g| != inf only for ±inf.
  const Tensor a = abs(g);
  return all(nan_is_overflow ? lt(a, kInf) : ne(a, kInf));
}

}  // namespace

Tensor all_finite(const Params& grads, bool nan_is_overflow) {
  Tensor finite;
  for (const auto& [layer, m] : grads)
    for (const auto& [name, g] : m) {
      if (!is_floating(g.dtype())) continue;
      Tensor f = tensor_finite(g, nan_is_overflow);
      finite = finite.defined() ? logical_and(finite, f) : f;
    }
  return finite.defined() ? finite : ones({}, DType::boolean);
}

std::map<std::string, Tensor> select_finite(const Tensor& finite, const std::map<std::string, Tensor>& next,
                                            const std::map<std::string, Tensor>& previous) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : next) {
    auto it = previous.find(k);
    out.emplace(k, it == previous.end() || !t.defined() || !it->second.defined() ? t : where(finite, t, it->second));
  }
  return out;
}

Params select_finite(const Tensor& finite, const Params& next, const Params& previous) {
  static const ParamMap none;
  Params out;
  for (const auto& [layer, m] : next) {
    auto it = previous.find(layer);
    out.emplace(layer, select_finite(finite, m, it == previous.end() ? none : it->second));
  }
  return out;
}

LossScale identity_loss_scale() {
  return {.name = "identity",
          .init = [](Device) { return LossScaleState{}; },
          .scale = [](const Tensor& loss, const LossScaleState&) { return loss; },
          .unscale = [](const Params& grads, const LossScaleState& s) { return Unscaled{grads, s, Tensor()}; },
          .skip_overflow = false};
}

LossScale static_loss_scale(StaticLossScaleOptions o) {
  AXON_CHECK(std::isfinite(o.init_scale) && o.init_scale > 0, "static_loss_scale",
             "init_scale must be finite and positive, got {}", o.init_scale);
  return {.name = "static",
          .init = [o](Device d) { return LossScaleState{{"loss_scale", full({}, o.init_scale, DType::f32, d)}}; },
          .scale = [](const Tensor& loss, const LossScaleState& s) { return scale_loss(loss, s, "static_loss_scale"); },
          .unscale =
              [o](const Params& grads, const LossScaleState& s) {
                Unscaled u{unscale_grads(grads, entry(s, "loss_scale", "static_loss_scale")), s, Tensor()};
                if (o.skip_overflow) u.finite = all_finite(u.grads, o.nan_is_overflow);
                return u;
              },
          .skip_overflow = o.skip_overflow};
}

LossScale dynamic_loss_scale(DynamicLossScaleOptions o) {
  const char* who = "dynamic_loss_scale";
  AXON_CHECK(std::isfinite(o.init_scale) && o.init_scale > 0, who, "init_scale must be finite and positive, got {}",
             o.init_scale);
  AXON_CHECK(o.period >= 1, who, "period must be >= 1, got {}", o.period);
  AXON_CHECK(std::isfinite(o.factor) && o.factor >= 1, who, "factor must be finite and >= 1, got {}", o.factor);
  AXON_CHECK(std::isfinite(o.min_loss_scale) && o.min_loss_scale > 0, who,
             "min_loss_scale must be finite and positive, got {}", o.min_loss_scale);
  return {
      .name = "dynamic",
      .init =
          [o](Device d) {
            return LossScaleState{{"loss_scale", full({}, o.init_scale, DType::f32, d)},
                                  {"counter", zeros({}, DType::i64, d)}};
          },
      .scale = [who](const Tensor& loss, const LossScaleState& s) { return scale_loss(loss, s, who); },
      .unscale =
          [o, who](const Params& grads, const LossScaleState& s) {
            const Tensor& scale = entry(s, "loss_scale", who);
            const Tensor& counter = entry(s, "counter", who);
            Unscaled u{unscale_grads(grads, scale), {}, Tensor()};
            u.finite = all_finite(u.grads, o.nan_is_overflow);
            // Axon's adjust_dynamic, as selects: grow after `period` finite steps unless the grown
            // scale overflows; shrink (not below the minimum) and restart the count on overflow.
            const Tensor at_period = eq(counter, o.period - 1);
            const Tensor grown = mul(scale, o.factor);
            const Tensor if_finite = where(logical_and(at_period, lt(grown, kInf)), grown, scale);
            const Tensor shrunk = clamp(div(scale, o.factor), Scalar(o.min_loss_scale), std::nullopt);
            u.state["loss_scale"] = where(u.finite, if_finite, shrunk);
            u.state["counter"] = where(logical_and(u.finite, logical_not(at_period)), add(counter, 1), 0);
            return u;
          },
      .skip_overflow = o.skip_overflow};
}

}  // namespace axon::training
