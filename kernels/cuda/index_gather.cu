// out[i] = x[ix.offset(i) + index[ii.offset(i)] * axis_stride]: take, index_select and gather.
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::kernels::cuda {

namespace {
// Elements move by size only, so one kernel per element width serves every dtype.
template <class T, class I>
__global__ void gather_kernel(const T* __restrict__ x, Indexer ix, int64_t axis_stride, int64_t axis_size,
                              const I* __restrict__ idx, Indexer ii, T* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v < 0) v += axis_size;
    out[i] = (v >= 0 && v < axis_size) ? x[ix.offset(i) + v * axis_stride] : T(0);
  }
}

template <class I>
void launch(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, const I* idx,
            const Indexer& ii, void* out, int64_t n, cudaStream_t s) {
  constexpr int kBlock = 256;
  const unsigned grid = grid_for(n, kBlock);
  switch (itemsize(dt)) {
    case 1:
      gather_kernel<<<grid, kBlock, 0, s>>>(static_cast<const uint8_t*>(x), ix, axis_stride, axis_size, idx, ii,
                                            static_cast<uint8_t*>(out), n);
      break;
    case 2:
      gather_kernel<<<grid, kBlock, 0, s>>>(static_cast<const uint16_t*>(x), ix, axis_stride, axis_size, idx, ii,
                                            static_cast<uint16_t*>(out), n);
      break;
    case 4:
      gather_kernel<<<grid, kBlock, 0, s>>>(static_cast<const uint32_t*>(x), ix, axis_stride, axis_size, idx, ii,
                                            static_cast<uint32_t*>(out), n);
      break;
    default:
      gather_kernel<<<grid, kBlock, 0, s>>>(static_cast<const uint64_t*>(x), ix, axis_stride, axis_size, idx, ii,
                                            static_cast<uint64_t*>(out), n);
      break;
  }
  AXON_CUDA_LAUNCH_CHECK("gather");
}
}  // namespace

void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  if (idx_dt == DType::i32)
    launch(dt, x, ix, axis_stride, axis_size, static_cast<const int32_t*>(idx), ii, out, n, s);
  else if (idx_dt == DType::i64)
    launch(dt, x, ix, axis_stride, axis_size, static_cast<const int64_t*>(idx), ii, out, n, s);
  else
    ::axon::detail::unsupported_dtype("gather", idx_dt);
}

}  // namespace axon::kernels::cuda
