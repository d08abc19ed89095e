// CUDA cumsum.
//  - rows (inner == 1) longer than a warp: one block per row scanning tiles with cub::BlockScan and
//    carrying the running total;
//  - few long rows (a single row of 10M elements): each row split into chunks, one block per chunk
//    on every SM. A first kernel sums every chunk; the second gives each block the sum of the
//    chunks before its own (added up by the block itself, in a fixed order: deterministic) and
//    scans its chunk as above. Three passes over HBM instead of the two of a decoupled look-back
//    scan, but the re-read largely hits L2, and the result does not depend on timing;
//  - otherwise one thread per (outer, inner) column walks the axis sequentially (coalesced across
//    inner).
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/scan.hpp>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <string>
#include <type_traits>

#include "device_props.cuh"

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
    int64_t o = div_fast(c, inner), i = c - o * inner;
    A acc = A(0);
    for (int64_t kk = 0; kk < n; ++kk) {
      int64_t k = reverse ? n - 1 - kk : kk;
      int64_t at = (o * n + k) * inner + i;
      acc += convert<A>(x[at]);
      y[at] = convert<out_t<T>>(acc);
    }
  }
}

constexpr int kBlock = 256, kItems = 4, kTile = kBlock * kItems;

template <class T>
using BlockScan = cub::BlockScan<wide_t<T>, kBlock>;

// Scans positions [begin, end) of a row (position p is element p, or n - 1 - p when reversed),
// starting from `carry`, tile by tile. Every thread of the block calls it.
template <class T>
__device__ __forceinline__ void scan_range(const T* __restrict__ row, out_t<T>* __restrict__ out, int64_t begin,
                                           int64_t end, int64_t n, bool reverse, wide_t<T> carry,
                                           typename BlockScan<T>::TempStorage& temp) {
  using A = wide_t<T>;
  for (int64_t base = begin; base < end; base += kTile) {
    A items[kItems];
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      int64_t p = base + threadIdx.x * kItems + j;
      items[j] = p < end ? convert<A>(row[reverse ? n - 1 - p : p]) : A(0);
    }
    A tile_total;
    BlockScan<T>(temp).InclusiveSum(items, items, tile_total);
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      int64_t p = base + threadIdx.x * kItems + j;
      if (p < end) out[reverse ? n - 1 - p : p] = convert<out_t<T>>(items[j] + carry);
    }
    carry += tile_total;
    __syncthreads();  // temp is reused by the next tile
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    scan_rows(const T* __restrict__ x, out_t<T>* __restrict__ y, int64_t outer, int64_t n, bool reverse) {
  __shared__ typename BlockScan<T>::TempStorage temp;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x)
    scan_range(x + o * n, y + o * n, 0, n, n, reverse, wide_t<T>(0), temp);
}

// Split rows, pass 1: block (b, o) sums chunk b of row o (positions [b * chunk, (b + 1) * chunk),
// mapped to elements as scan_range does) into partial[o * gridDim.x + b].
template <class T>
__global__ void __launch_bounds__(kBlock) scan_chunk_sums(const T* __restrict__ x, wide_t<T>* __restrict__ partial,
                                                          int64_t n, int64_t chunk, bool reverse) {
  using A = wide_t<T>;
  using BlockReduce = cub::BlockReduce<A, kBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  const int64_t o = blockIdx.y, begin = blockIdx.x * chunk, end = begin + chunk < n ? begin + chunk : n;
  const T* row = x + o * n;
  A a = A(0);
  for (int64_t p = begin + threadIdx.x; p < end; p += kBlock) a += convert<A>(row[reverse ? n - 1 - p : p]);
  a = BlockReduce(temp).Sum(a);
  if (threadIdx.x == 0) partial[o * gridDim.x + blockIdx.x] = a;
}

// Split rows, pass 2: block (b, o) adds up the sums of chunks 0 .. b-1 of row o, then scans chunk b.
template <class T>
__global__ void __launch_bounds__(kBlock)
    scan_chunks(const T* __restrict__ x, out_t<T>* __restrict__ y, const wide_t<T>* __restrict__ partial, int64_t n,
                int64_t chunk, bool reverse) {
  using A = wide_t<T>;
  using BlockReduce = cub::BlockReduce<A, kBlock>;
  __shared__ union {
    typename BlockReduce::TempStorage reduce;
    typename BlockScan<T>::TempStorage scan;
  } temp;
  __shared__ A carry;
  const int64_t o = blockIdx.y, b = blockIdx.x;
  A a = A(0);
  for (int64_t j = threadIdx.x; j < b; j += kBlock) a += partial[o * gridDim.x + j];
  a = BlockReduce(temp.reduce).Sum(a);  // valid in thread 0
  if (threadIdx.x == 0) carry = a;
  __syncthreads();  // carry is visible, temp.reduce is free for the scan
  const int64_t begin = b * chunk, end = begin + chunk < n ? begin + chunk : n;
  scan_range(x + o * n, y + o * n, begin, end, n, reverse, carry, temp.scan);
}

// Chunks per row for the split path (1: don't split): enough blocks of kBlock threads to give every
// SM eight, each chunk a whole number of tiles and at least 16 of them.
struct ScanPlan {
  int64_t parts = 1, chunk = 0;
};
ScanPlan plan_scan(int64_t outer, int64_t n, int64_t inner) {
  ScanPlan p;
  constexpr int64_t kMinChunk = 16 * kTile;
  const int64_t want = int64_t(sm_count()) * 8;
  if (inner != 1 || outer >= want || n < 2 * kMinChunk) return p;
  int64_t parts = (want + outer - 1) / outer;
  if (parts > n / kMinChunk) parts = n / kMinChunk;
  if (parts < 2) return p;
  p.chunk = ((n + parts - 1) / parts + kTile - 1) / kTile * kTile;
  p.parts = (n + p.chunk - 1) / p.chunk;
  return p;
}
constexpr size_t kPartialBytes = 8;  // wide_t is float, double or int64

template <class T>
void launch(const T* x, out_t<T>* y, int64_t outer, int64_t n, int64_t inner, bool reverse, void* ws,
            size_t ws_bytes, cudaStream_t s) {
  const ScanPlan p = plan_scan(outer, n, inner);
  if (p.parts > 1) {
    if (!ws || ws_bytes < size_t(outer) * p.parts * kPartialBytes)  // a front-end bug, not a user error
      throw Error("cumsum: scan workspace too small", __FILE__, __LINE__);
    auto* partial = static_cast<wide_t<T>*>(ws);
    const dim3 grid(unsigned(p.parts), unsigned(outer));
    scan_chunk_sums<<<grid, kBlock, 0, s>>>(x, partial, n, p.chunk, reverse);
    AXON_CUDA_LAUNCH_CHECK("cumsum");
    scan_chunks<<<grid, kBlock, 0, s>>>(x, y, partial, n, p.chunk, reverse);
  } else if (inner == 1 && n > 32) {
    scan_rows<<<grid_for(outer, 1), kBlock, 0, s>>>(x, y, outer, n, reverse);
  } else {
    scan_columns<<<grid_for(outer * inner, kBlock), kBlock, 0, s>>>(x, y, outer, n, inner, reverse);
  }
}

}  // namespace

size_t cumsum_workspace_bytes(int64_t outer, int64_t n, int64_t inner) {
  if (outer * n * inner == 0) return 0;
  const ScanPlan p = plan_scan(outer, n, inner);
  return p.parts > 1 ? size_t(outer) * p.parts * kPartialBytes : 0;
}

void cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse, void* ws,
            size_t ws_bytes, cudaStream_t s) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_ALL(dt, "cumsum",
                    launch(static_cast<const scalar_t*>(x), static_cast<out_t<scalar_t>*>(y), outer, n, inner,
                           reverse, ws, ws_bytes, s));
  AXON_CUDA_LAUNCH_CHECK("cumsum");
}

}  // namespace axon::kernels::cuda
