#pragma once
// Counter-based random numbers (Philox 4x32-10). Element i of a draw uses counter (offset + i/4)
// under key `seed`, identically on CPU and CUDA, so a seed gives the same tensor on both devices.
#include <cstdint>

#include <axon/tensor.hpp>

namespace axon {

struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // advanced past every draw, in 128-bit Philox blocks
  explicit Generator(uint64_t s = 0) : seed(s) {}
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
