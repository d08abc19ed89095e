#include <axon/kernels/random.hpp>

namespace axon::kernels::cpu {

namespace {
template <RandomDist D, class T>
void fill_typed(T* y, int64_t n, const RandomParams& p) {
  const int per_block = 4 / random_words_per_element(D, dtype_v<T>, p.range);
  const uint64_t blocks = random_blocks(D, dtype_v<T>, p.range, n);
  T tmp[4];
  for (uint64_t g = 0; g < blocks; ++g) {
    int64_t first = static_cast<int64_t>(g) * per_block;
    int count = static_cast<int>(std::min<int64_t>(per_block, n - first));
    random_detail::sample_block<D, T>(p, g, tmp, count);
    for (int k = 0; k < count; ++k) y[first + k] = tmp[k];
  }
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
