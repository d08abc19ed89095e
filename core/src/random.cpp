// Random tensors from the counter-based Philox stream (the stream layout is documented in
// kernels/include/axon/kernels/random.hpp). The generator state is two integers on the host: a draw
// reads its offset and advances it by the blocks the draw consumes before any kernel runs, so
// successive draws never overlap and the same seed gives the same tensors on every device.
#include <cmath>
#include <limits>
#include <mutex>

#include <axon/kernels/random.hpp>
#include <axon/random.hpp>

#include "cuda/capture.hpp"
#include "ops/internal.hpp"

namespace axon {

namespace {
using kernels::RandomDist;
using kernels::RandomParams;

std::mutex& default_mutex() {
  static std::mutex m;
  return m;
}

void check_shape(const char* op, const Shape& shape) { checked_numel(shape, op); }

void check_floating(const char* op, DType dt) {
  AXON_CHECK(is_floating(dt), op, "dtype {} is not a floating type (use f32, f64, bf16 or f16)", dtype_name(dt));
}

// Largest finite magnitude of a float dtype, for range checks.
double max_finite(DType dt) {
  switch (dt) {
    case DType::f16: return 65504.0;
    case DType::f64: return std::numeric_limits<double>::max();
    default: return static_cast<double>(std::numeric_limits<float>::max());
  }
}

Tensor draw(const char* op, RandomDist d, const Shape& shape, DType dt, Device device, Generator& gen,
            RandomParams p) {
  check_shape(op, shape);
  Tensor out(shape, dt, device);
  const int64_t n = out.numel();
  p.seed = gen.seed;
  p.offset = gen.offset;
#ifdef AXON_HAS_CUDA
  if (device.is_cuda() && cuda::capturing(device.index)) {
    // Captured: the kernel reads (seed, base) from the compiled function's device memory.
    auto slot = cuda::capture::rng_slot(op, gen, device.index);
    p.state = slot.state;
    p.offset = slot.offset;
  }
#endif
  gen.offset += kernels::random_blocks(d, dt, p.range, n);
  if (n == 0) return out;
  AXON_ON_DEVICE(device, kernels::cpu::random_fill(d, dt, out.data_ptr(), n, p),
                 cuda::backend().random_fill(d, dt, out.data_ptr(), n, p, detail::stream_for(device)));
  return out;
}

Tensor uniform_impl(const char* op, const Shape& shape, double low, double high, Generator& gen, DType dt,
                    Device device) {
  check_floating(op, dt);
  AXON_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, op,
             "needs finite bounds with low <= high, got [{}, {})", low, high);
  const double lim = max_finite(dt);
  // The span is computed in f32 for every dtype but f64: it must stay finite there too.
  const double span = dt == DType::f64 ? high - low : static_cast<double>(static_cast<float>(high - low));
  AXON_CHECK(std::fabs(low) <= lim && std::fabs(high) <= lim && std::isfinite(span), op,
             "bounds [{}, {}) are out of range for {}", low, high, dtype_name(dt));
  RandomParams p;
  p.a = low;
  p.b = high;
  return draw(op, RandomDist::uniform, shape, dt, device, gen, p);
}

Tensor normal_impl(const char* op, const Shape& shape, double mean, double std, Generator& gen, DType dt,
                   Device device) {
  check_floating(op, dt);
  AXON_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0, op,
             "needs a finite mean and a finite std >= 0, got mean {} and std {}", mean, std);
  AXON_CHECK(std::fabs(mean) <= max_finite(dt) && std <= max_finite(dt), op,
             "mean {} and std {} are out of range for {}", mean, std, dtype_name(dt));
  RandomParams p;
  p.a = mean;
  p.b = std;
  return draw(op, RandomDist::normal, shape, dt, device, gen, p);
}

// Integers [lo, hi] every one of which the dtype holds exactly.
void integer_limits(DType dt, double& lo, double& hi) {
  switch (dt) {
    case DType::u8: lo = 0; hi = 255; return;
    case DType::i32: lo = -2147483648.0; hi = 2147483647.0; return;
    case DType::f32: hi = 0x1p24; break;
    case DType::f64: hi = 0x1p53; break;
    case DType::bf16: hi = 0x1p8; break;
    case DType::f16: hi = 0x1p11; break;
    default: lo = -0x1p63; hi = 0x1p63; return;
  }
  lo = -hi;
}
}  // namespace

Generator::~Generator() { cuda::capture::generator_destroyed(this); }

Generator& default_generator() {
  static Generator g(0);
  return g;
}

namespace detail {
// For compiled functions, which read and advance generators outside any draw: the global
// generator's lock when gen is that one, else nothing.
std::unique_lock<std::mutex> lock_generator(const Generator& gen) {
  std::unique_lock<std::mutex> lock(default_mutex(), std::defer_lock);
  if (&gen == &default_generator()) lock.lock();
  return lock;
}
}  // namespace detail

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(default_mutex());
  default_generator().seed = seed;
  default_generator().offset = 0;
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return uniform_impl("rand", shape, 0, 1, gen, dtype, device);
}
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype, Device device) {
  return uniform_impl("uniform", shape, low, high, gen, dtype, device);
}
Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return normal_impl("randn", shape, 0, 1, gen, dtype, device);
}
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype, Device device) {
  return normal_impl("normal", shape, mean, std, gen, dtype, device);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, DType dtype, Device device) {
  AXON_CHECK(high > low, "randint", "empty range [{}, {}): high must be greater than low", low, high);
  AXON_CHECK(dtype != DType::boolean, "randint", "dtype bool is not supported (use bernoulli)");
  double lo = 0, hi = 0;
  integer_limits(dtype, lo, hi);
  // high - 1 computed in double may round, which only matters for i64 (no limit there).
  AXON_CHECK(static_cast<double>(low) >= lo && static_cast<double>(high) - 1 <= hi, "randint",
             "range [{}, {}) does not fit {} (integers in [{}, {}] only)", low, high, dtype_name(dtype), lo, hi);
  RandomParams p;
  p.low = low;
  p.range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  return draw("randint", RandomDist::randint, shape, dtype, device, gen, p);
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype, Device device) {
  AXON_CHECK(p >= 0 && p <= 1, "bernoulli", "probability must be in [0, 1], got {}", p);
  RandomParams rp;
  rp.a = p;
  return draw("bernoulli", RandomDist::bernoulli, shape, dtype, device, gen, rp);
}

// ---- the global generator
Tensor rand(const Shape& shape, DType dtype, Device device) {
  std::lock_guard<std::mutex> lock(default_mutex());
  return rand(shape, default_generator(), dtype, device);
}
Tensor randn(const Shape& shape, DType dtype, Device device) {
  std::lock_guard<std::mutex> lock(default_mutex());
  return randn(shape, default_generator(), dtype, device);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device) {
  std::lock_guard<std::mutex> lock(default_mutex());
  return randint(low, high, shape, default_generator(), dtype, device);
}
Tensor bernoulli(const Shape& shape, double p, DType dtype, Device device) {
  std::lock_guard<std::mutex> lock(default_mutex());
  return bernoulli(shape, p, default_generator(), dtype, device);
}

}  // namespace axon
