// Dropout family as composites: a Bernoulli mask from the Philox generator, then mul / where, so the
// gradient (mask / keep, or a * mask) comes from those ops.
#include <axon/layers/dropout.hpp>
#include <axon/ops.hpp>

namespace axon::layers {

namespace {
void check(const char* op, const Tensor& x, const DropoutOptions& o) {
  AXON_CHECK(x.defined(), op, "the input must be defined");
  AXON_CHECK(o.rate >= 0 && o.rate <= 1, op, "rate must be in [0, 1], got {}", o.rate);
}

// Mask shape for channel-wise dropout: [B, 1..., C] (channels last) or [B, C, 1...] (first); Axon's
// spatial noise is the input shape with the channel axis set to 1.
Shape channel_noise_shape(const char* op, const Tensor& x, const DropoutOptions& o) {
  AXON_CHECK(x.dim() >= 2, op, "the input must have rank >= 2 ([batch, ..., channels]), got {}", describe(x));
  const int64_t c = o.channels == Channels::last ? x.dim() - 1 : 1;
  Shape s = x.shape();
  if (o.axon_semantics) {
    s[static_cast<size_t>(c)] = 1;
  } else {
    for (int64_t d = 1; d < x.dim(); ++d)
      if (d != c) s[static_cast<size_t>(d)] = 1;
  }
  return s;
}

Tensor keep_mask(const Tensor& x, const Shape& shape, double keep, Generator& gen) {
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::f32;
  return bernoulli(shape, keep, gen, dt, x.device());
}

Tensor inverted(const Tensor& x, const Shape& noise, double rate, Generator& gen) {
  if (rate >= 1) return mul(x, 0.0);
  Tensor m = keep_mask(x, noise, 1.0 - rate, gen);
  return mul(x, mul(m, 1.0 / (1.0 - rate)));
}

Tensor alpha(const Tensor& x, const Shape& noise, const DropoutOptions& o, Generator& gen) {
  const double lambda = 1.0507009873554804934193349852946, alph = 1.6732632423543772848170429916717;
  const double ap = -lambda * alph, q = 1.0 - o.rate;
  if (q <= 0) return full_like(x, 0.0);  // every unit dropped: a * alpha' + b = 0 as q -> 0
  const double a =
      o.axon_semantics ? 1.0 / std::sqrt(q * ap * ap) : 1.0 / std::sqrt(q * (1 + o.rate * ap * ap));
  const double b = -a * ap * o.rate;
  Tensor m = keep_mask(x, noise, q, gen);
  // a * (m ? x : alpha') + b = a * m * x + (a * alpha' * (1 - m) + b)
  return add(mul(x, mul(m, a)), add(mul(rsub(1.0, m), a * ap), b));
}
}  // namespace

Tensor dropout(const Tensor& x, Generator& gen, DropoutOptions o) {
  check("dropout", x, o);
  if (!o.training || o.rate == 0) return x;
  Shape noise = o.noise_shape.empty() ? x.shape() : o.noise_shape;
  if (!o.noise_shape.empty()) {
    bool ok = noise.size() == x.shape().size();
    for (size_t i = 0; ok && i < noise.size(); ++i) ok = noise[i] == x.shape()[i] || noise[i] == 1;
    AXON_CHECK(ok, "dropout", "noise_shape {} does not broadcast to input {}", to_string(noise), describe(x));
  }
  return inverted(x, noise, o.rate, gen);
}
Tensor dropout(const Tensor& x, DropoutOptions o) { return dropout(x, default_generator(), o); }

Tensor spatial_dropout(const Tensor& x, Generator& gen, DropoutOptions o) {
  check("spatial_dropout", x, o);
  Shape noise = channel_noise_shape("spatial_dropout", x, o);
  if (!o.training || o.rate == 0) return x;
  return inverted(x, noise, o.rate, gen);
}
Tensor spatial_dropout(const Tensor& x, DropoutOptions o) {
  return spatial_dropout(x, default_generator(), o);
}

Tensor alpha_dropout(const Tensor& x, Generator& gen, DropoutOptions o) {
  check("alpha_dropout", x, o);
  if (!o.training || o.rate == 0) return x;
  return alpha(x, x.shape(), o, gen);
}
Tensor alpha_dropout(const Tensor& x, DropoutOptions o) { return alpha_dropout(x, default_generator(), o); }

Tensor feature_alpha_dropout(const Tensor& x, Generator& gen, DropoutOptions o) {
  check("feature_alpha_dropout", x, o);
  Shape noise = channel_noise_shape("feature_alpha_dropout", x, o);
  if (!o.training || o.rate == 0) return x;
  return alpha(x, noise, o, gen);
}
Tensor feature_alpha_dropout(const Tensor& x, DropoutOptions o) {
  return feature_alpha_dropout(x, default_generator(), o);
}

}  // namespace axon::layers
