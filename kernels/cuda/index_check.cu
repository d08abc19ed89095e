// Index validation on the device: the first (lowest position) bad index, read back once.
#include <climits>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::kernels::cuda {

namespace {
template <class I>
__global__ void find_bad_kernel(const I* __restrict__ idx, Indexer ii, int64_t n, int64_t lo, int64_t size,
                                unsigned long long* pos) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v < lo || v >= size) atomicMin(pos, static_cast<unsigned long long>(i));
  }
}
}  // namespace

int64_t find_bad_index(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t size,
                       bool allow_negative, void* scratch, cudaStream_t s) {
  if (n == 0) return -1;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  AXON_CUDA_CHECK(cudaStreamIsCapturing(s, &capture), "index");
  if (capture != cudaStreamCaptureStatusNone) return -1;
  auto* pos = static_cast<unsigned long long*>(scratch);
  AXON_CUDA_CHECK(cudaMemsetAsync(pos, 0xff, sizeof(unsigned long long), s), "index");
  const int64_t lo = allow_negative ? -size : 0;
  constexpr int kBlock = 256;
  if (idx_dt == DType::i32) {
    find_bad_kernel<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const int32_t*>(idx), ii, n, lo, size, pos);
  } else if (idx_dt == DType::i64) {
    find_bad_kernel<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const int64_t*>(idx), ii, n, lo, size, pos);
  } else {
    ::axon::detail::unsupported_dtype("index", idx_dt);
  }
  AXON_CUDA_LAUNCH_CHECK("index");
  unsigned long long host = ULLONG_MAX;
  AXON_CUDA_CHECK(cudaMemcpyAsync(&host, pos, sizeof(host), cudaMemcpyDeviceToHost, s), "index");
  AXON_CUDA_CHECK(cudaStreamSynchronize(s), "index");
  return host == ULLONG_MAX ? -1 : static_cast<int64_t>(host);
}

}  // namespace axon::kernels::cuda
