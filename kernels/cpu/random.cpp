// CPU random fills. Philox is counter-based: block g's values depend on g alone, so the blocks are
// split across the pool and the tensor is the same for any split (and the CUDA kernel's).
#include <axon/kernels/random.hpp>

#include "parallel.hpp"

namespace axon::kernels::cpu {

namespace {
// Philox blocks (four 32-bit words each) per part of the pool's split: W1's dropout mask, 16384
// floats drawn on every step, was 3.5% of its epoch on one thread.
constexpr int64_t kGrainBlocks = 1024;

template <RandomDist D, class T>
void fill_typed(T* y, int64_t n, const RandomParams& p) {
  const int per_block = 4 / random_words_per_element(D, dtype_v<T>, p.range);
  const int64_t blocks = static_cast<int64_t>(random_blocks(D, dtype_v<T>, p.range, n));
  parallel_for(blocks, kGrainBlocks, [&](int64_t g0, int64_t g1) {
    T tmp[4];
    for (int64_t g = g0; g < g1; ++g) {
      int64_t first = g * per_block;
      int count = static_cast<int>(std::min<int64_t>(per_block, n - first));
      random_detail::sample_block<D, T>(p, static_cast<uint64_t>(g), tmp, count);
      for (int k = 0; k < count; ++k) y[first + k] = tmp[k];
    }
  });
}
}  // namespace

void random_fill(RandomDist d, DType dt, void* y, int64_t n, const RandomParams& p) {
  if (n == 0) return;
  switch (d) {
    case RandomDist::uniform:
      AXON_DISPATCH_FLOAT(dt, "uniform", fill_typed<RandomDist::uniform>(static_cast<scalar_t*>(y), n, p));
      break;
    case RandomDist::normal:
      AXON_DISPATCH_FLOAT(dt, "normal", fill_typed<RandomDist::normal>(static_cast<scalar_t*>(y), n, p));
      break;
    case RandomDist::randint:
      AXON_DISPATCH_ALL(dt, "randint", fill_typed<RandomDist::randint>(static_cast<scalar_t*>(y), n, p));
      break;
    case RandomDist::bernoulli:
      AXON_DISPATCH_ALL(dt, "bernoulli", fill_typed<RandomDist::bernoulli>(static_cast<scalar_t*>(y), n, p));
      break;
  }
}

}  // namespace axon::kernels::cpu
