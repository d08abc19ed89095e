#include <axon/kernels/copy.hpp>
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/cast.hpp>

namespace axon::kernels::cuda {

namespace {
template <class S, class D>
__global__ void copy_contig(const S* __restrict__ x, D* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = cast_value<D>(x[i]);
}
template <class S, class D>
__global__ void copy_strided(const S* __restrict__ x, Indexer ix, D* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = cast_value<D>(x[ix.offset(i)]);
}
template <class S, class D>
__global__ void copy_scatter(const S* __restrict__ x, Indexer ix, D* __restrict__ y, Indexer iy, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[iy.offset(i)] = cast_value<D>(x[ix.offset(i)]);
}
// Same-type contiguous copies: 16-byte vectors when aligned.
__global__ void copy_vec16(const uint4* __restrict__ x, uint4* __restrict__ y, int64_t n16) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n16; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i];
}
template <class T>
__global__ void fill_kernel(T* y, int64_t n, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = v;
}
}  // namespace

void copy_cast(DType src, const void* x, const Indexer& ix, DType dst, void* y, int64_t n, cudaStream_t s,
               const Indexer* iy) {
  if (n == 0) return;
  constexpr int kBlock = 256;
  if (iy && !iy->contiguous()) {
    AXON_DISPATCH_ALL(src, "copy", {
      using S = scalar_t;
      AXON_DISPATCH_ALL(dst, "copy", {
        copy_scatter<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const S*>(x), ix, static_cast<scalar_t*>(y), *iy, n);
      });
    });
    AXON_CUDA_LAUNCH_CHECK("copy");
    return;
  }
  bool contig = ix.contiguous();
  if (contig && src == dst) {
    size_t bytes = size_t(n) * itemsize(src);
    if (bytes % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0) {
      int64_t n16 = int64_t(bytes / 16);
      copy_vec16<<<grid_for(n16, kBlock), kBlock, 0, s>>>(static_cast<const uint4*>(x), static_cast<uint4*>(y), n16);
    } else {
      AXON_CUDA_CHECK(cudaMemcpyAsync(y, x, bytes, cudaMemcpyDeviceToDevice, s), "copy");
    }
    AXON_CUDA_LAUNCH_CHECK("copy");
    return;
  }
  AXON_DISPATCH_ALL(src, "copy", {
    using S = scalar_t;
    AXON_DISPATCH_ALL(dst, "copy", {
      if (contig)
        copy_contig<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const S*>(x), static_cast<scalar_t*>(y), n);
      else
        copy_strided<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const S*>(x), ix, static_cast<scalar_t*>(y), n);
    });
  });
  AXON_CUDA_LAUNCH_CHECK("copy");
}

void fill(DType dt, void* y, int64_t n, double value, cudaStream_t s) {
  if (n == 0) return;
  AXON_DISPATCH_ALL(dt, "fill", {
    fill_kernel<<<grid_for(n, 256), 256, 0, s>>>(static_cast<scalar_t*>(y), n, cast_value<scalar_t>(value));
  });
  AXON_CUDA_LAUNCH_CHECK("fill");
}

}  // namespace axon::kernels::cuda
