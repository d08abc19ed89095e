#pragma once
// SplitMix64, the data code's small random stream: the same numbers on every platform and library
// (shuffling permutations, per-sample augmentation draws). Not installed.
#include <cstdint>

namespace axon::detail {

// SplitMix64's finalizer: a bijective mix of one word.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

// The next number of the stream whose state is s.
inline uint64_t splitmix64(uint64_t& s) { return mix64(s += kGoldenGamma); }

}  // namespace axon::detail
