#pragma once
// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the block
// function of Random123. One AXON_HD function so that the CPU and CUDA kernels run the same code and
// a seed gives bit-identical words on both devices.
#include <cstdint>

#include <axon/dtype.hpp>

namespace axon::kernels {

struct PhiloxBlock {
  uint32_t x[4];
};

namespace philox_detail {
inline constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
inline constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments

AXON_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t& hi) {
#if defined(__CUDA_ARCH__)
  hi = __umulhi(a, b);
  return a * b;
#else
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
#endif
}
}  // namespace philox_detail

// Random123's philox4x32_R(10, ctr, key): ten rounds, the key bumped between rounds.
AXON_HD PhiloxBlock philox4x32_10(PhiloxBlock ctr, uint32_t k0, uint32_t k1) {
  using namespace philox_detail;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(kM0, ctr.x[0], hi0);
    uint32_t lo1 = mulhilo(kM1, ctr.x[2], hi1);
    ctr = PhiloxBlock{{hi1 ^ ctr.x[1] ^ k0, lo1, hi0 ^ ctr.x[3] ^ k1, lo0}};
  }
  return ctr;
}

// The block axon draws from: key = the 64-bit seed (low word first), counter = the 64-bit block
// index (low word first) with the upper two counter words zero.
AXON_HD PhiloxBlock philox_block(uint64_t seed, uint64_t block) {
  PhiloxBlock c{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

}  // namespace axon::kernels
