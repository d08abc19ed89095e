#pragma once
// Counter-based random numbers (Philox 4x32-10) keyed by the seed, identically on CPU and CUDA, so a
// seed gives the same tensor on both devices. A draw reads consecutive 128-bit blocks from the
// generator's offset (element i of a one-word draw uses block offset + i/4, lane i%4; f64 values and
// wide randint ranges take two words each); the exact layout is in <axon/kernels/random.hpp>.
// The state (seed, offset) lives on the host. Inside a compiled function (axon/graph.hpp) the CUDA
// kernels read it from device memory that each replay sets from the generator, and the replay
// advances the generator: replays draw fresh numbers, the same as eager calls would.
#include <cstdint>

#include <axon/tensor.hpp>

namespace axon {

struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // advanced past every draw, in 128-bit Philox blocks
  explicit Generator(uint64_t s = 0) : seed(s) {}
  Generator(const Generator&) = default;
  Generator& operator=(const Generator&) = default;
  // Tells the compiled functions that draw from this generator that it is gone (they then fail).
  ~Generator();
};

Generator& default_generator();

Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, DType dtype = DType::i64,
               Device device = Device::cpu());
Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
// Uniform on [low, high) and normal(mean, std), the shapes initializers need.
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype = DType::f32,
               Device device = Device::cpu());
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype = DType::f32,
              Device device = Device::cpu());

}  // namespace axon
