#include <axon/initializers.hpp>

#include <cmath>
#include <vector>

#include <axon/ops.hpp>

namespace axon::initializers {

namespace {
// The generator to draw from: the caller's, or a fresh one from the seed.
template <class O>
struct Gen {
  Generator local;
  Generator* g;
  explicit Gen(const O& o) : local(o.seed), g(o.generator ? o.generator : &local) {}
};
// Random draws are made in f32 (or f64) and cast: Philox gives the same bits on both devices.
DType draw_dtype(DType dt) {
  AXON_CHECK(is_floating(dt), "initializers", "random initializers need a floating dtype, got {}", dtype_name(dt));
  return dt == DType::f64 ? DType::f64 : DType::f32;
}
Tensor finish(const Tensor& t, DType dt) { return t.dtype() == dt ? t : cast(t, dt); }

Tensor uniform_draw(const Shape& shape, double limit, Generator& g, DType dt, Device dev) {
  return finish(axon::uniform(shape, -limit, limit, g, draw_dtype(dt), dev), dt);
}
Tensor truncated_normal_draw(const Shape& shape, double sigma, Generator& g, DType dt, Device dev) {
  const double lo = std::erf(-std::sqrt(2.0)), hi = std::erf(std::sqrt(2.0));
  Tensor u = axon::uniform(shape, lo, hi, g, draw_dtype(dt), dev);
  Tensor z = clamp(mul(erfinv(u), std::sqrt(2.0)), Scalar(-2.0), Scalar(2.0));
  return finish(mul(z, sigma), dt);
}
}  // namespace

std::pair<double, double> compute_fans(const Shape& shape, bool channels_first) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.size() == 2) return {double(shape[0]), double(shape[1])};
  if (channels_first) {
    double rf = 1;
    for (size_t i = 2; i < shape.size(); ++i) rf *= double(shape[i]);
    return {double(shape[1]) * rf, double(shape[0]) * rf};
  }
  const double in = double(shape[shape.size() - 2]), out = double(shape.back());
  double rf = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) rf *= double(shape[i]);
  return {in * rf, out * rf};
}

Tensor zeros(const Shape& shape, InitOptions o) { return axon::zeros(shape, o.dtype, o.device); }
Tensor ones(const Shape& shape, InitOptions o) { return axon::ones(shape, o.dtype, o.device); }
Tensor full(const Shape& shape, double value, InitOptions o) { return axon::full(shape, value, o.dtype, o.device); }
Tensor identity(const Shape& shape, InitOptions o) {
  AXON_CHECK(shape.size() == 2, "identity", "needs a rank-2 shape, got {}", to_string(shape));
  return axon::eye(shape[0], shape[1], o.dtype, o.device);
}

Tensor uniform(const Shape& shape, UniformOptions o) {
  Gen gen(o);
  return uniform_draw(shape, o.scale, *gen.g, o.dtype, o.device);
}

Tensor normal(const Shape& shape, NormalOptions o) {
  Gen gen(o);
  return finish(axon::normal(shape, o.mean, o.scale, *gen.g, draw_dtype(o.dtype), o.device), o.dtype);
}

Tensor variance_scaling(const Shape& shape, VarianceScalingOptions o) {
  Gen gen(o);
  auto [fan_in, fan_out] = compute_fans(shape, o.channels_first);
  const double denom = o.mode == FanMode::fan_in ? fan_in : o.mode == FanMode::fan_out ? fan_out
                                                                                       : (fan_in + fan_out) / 2;
  const double var = o.scale / std::max(denom, 1.0);
  switch (o.distribution) {
    case Distribution::uniform: return uniform_draw(shape, std::sqrt(3 * var), *gen.g, o.dtype, o.device);
    case Distribution::normal:
      return finish(axon::normal(shape, 0.0, std::sqrt(var), *gen.g, draw_dtype(o.dtype), o.device), o.dtype);
    case Distribution::truncated_normal:
      return truncated_normal_draw(shape, std::sqrt(var) / 0.87962566103423978, *gen.g, o.dtype, o.device);
  }
  AXON_FAIL("variance_scaling", "unknown distribution");
}

namespace {
template <class O>
VarianceScalingOptions vs(const O& o, double scale, FanMode m, Distribution d) {
  return {.scale = scale, .mode = m, .distribution = d, .dtype = o.dtype, .device = o.device,
          .generator = o.generator, .seed = o.seed, .channels_first = o.channels_first};
}
}  // namespace

Tensor lecun_uniform(const Shape& s, ScaleOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_in, Distribution::uniform));
}
Tensor lecun_normal(const Shape& s, ScaleOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_in, Distribution::truncated_normal));
}
Tensor glorot_uniform(const Shape& s, ScaleOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_avg, Distribution::uniform));
}
Tensor glorot_normal(const Shape& s, ScaleOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_avg, Distribution::truncated_normal));
}
Tensor he_uniform(const Shape& s, HeOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_in, Distribution::uniform));
}
Tensor he_normal(const Shape& s, HeOptions o) {
  return variance_scaling(s, vs(o, o.scale, FanMode::fan_in, Distribution::truncated_normal));
}

Tensor orthogonal(const Shape& shape, OrthogonalOptions o) {
  AXON_CHECK(shape.size() >= 2, "orthogonal", "needs a shape of rank >= 2, got {}", to_string(shape));
  AXON_CHECK(o.distribution != Distribution::truncated_normal, "orthogonal",
             "distribution must be normal or uniform");
  Gen gen(o);
  const int64_t n = shape.back(), m = numel(shape) / std::max<int64_t>(n, 1), k = std::max(m, n);
  if (numel(shape) == 0) return axon::zeros(shape, o.dtype, o.device);
  // The draw is made on the CPU in f64: the same matrix whatever the target device.
  Tensor draw = o.distribution == Distribution::normal ? axon::randn({k, k}, *gen.g, DType::f64)
                                                       : axon::rand({k, k}, *gen.g, DType::f64);
  std::vector<double> a = draw.contiguous().to_vector<double>();  // row-major k x k, becomes R
  // Householder QR: accumulate Q = H0 H1 ... H(k-2) applied to the identity.
  std::vector<double> q(size_t(k * k), 0.0);
  for (int64_t i = 0; i < k; ++i) q[i * k + i] = 1;
  std::vector<double> v(static_cast<size_t>(k));
  for (int64_t j = 0; j + 1 < k; ++j) {
    double norm = 0;
    for (int64_t i = j; i < k; ++i) norm += a[i * k + j] * a[i * k + j];
    norm = std::sqrt(norm);
    if (norm == 0) continue;
    const double alpha = a[j * k + j] > 0 ? -norm : norm;
    double vnorm = 0;
    for (int64_t i = j; i < k; ++i) {
      v[i] = a[i * k + j] - (i == j ? alpha : 0);
      vnorm += v[i] * v[i];
    }
    if (vnorm == 0) continue;
    // A <- (I - 2 v v^T / v^T v) A ; Q <- Q (I - 2 v v^T / v^T v)
    for (int64_t c = 0; c < k; ++c) {
      double d = 0;
      for (int64_t i = j; i < k; ++i) d += v[i] * a[i * k + c];
      d *= 2 / vnorm;
      for (int64_t i = j; i < k; ++i) a[i * k + c] -= d * v[i];
    }
    for (int64_t r = 0; r < k; ++r) {
      double d = 0;
      for (int64_t i = j; i < k; ++i) d += q[r * k + i] * v[i];
      d *= 2 / vnorm;
      for (int64_t i = j; i < k; ++i) q[r * k + i] -= d * v[i];
    }
  }
  // Signs: column c of Q times sign(R[c][c]), which makes the factorisation unique (Haar-distributed Q).
  std::vector<double> out(size_t(m * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) out[r * n + c] = q[r * k + c] * (a[c * k + c] < 0 ? -1.0 : 1.0);
  Tensor t = from_vector(out, shape);
  return to_device(finish(t, o.dtype), o.device);
}

}  // namespace axon::initializers
