// CUDA cumsum. Rows (inner == 1) longer than a warp: one block per row scanning tiles with
// cub::BlockScan and carrying the running total. Otherwise one thread per (outer, inner) column
// walks the axis sequentially (coalesced across inner).
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/scan.hpp>
#include <cub/block/block_scan.cuh>
#include <type_traits>

namespace axon::kernels::cuda {

namespace {

template <class T>
using wide_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, acc_t<T>, int64_t>;
template <class T>
using out_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, T, int64_t>;

template <class T>
__global__ void scan_columns(const T* __restrict__ x, out_t<T>* __restrict__ y, int64_t outer, int64_t n,
                             int64_t inner, bool reverse) {
  using A = wide_t<T>;
  int64_t cols = outer * inner;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols;
       c += int64_t(gridDim.x) * blockDim.x) {
    int64_t o = c / inner, i = c - o * inner;
    A acc = A(0);
    for (int64_t kk = 0; kk < n; ++kk) {
      int64_t k = reverse ? n - 1 - kk : kk;
      int64_t at = (o * n + k) * inner + i;
      acc += convert<A>(x[at]);
      y[at] = convert<out_t<T>>(acc);
    }
  }
}

constexpr int kBlock = 256, kItems = 4;

template <class T>
__global__ void __launch_bounds__(kBlock)
    scan_rows(const T* __restrict__ x, out_t<T>* __restrict__ y, int64_t outer, int64_t n, bool reverse) {
  using A = wide_t<T>;
  using BlockScan = cub::BlockScan<A, kBlock>;
  __shared__ typename BlockScan::TempStorage temp;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const T* row = x + o * n;
    out_t<T>* out = y + o * n;
    A carry = A(0);
    for (int64_t base = 0; base < n; base += kBlock * kItems) {
      A items[kItems];
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        int64_t p = base + threadIdx.x * kItems + j;
        items[j] = p < n ? convert<A>(row[reverse ? n - 1 - p : p]) : A(0);
      }
      A tile_total;
      BlockScan(temp).InclusiveSum(items, items, tile_total);
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        int64_t p = base + threadIdx.x * kItems + j;
        if (p < n) out[reverse ? n - 1 - p : p] = convert<out_t<T>>(items[j] + carry);
      }
      carry += tile_total;
      __syncthreads();  // temp is reused by the next tile
    }
  }
}

}  // namespace

void cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse,
            cudaStream_t s) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_ALL(dt, "cumsum", {
    auto* xp = static_cast<const scalar_t*>(x);
    auto* yp = static_cast<out_t<scalar_t>*>(y);
    if (inner == 1 && n > 32)
      scan_rows<<<grid_for(outer, 1), kBlock, 0, s>>>(xp, yp, outer, n, reverse);
    else
      scan_columns<<<grid_for(outer * inner, kBlock), kBlock, 0, s>>>(xp, yp, outer, n, inner, reverse);
  });
  AXON_CUDA_LAUNCH_CHECK("cumsum");
}

}  // namespace axon::kernels::cuda
