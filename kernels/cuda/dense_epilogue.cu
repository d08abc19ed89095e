// CUDA dense epilogue (bias + activation in place after the cuBLAS GEMM) and its backward: dz and the
// bias gradient's column sums in one kernel (32 columns per block, 8 row lanes summed in shared memory).
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/dense.hpp>

#include "device_props.cuh"

namespace axon::kernels::cuda {

namespace {
using dense_detail::with_act;

constexpr int kBlock = 256;
constexpr int kCols = 32, kRowLanes = 8;

template <DenseAct Act, class T>
__global__ void __launch_bounds__(kBlock) forward_kernel(T* __restrict__ y, const T* __restrict__ b, int64_t m, int64_t n) {
  const int64_t total = m * n, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += stride) {
    T z = y[i];
    if (b != nullptr) z += b[i % n];
    y[i] = dense_detail::forward<Act, T>(z);
  }
}

template <DenseAct Act, class T>
__global__ void __launch_bounds__(kCols * kRowLanes)
    backward_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dz, T* __restrict__ db,
                    int64_t m, int64_t n) {
  __shared__ T part[kRowLanes][kCols];
  const int64_t j = int64_t(blockIdx.x) * kCols + threadIdx.x;
  T acc = T(0);
  if (j < n) {
    for (int64_t i = threadIdx.y; i < m; i += kRowLanes) {
      const T g = dense_detail::backward<Act, T>(y[i * n + j], dy[i * n + j]);
      if (dz != nullptr) dz[i * n + j] = g;
      acc += g;
    }
  }
  if (db == nullptr) return;  // uniform across the block: no thread waits at the barrier alone
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < n) {
    T s = T(0);
#pragma unroll
    for (int r = 0; r < kRowLanes; ++r) s += part[r][threadIdx.x];
    db[j] = s;
  }
}

template <class F>
void with_type(DType dt, const char* op, F&& f) {
  if (dt == DType::f32)
    f(float{});
  else if (dt == DType::f64)
    f(double{});
  else
    detail::unsupported_dtype(op, dt);
}
}  // namespace

void dense_epilogue(DenseAct act, DType dt, void* y, const void* b, int64_t m, int64_t n, cudaStream_t s) {
  if (m == 0 || n == 0 || (act == DenseAct::none && b == nullptr)) return;
  with_type(dt, "fused_dense", [&](auto tag) {
    using T = decltype(tag);
    with_act(act, [&]<DenseAct Act>() {
      forward_kernel<Act, T><<<resident_blocks(m * n, kBlock), kBlock, 0, s>>>(static_cast<T*>(y),
                                                                                  static_cast<const T*>(b), m, n);
    });
  });
  AXON_CUDA_LAUNCH_CHECK("fused_dense");
}

void dense_epilogue_backward(DenseAct act, DType dt, const void* y, const void* dy, void* dz, void* db, int64_t m,
                             int64_t n, cudaStream_t s) {
  if (n == 0 || (dz == nullptr && db == nullptr)) return;
  with_type(dt, "fused_dense", [&](auto tag) {
    using T = decltype(tag);
    with_act(act, [&]<DenseAct Act>() {
      const dim3 grid(static_cast<unsigned>((n + kCols - 1) / kCols)), block(kCols, kRowLanes);
      backward_kernel<Act, T><<<grid, block, 0, s>>>(static_cast<const T*>(y), static_cast<const T*>(dy),
                                                     static_cast<T*>(dz), static_cast<T*>(db), m, n);
    });
  });
  AXON_CUDA_LAUNCH_CHECK("fused_dense");
}

}  // namespace axon::kernels::cuda
