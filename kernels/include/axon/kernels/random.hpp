#pragma once
// Random fills from the Philox 4x32-10 stream, shared by the CPU and CUDA kernels so that a seed
// gives the same tensor on both devices.
//
// The stream of a draw. Block g of a draw is philox_block(seed, offset + g): four 32-bit words
// x0..x3. A draw takes W words per element (W = random_words_per_element: 1, or 2 for f64 values and
// randint ranges above 2^32), so block g holds elements [g*E, g*E + E) with E = 4 / W, and element i
// reads block offset + i/E. The draw consumes random_blocks(n) = ceil(n / E) blocks and the generator's
// offset advances by exactly that; for W = 1 that is block offset + i/4, lane i%4.
//
// Words to values (identical integer and IEEE-exact float operations on both devices):
//  - uniform [0,1): f32 (x >> 8) * 2^-24; bf16 (x >> 24) * 2^-8; f16 (x >> 21) * 2^-11 (every value
//    exact in its type, so rand never rounds up to 1); f64 ((x_{2k+1} << 32 | x_{2k}) >> 11) * 2^-53.
//    uniform(low, high) = low + (high - low) * u in the accumulation type (f32 for f32/bf16/f16, f64 for
//    f64), multiply and add rounded separately (never fused), then rounded to the dtype; a result that
//    rounds up to `high` is replaced by the next value below it.
//  - normal: Box-Muller on pairs of uniforms, both outputs used. With W = 1 (f32, bf16, f16) elements
//    (0,1) of a block come from (x0,x1) and elements (2,3) from (x2,x3); with W = 2 (f64) elements
//    (0,1) come from u1 = (x0,x1), u2 = (x2,x3). u1 = (k + 1) * 2^-b lies in (0,1] so the log is finite,
//    u2 = k * 2^-b in [0,1); r = sqrt(-2 log u1), z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), computed in
//    f32 for f32/bf16/f16 and in f64 for f64; value = mean + std * z (separately rounded).
//    sqrt, multiplication and conversions are correctly rounded on both devices; log, sin and cos come
//    from the host libm and from CUDA's math library, which may differ by an ulp or two, so normal
//    draws agree between CPU and CUDA to about 1e-6 relative (f32), not bit for bit. Uniform, randint
//    and bernoulli draws are bit-identical.
//  - randint: low + floor(x * range / 2^32) for range <= 2^32 (W = 1), low + floor(x64 * range / 2^64)
//    with x64 = x_{2k+1} << 32 | x_{2k} otherwise (W = 2); the multiply-shift bias is below range/2^32.
//  - bernoulli(p): 1 when x * 2^-32 < p (compared exactly in f64), else 0.
#include <cmath>
#include <cstdint>
#include <cstring>

#include <axon/kernels/common.hpp>
#include <axon/kernels/philox.hpp>
#include <axon/kernels/scalar.hpp>

namespace axon::kernels {

enum class RandomDist : uint8_t { uniform, normal, randint, bernoulli };

struct RandomParams {
  uint64_t seed = 0;
  uint64_t offset = 0;  // first Philox block of the draw
  double a = 0, b = 1;  // uniform: [a, b); normal: mean a, std b; bernoulli: p = a
  int64_t low = 0;      // randint: low + [0, range)
  uint64_t range = 1;
  // CUDA only, set while a CUDA graph is captured: the kernel then reads the seed from state[0] and
  // the first block as state[1] + offset (offset is relative) from device memory when it runs, so each
  // replay of the graph draws where the generator stands at that replay (PyTorch's philox_cuda_state).
  const uint64_t* state = nullptr;
};

AXON_HD constexpr int random_words_per_element(RandomDist d, DType dt, uint64_t range) {
  switch (d) {
    case RandomDist::uniform:
    case RandomDist::normal: return dt == DType::f64 ? 2 : 1;
    case RandomDist::randint: return range > (uint64_t{1} << 32) ? 2 : 1;
    default: return 1;
  }
}
// Philox blocks a draw of n elements consumes (the generator's offset advances by this).
inline uint64_t random_blocks(RandomDist d, DType dt, uint64_t range, int64_t n) {
  uint64_t per_block = 4 / random_words_per_element(d, dt, range);
  return (static_cast<uint64_t>(n) + per_block - 1) / per_block;
}

namespace cpu {
void random_fill(RandomDist d, DType dt, void* y, int64_t n, const RandomParams& p);
}
namespace cuda {
void random_fill(RandomDist d, DType dt, void* y, int64_t n, const RandomParams& p, cudaStream_t s);
// Writes {seed, offset} to state[0..1] on the stream (before a graph replay that reads them).
void write_random_state(uint64_t* state, uint64_t seed, uint64_t offset, cudaStream_t s);
}

// ---- the per-block sampling both kernels run
namespace random_detail {

// Separately rounded multiply and add: CUDA would otherwise fuse them into an FMA and the host not.
AXON_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
AXON_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
AXON_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
AXON_HD double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

AXON_HD uint64_t mulhi64(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#endif
}

AXON_HD float log_(float x) { return ::logf(x); }
AXON_HD float sin_(float x) { return ::sinf(x); }
AXON_HD float cos_(float x) { return ::cosf(x); }
AXON_HD float sqrt_(float x) { return ::sqrtf(x); }
AXON_HD double log_(double x) { return ::log(x); }
AXON_HD double sin_(double x) { return ::sin(x); }
AXON_HD double cos_(double x) { return ::cos(x); }
AXON_HD double sqrt_(double x) { return ::sqrt(x); }

// The largest value of T below v (v finite), by stepping the IEEE bit pattern.
template <class Bits, class T>
AXON_HD T step_down_bits(T v) {
  Bits u;
  std::memcpy(&u, static_cast<const void*>(&v), sizeof u);
  constexpr Bits sign = Bits(1) << (8 * sizeof(Bits) - 1);
  if ((u & ~sign) == 0) {
    u = sign | Bits(1);  // +-0 -> the negative subnormal closest to zero
  } else if (u & sign) {
    ++u;
  } else {
    --u;
  }
  std::memcpy(static_cast<void*>(&v), &u, sizeof u);
  return v;
}
template <class T> AXON_HD T next_down(T v) {
  if constexpr (sizeof(T) == 8) return step_down_bits<uint64_t>(v);
  else if constexpr (sizeof(T) == 4) return step_down_bits<uint32_t>(v);
  else return step_down_bits<uint16_t>(v);
}

// A uniform [0,1) from one word, on a grid every value of which T represents exactly.
template <class T> AXON_HD float unit_from_word(uint32_t x) {
  if constexpr (std::is_same_v<T, bf16>) return static_cast<float>(x >> 24) * 0x1p-8f;
  else if constexpr (std::is_same_v<T, f16>) return static_cast<float>(x >> 21) * 0x1p-11f;
  else return static_cast<float>(x >> 8) * 0x1p-24f;
}
AXON_HD double unit_from_words(uint32_t lo, uint32_t hi) {
  uint64_t x = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<double>(x >> 11) * 0x1p-53;
}

AXON_HD void box_muller(uint32_t a, uint32_t b, float& z0, float& z1) {
  float u1 = static_cast<float>((a >> 8) + 1u) * 0x1p-24f;  // (0, 1]
  float u2 = static_cast<float>(b >> 8) * 0x1p-24f;         // [0, 1)
  float r = sqrt_(-2.0f * log_(u1));
  float t = 6.28318530717958647692f * u2;
  z0 = r * cos_(t);
  z1 = r * sin_(t);
}
AXON_HD void box_muller(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1, double& z0, double& z1) {
  uint64_t ka = ((static_cast<uint64_t>(a1) << 32) | a0) >> 11, kb = ((static_cast<uint64_t>(b1) << 32) | b0) >> 11;
  double u1 = static_cast<double>(ka + 1) * 0x1p-53;
  double u2 = static_cast<double>(kb) * 0x1p-53;
  double r = sqrt_(-2.0 * log_(u1));
  double t = 6.28318530717958647692 * u2;
  z0 = r * cos_(t);
  z1 = r * sin_(t);
}

// Value of T for low + span * u rounded to T, kept below high.
template <class T, class A>
AXON_HD T affine_below(A low, A span, A u, double high, bool open_above) {
  T v = convert<T>(add_rn(low, mul_rn(span, u)));
  if (open_above && !(static_cast<double>(convert<A>(v)) < high)) v = next_down(v);
  return v;
}

// Writes the elements of block g (up to 4 / W of them; `count` of them are inside the tensor).
template <RandomDist D, class T>
AXON_HD void sample_block(const RandomParams& p, uint64_t g, T* out, int count) {
  count = count < 4 ? count : 4;
  PhiloxBlock blk = philox_block(p.seed, p.offset + g);
  const uint32_t* x = blk.x;
  if constexpr (D == RandomDist::uniform) {
    using A = acc_t<T>;
    A low = static_cast<A>(p.a), span = static_cast<A>(p.b - p.a);
    bool open = p.b > p.a;
    if constexpr (std::is_same_v<T, double>) {
      for (int k = 0; k < count; ++k)
        out[k] = affine_below<T, A>(low, span, unit_from_words(x[2 * k], x[2 * k + 1]), p.b, open);
    } else {
      for (int k = 0; k < count; ++k) out[k] = affine_below<T, A>(low, span, unit_from_word<T>(x[k]), p.b, open);
    }
  } else if constexpr (D == RandomDist::normal) {
    using A = acc_t<T>;
    A mean = static_cast<A>(p.a), sd = static_cast<A>(p.b);
    A z[4] = {};
    if constexpr (std::is_same_v<T, double>) {
      box_muller(x[0], x[1], x[2], x[3], z[0], z[1]);
    } else {
      box_muller(x[0], x[1], z[0], z[1]);
      box_muller(x[2], x[3], z[2], z[3]);
    }
    for (int k = 0; k < count; ++k) out[k] = convert<T>(add_rn(mean, mul_rn(sd, z[k])));
  } else if constexpr (D == RandomDist::randint) {
    const uint64_t lo = static_cast<uint64_t>(p.low);
    if (p.range > (uint64_t{1} << 32)) {
      for (int k = 0; k < count; ++k) {
        uint64_t w = (static_cast<uint64_t>(x[2 * k + 1]) << 32) | x[2 * k];
        out[k] = convert<T>(static_cast<int64_t>(lo + mulhi64(w, p.range)));
      }
    } else {
      for (int k = 0; k < count; ++k)
        out[k] = convert<T>(static_cast<int64_t>(lo + ((static_cast<uint64_t>(x[k]) * p.range) >> 32)));
    }
  } else {
    for (int k = 0; k < count; ++k)
      out[k] = convert<T>(static_cast<int>(static_cast<double>(x[k]) * 0x1p-32 < p.a));
  }
}

}  // namespace random_detail
}  // namespace axon::kernels
