// out[i, c] = (labels[i] == c), written once per element.
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>
#include <axon/kernels/scalar.hpp>

#include "device_props.cuh"

namespace axon::kernels::cuda {

namespace {
template <class T, class I>
__global__ void one_hot_kernel(const I* __restrict__ labels, Indexer il, int64_t total, int64_t num_classes,
                               T* __restrict__ out) {
  const T one = convert<T>(1), zero = convert<T>(0);
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < total; j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = div_fast(j, num_classes), c = j - i * num_classes;
    out[j] = static_cast<int64_t>(labels[il.offset(i)]) == c ? one : zero;
  }
}
}  // namespace

void one_hot(DType idx_dt, const void* labels, const Indexer& il, int64_t n, int64_t num_classes, DType dt,
             void* out, cudaStream_t s) {
  const int64_t total = n * num_classes;
  if (total == 0) return;
  constexpr int kBlock = 256;
  const unsigned grid = resident_blocks(total, kBlock);
  AXON_DISPATCH_ALL(dt, "one_hot", {
    if (idx_dt == DType::i32)
      one_hot_kernel<<<grid, kBlock, 0, s>>>(static_cast<const int32_t*>(labels), il, total, num_classes,
                                             static_cast<scalar_t*>(out));
    else if (idx_dt == DType::i64)
      one_hot_kernel<<<grid, kBlock, 0, s>>>(static_cast<const int64_t*>(labels), il, total, num_classes,
                                             static_cast<scalar_t*>(out));
    else
      ::axon::detail::unsupported_dtype("one_hot", idx_dt);
  });
  AXON_CUDA_LAUNCH_CHECK("one_hot");
}

}  // namespace axon::kernels::cuda
