#pragma once
// Parameter initializers (Axon.Initializers). Each returns a new tensor of the given
// shape, dtype and device. Random ones draw from axon's counter-based Philox generator: pass a
// Generator (advanced past the draw) or a seed; the same seed gives the same tensor on CPU and CUDA
// (values drawn in f32/f64 on the device with identical counters).
#include <cstdint>
#include <optional>

#include <axon/random.hpp>
#include <axon/tensor.hpp>

namespace axon::initializers {

// Where, in what type, and from which random stream.
#define AXON_INIT_COMMON_FIELDS                                                     \
  DType dtype = DType::f32;                                                         \
  Device device = Device::cpu();                                                    \
  Generator* generator = nullptr; /* when null, a Generator(seed) local to the call */ \
  uint64_t seed = 0;                                                                \
  bool channels_first = false /* fans of OIHW conv kernels {out, in, k...}, see compute_fans */

struct InitOptions {
  AXON_INIT_COMMON_FIELDS;
};
struct UniformOptions {
  double scale = 1.0e-2;  // U(-scale, scale)
  AXON_INIT_COMMON_FIELDS;
};
struct NormalOptions {
  double mean = 0.0;
  double scale = 1.0e-2;  // standard deviation
  AXON_INIT_COMMON_FIELDS;
};
struct ScaleOptions {  // lecun_*, glorot_*
  double scale = 1.0;
  AXON_INIT_COMMON_FIELDS;
};
struct HeOptions {
  double scale = 2.0;
  AXON_INIT_COMMON_FIELDS;
};
enum class FanMode { fan_in, fan_out, fan_avg };
enum class Distribution { normal, uniform, truncated_normal };
// ⚠ Axon's docs give scale 1e-2; its code (and this default) uses 1.0.
struct VarianceScalingOptions {
  double scale = 1.0;
  FanMode mode = FanMode::fan_in;
  Distribution distribution = Distribution::normal;
  AXON_INIT_COMMON_FIELDS;
};
struct OrthogonalOptions {
  Distribution distribution = Distribution::normal;  // normal or uniform (of the matrix that is factored)
  AXON_INIT_COMMON_FIELDS;
};
#undef AXON_INIT_COMMON_FIELDS

Tensor zeros(const Shape& shape, InitOptions o = {});
Tensor ones(const Shape& shape, InitOptions o = {});
Tensor full(const Shape& shape, double value, InitOptions o = {});
Tensor identity(const Shape& shape, InitOptions o = {});  // eye: rank 2
Tensor uniform(const Shape& shape, UniformOptions o = {});
Tensor normal(const Shape& shape, NormalOptions o = {});
Tensor lecun_uniform(const Shape& shape, ScaleOptions o = {});   // fan_in, uniform
Tensor lecun_normal(const Shape& shape, ScaleOptions o = {});    // fan_in, truncated normal
Tensor glorot_uniform(const Shape& shape, ScaleOptions o = {});  // fan_avg, uniform
Tensor glorot_normal(const Shape& shape, ScaleOptions o = {});   // fan_avg, truncated normal
Tensor he_uniform(const Shape& shape, HeOptions o = {});         // fan_in, uniform, scale 2
Tensor he_normal(const Shape& shape, HeOptions o = {});          // fan_in, truncated normal, scale 2
// var = scale / max(fan, 1); normal: sigma = sqrt(var); uniform: limit sqrt(3 var); truncated normal:
// sigma = sqrt(var) / 0.87962566103423978 times a standard normal truncated to [-2, 2], drawn as
// sqrt(2) erfinv(U(erf(-sqrt 2), erf(sqrt 2))).
Tensor variance_scaling(const Shape& shape, VarianceScalingOptions o = {});
// Q of the QR factorisation (Householder, in f64 on the host, signs fixed so that R has a positive
// diagonal: a uniformly random orthogonal matrix) of a k x k draw, k = max(m, n), m = prod(shape[:-1]),
// n = shape[-1]; the top-left m x n block reshaped to `shape` (rank >= 2).
Tensor orthogonal(const Shape& shape, OrthogonalOptions o = {});

// (fan_in, fan_out) as the reference: rank 0 -> (1, 1); rank 1 {n} -> (n, n); rank 2 {in, out};
// rank > 2 (channels-last HWIO conv kernels {k..., in, out}) -> (in * rf, out * rf), rf = prod(k...).
// ⚠ Axon applies the HWIO rule to channels-first OIHW kernels too, which takes spatial dims for
// channels; with channels_first, rank > 2 shapes are read as {out, in, k...} (PyTorch's fans).
std::pair<double, double> compute_fans(const Shape& shape, bool channels_first = false);

}  // namespace axon::initializers
