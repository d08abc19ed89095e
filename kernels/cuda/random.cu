#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/random.hpp>

namespace axon::kernels::cuda {

namespace {
// One thread per Philox block, grid-stride: a block's 2 or 4 elements are adjacent in y.
template <RandomDist D, class T, int PerBlock>
__global__ void random_kernel(T* __restrict__ y, int64_t n, uint64_t blocks, RandomParams p) {
  if (p.state) {  // captured in a CUDA graph: the generator's state at this replay
    p.seed = p.state[0];
    p.offset = p.state[1] + p.offset;
  }
  for (uint64_t g = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; g < blocks; g += uint64_t(gridDim.x) * blockDim.x) {
    T tmp[4];
    int64_t first = static_cast<int64_t>(g) * PerBlock;
    int count = n - first < PerBlock ? static_cast<int>(n - first) : PerBlock;
    random_detail::sample_block<D, T>(p, g, tmp, count);
#pragma unroll
    for (int k = 0; k < PerBlock; ++k)
      if (k < count) y[first + k] = tmp[k];
  }
}

template <RandomDist D, class T>
void launch(T* y, int64_t n, const RandomParams& p, cudaStream_t s) {
  constexpr int kBlock = 256;
  uint64_t blocks = random_blocks(D, dtype_v<T>, p.range, n);
  unsigned grid = grid_for(static_cast<int64_t>(blocks), kBlock);
  if constexpr (D == RandomDist::randint) {  // the range decides between 1 and 2 words per element
    if (random_words_per_element(D, dtype_v<T>, p.range) == 2)
      random_kernel<D, T, 2><<<grid, kBlock, 0, s>>>(y, n, blocks, p);
    else
      random_kernel<D, T, 4><<<grid, kBlock, 0, s>>>(y, n, blocks, p);
  } else {
    constexpr int per_block = 4 / random_words_per_element(D, dtype_v<T>, 0);
    random_kernel<D, T, per_block><<<grid, kBlock, 0, s>>>(y, n, blocks, p);
  }
}
__global__ void write_state_kernel(uint64_t* state, uint64_t seed, uint64_t offset) {
  state[0] = seed;
  state[1] = offset;
}
}  // namespace

void write_random_state(uint64_t* state, uint64_t seed, uint64_t offset, cudaStream_t s) {
  write_state_kernel<<<1, 1, 0, s>>>(state, seed, offset);
  AXON_CUDA_LAUNCH_CHECK("random");
}

void random_fill(RandomDist d, DType dt, void* y, int64_t n, const RandomParams& p, cudaStream_t s) {
  if (n == 0) return;
  switch (d) {
    case RandomDist::uniform:
      AXON_DISPATCH_FLOAT(dt, "uniform", launch<RandomDist::uniform>(static_cast<scalar_t*>(y), n, p, s));
      break;
    case RandomDist::normal:
      AXON_DISPATCH_FLOAT(dt, "normal", launch<RandomDist::normal>(static_cast<scalar_t*>(y), n, p, s));
      break;
    case RandomDist::randint:
      AXON_DISPATCH_ALL(dt, "randint", launch<RandomDist::randint>(static_cast<scalar_t*>(y), n, p, s));
      break;
    case RandomDist::bernoulli:
      AXON_DISPATCH_ALL(dt, "bernoulli", launch<RandomDist::bernoulli>(static_cast<scalar_t*>(y), n, p, s));
      break;
  }
  AXON_CUDA_LAUNCH_CHECK("random");
}

}  // namespace axon::kernels::cuda
