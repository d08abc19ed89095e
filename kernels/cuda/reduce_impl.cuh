#pragma once
// The CUDA reduction machinery shared by the reduce_*.cu files (each instantiates a few ops, so
// they compile in parallel). A reducer R describes one op:
//   A init(); A project(T value, int64_t index); A combine(A, A); Out finish(A)
// combine is commutative (argmax breaks ties by index), so any reduction order gives one answer.
//
// Paths over the [outer, n, inner] layout:
//   inner == 1, short rows   -> one warp per row
//   inner == 1, long rows    -> one block per row
//   inner == 1, few long rows (a full reduction) -> each row split over many blocks writing
//                              partial results, then one block per row combines them (two passes)
//   inner > 1                -> threads along inner (coalesced loads), blockDim.y splits n; when
//                              the columns alone are too few blocks, blockIdx.z splits n too and
//                              a second pass combines the parts
// Row loads are 16-byte vectors after peeling the unaligned head, unrolled 4x for loads in flight.
#include <cuda_runtime.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/reduce.hpp>
#include <axon/kernels/scalar.hpp>
#include <atomic>
#include <cstdint>

#include "device_props.cuh"
#include <limits>
#include <string>
#include <type_traits>

namespace axon::kernels::cuda::reduce_impl {

// f32 and the 16-bit floats accumulate in float, f64 in double, integers and bool in int64.
template <class T>
using wide_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, acc_t<T>, int64_t>;

template <class A>
__device__ __forceinline__ bool is_nan(A a) {
  if constexpr (std::is_floating_point_v<A>)
    return a != a;
  else
    return false;
}

template <class T>
struct Sum {
  using A = wide_t<T>;
  using Out = std::conditional_t<std::is_floating_point_v<A>, T, int64_t>;
  double scale;
  __device__ A init() const { return A(0); }
  __device__ A project(T v, int64_t) const { return convert<A>(v); }
  __device__ A combine(A a, A b) const { return a + b; }
  __device__ Out finish(A a) const {
    if constexpr (std::is_floating_point_v<A>)
      return convert<Out>(a * static_cast<A>(scale));
    else
      return a;
  }
};
template <class T>
struct Prod {
  using A = wide_t<T>;
  using Out = std::conditional_t<std::is_floating_point_v<A>, T, int64_t>;
  __device__ A init() const { return A(1); }
  __device__ A project(T v, int64_t) const { return convert<A>(v); }
  __device__ A combine(A a, A b) const {
    if constexpr (std::is_integral_v<A>)  // wraps, as on the CPU
      return static_cast<A>(static_cast<unsigned long long>(a) * static_cast<unsigned long long>(b));
    else
      return a * b;
  }
  __device__ Out finish(A a) const { return convert<Out>(a); }
};
template <class T, bool IsMax>
struct Extreme {
  using A = wide_t<T>;
  using Out = T;
  __device__ A init() const {
    if constexpr (std::is_floating_point_v<A>)
      return IsMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
    else if constexpr (std::is_same_v<T, bool>)
      return IsMax ? 0 : 1;
    else
      return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  __device__ A project(T v, int64_t) const { return convert<A>(v); }
  __device__ A combine(A a, A b) const {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return IsMax ? (b > a ? b : a) : (b < a ? b : a);
  }
  __device__ Out finish(A a) const { return convert<Out>(a); }
};
template <class T, bool IsAll>
struct Logical {
  using A = bool;
  using Out = bool;
  __device__ A init() const { return IsAll; }
  __device__ A project(T v, int64_t) const { return convert<bool>(v); }
  __device__ A combine(A a, A b) const { return IsAll ? (a && b) : (a || b); }
  __device__ Out finish(A a) const { return a; }
};
template <class V>
struct ArgAcc {
  V v;
  int64_t i;  // -1: nothing seen yet
};
template <class T, bool IsMax>
struct Arg {
  using V = wide_t<T>;
  using A = ArgAcc<V>;
  using Out = int64_t;
  __device__ A init() const { return {V(0), -1}; }
  __device__ A project(T v, int64_t i) const { return {convert<V>(v), i}; }
  __device__ A combine(A a, A b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) {
      if (an && bn) return a.i <= b.i ? a : b;
      return an ? a : b;
    }
    bool b_better = IsMax ? b.v > a.v : b.v < a.v;
    if (b_better || (b.v == a.v && b.i < a.i)) return b;
    return a;
  }
  __device__ Out finish(A a) const { return a.i; }
};

template <class A>
__device__ __forceinline__ A shfl_down(A a, int off) {
  if constexpr (std::is_same_v<A, bool>)
    return __shfl_down_sync(0xffffffffu, static_cast<int>(a), off) != 0;
  else if constexpr (std::is_same_v<A, int64_t>)
    return static_cast<int64_t>(__shfl_down_sync(0xffffffffu, static_cast<long long>(a), off));
  else
    return __shfl_down_sync(0xffffffffu, a, off);
}
template <class V>
__device__ __forceinline__ ArgAcc<V> shfl_down(ArgAcc<V> a, int off) {
  return {shfl_down(a.v, off), shfl_down(a.i, off)};
}

template <class R, class A>
__device__ __forceinline__ A warp_reduce(const R& r, A a) {
  for (int off = 16; off > 0; off >>= 1) a = r.combine(a, shfl_down(a, off));
  return a;
}
// The block's result lands in thread 0. `smem` holds 32 entries.
template <class R, class A>
__device__ __forceinline__ A block_reduce(const R& r, A a, A* smem) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  a = warp_reduce(r, a);
  if (lane == 0) smem[warp] = a;
  __syncthreads();
  if (warp == 0) {
    a = lane < nwarps ? smem[lane] : r.init();
    a = warp_reduce(r, a);
  }
  return a;
}

template <class T>
struct alignas(16) Vec {
  static constexpr int N = 16 / sizeof(T);
  T v[N];
};

// This thread's share of row[begin, end): thread `tid` of `nthreads`.
template <class R, class T>
__device__ __forceinline__ typename R::A thread_row(const R& r, const T* __restrict__ row, int64_t begin,
                                                    int64_t end, int tid, int nthreads) {
  using A = typename R::A;
  constexpr int V = Vec<T>::N;
  A a = r.init();
  auto addr = reinterpret_cast<uintptr_t>(row + begin);
  int64_t head = static_cast<int64_t>(((16 - addr % 16) % 16) / sizeof(T));
  if (head > end - begin) head = end - begin;
  if (tid < head) a = r.combine(a, r.project(row[begin + tid], begin + tid));
  int64_t start = begin + head;
  int64_t nvec = (end - start) / V;
  const Vec<T>* vp = reinterpret_cast<const Vec<T>*>(row + start);
  int64_t i = tid;
  for (; i + 3 * nthreads < nvec; i += 4 * nthreads) {
    Vec<T> v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) v[u] = vp[i + u * nthreads];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      int64_t base = start + (i + u * nthreads) * V;
#pragma unroll
      for (int j = 0; j < V; ++j) a = r.combine(a, r.project(v[u].v[j], base + j));
    }
  }
  for (; i < nvec; i += nthreads) {
    Vec<T> v = vp[i];
    int64_t base = start + i * V;
#pragma unroll
    for (int j = 0; j < V; ++j) a = r.combine(a, r.project(v.v[j], base + j));
  }
  for (int64_t k = start + nvec * V + tid; k < end; k += nthreads) a = r.combine(a, r.project(row[k], k));
  return a;
}

constexpr int kBlock = 256;
constexpr int kWarpRowsMax = 512;  // rows up to this long get one warp each

template <class R, class T>
__global__ void __launch_bounds__(kBlock)
    rows_warp(R r, const T* __restrict__ x, typename R::Out* __restrict__ y, int64_t outer, int64_t n) {
  int lane = threadIdx.x & 31;
  int64_t wpb = blockDim.x >> 5;
  for (int64_t o = blockIdx.x * wpb + (threadIdx.x >> 5); o < outer; o += int64_t(gridDim.x) * wpb) {
    auto a = warp_reduce(r, thread_row(r, x + o * n, 0, n, lane, 32));
    if (lane == 0) y[o] = r.finish(a);
  }
}

template <class R, class T>
__global__ void __launch_bounds__(kBlock)
    rows_block(R r, const T* __restrict__ x, typename R::Out* __restrict__ y, int64_t outer, int64_t n) {
  __shared__ typename R::A smem[32];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    auto a = block_reduce(r, thread_row(r, x + o * n, 0, n, threadIdx.x, blockDim.x), smem);
    if (threadIdx.x == 0) y[o] = r.finish(a);
    __syncthreads();  // smem is reused by the next row
  }
}

// Pass 1 of a split row: block (b, o) reduces chunk b of row o into partial[o * gridDim.x + b].
template <class R, class T>
__global__ void __launch_bounds__(kBlock)
    rows_split(R r, const T* __restrict__ x, typename R::A* __restrict__ partial, int64_t n, int64_t chunk) {
  __shared__ typename R::A smem[32];
  int64_t o = blockIdx.y, begin = blockIdx.x * chunk;
  int64_t end = begin + chunk < n ? begin + chunk : n;
  auto a = begin < end ? thread_row(r, x + o * n, begin, end, threadIdx.x, blockDim.x) : r.init();
  a = block_reduce(r, a, smem);
  if (threadIdx.x == 0) partial[o * gridDim.x + blockIdx.x] = a;
}
// Pass 2: one block per row combines its `parts` partial results.
template <class R>
__global__ void __launch_bounds__(kBlock)
    rows_finish(R r, const typename R::A* __restrict__ partial, typename R::Out* __restrict__ y, int parts) {
  __shared__ typename R::A smem[32];
  auto a = r.init();
  for (int j = threadIdx.x; j < parts; j += blockDim.x)
    a = r.combine(a, partial[int64_t(blockIdx.x) * parts + j]);
  a = block_reduce(r, a, smem);
  if (threadIdx.x == 0) y[blockIdx.x] = r.finish(a);
}

// inner > 1: a block holds 32 adjacent columns (coalesced loads) times kColsY threads along n, and
// takes the axis rows [z * chunk, (z + 1) * chunk) for its blockIdx.z. With one part (gridDim.z
// == 1) it writes the results; with several (few columns: the columns alone would leave most SMs
// idle) it writes partial results [outer, parts, inner] that a second launch over them, with n =
// parts and FromPartial, combines. Each thread combines its rows in increasing order, so the
// result does not depend on timing.
constexpr int kColsY = 16;
template <class R, class In, bool FromPartial, bool ToPartial>
__global__ void __launch_bounds__(32 * kColsY)
    cols(R r, const In* __restrict__ x, typename R::A* __restrict__ partial, typename R::Out* __restrict__ y,
         int64_t outer, int64_t n, int64_t inner, int64_t chunk) {
  using A = typename R::A;
  __shared__ A smem[kColsY][33];
  const int64_t i = blockIdx.x * 32 + threadIdx.x;
  const int64_t k0 = blockIdx.z * chunk, k1 = k0 + chunk < n ? k0 + chunk : n;
  auto load = [&](In v, int64_t k) -> A {
    if constexpr (FromPartial)
      return v;
    else
      return r.project(v, k);
  };
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    A a = r.init();
    if (i < inner) {
      const In* p = x + o * n * inner + i;
      int64_t k = k0 + threadIdx.y;
      for (; k + 3 * kColsY < k1; k += 4 * kColsY) {  // four loads in flight per thread
        In v[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) v[u] = p[(k + u * kColsY) * inner];
#pragma unroll
        for (int u = 0; u < 4; ++u) a = r.combine(a, load(v[u], k + u * kColsY));
      }
      for (; k < k1; k += kColsY) a = r.combine(a, load(p[k * inner], k));
    }
    smem[threadIdx.y][threadIdx.x] = a;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
      for (int j = 1; j < kColsY; ++j) a = r.combine(a, smem[j][threadIdx.x]);
      if constexpr (ToPartial)
        partial[(o * gridDim.z + blockIdx.z) * inner + i] = a;
      else
        y[o * inner + i] = r.finish(a);
    }
    __syncthreads();
  }
}

struct Plan {
  enum Path { warp_rows, block_rows, split_rows, columns } path;
  int parts = 1;      // split_rows: blocks per row
  int64_t chunk = 0;  // split_rows: elements per block
};
// blocks_per_sm: how many rows_split blocks fit on an SM (8 at most; the workspace is sized for 8).
Plan plan(int64_t outer, int64_t n, int64_t inner, int blocks_per_sm = 8);
constexpr size_t kPartialBytes = 16;  // room for any reducer's accumulator

// One wave of rows_split blocks: a second, partly filled wave would cost as much as the first.
template <class R, class T>
int split_blocks_per_sm() {
  // Atomic: host threads may launch reductions at the same time (they compute the same value).
  static std::atomic<int> cached[64] = {};
  int dev = 0;
  AXON_CUDA_CHECK(cudaGetDevice(&dev), "reduce");
  std::atomic<int>& c = cached[dev >= 0 && dev < 64 ? dev : 0];
  int v = c.load(std::memory_order_relaxed);
  if (!v) {
    AXON_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&v, rows_split<R, T>, kBlock, 0), "reduce");
    v = v < 1 ? 1 : v > 8 ? 8 : v;
    c.store(v, std::memory_order_relaxed);
  }
  return v;
}

template <class R, class T>
void launch(const R& r, const T* x, typename R::Out* y, int64_t outer, int64_t n, int64_t inner, void* ws,
            size_t ws_bytes, cudaStream_t s, const char* opname) {
  using A = typename R::A;
  static_assert(sizeof(A) <= kPartialBytes, "partial result too large");
  Plan p = plan(outer, n, inner, inner == 1 ? split_blocks_per_sm<R, T>() : 8);
  switch (p.path) {
    case Plan::warp_rows:
      rows_warp<<<grid_for(outer, kBlock / 32), kBlock, 0, s>>>(r, x, y, outer, n);
      break;
    case Plan::block_rows:
      rows_block<<<grid_for(outer, 1), kBlock, 0, s>>>(r, x, y, outer, n);
      break;
    case Plan::split_rows: {
      if (!ws || ws_bytes < size_t(outer) * p.parts * kPartialBytes)  // a front-end bug, not a user error
        throw Error(std::string(opname) + ": reduction workspace too small", __FILE__, __LINE__);
      A* partial = static_cast<A*>(ws);
      rows_split<<<dim3(p.parts, unsigned(outer)), kBlock, 0, s>>>(r, x, partial, n, p.chunk);
      AXON_CUDA_LAUNCH_CHECK(opname);
      rows_finish<<<unsigned(outer), kBlock, 0, s>>>(r, partial, y, p.parts);
      break;
    }
    case Plan::columns: {
      const dim3 block(32, kColsY);
      const unsigned gx = unsigned((inner + 31) / 32), gy = unsigned(outer < 65535 ? outer : 65535);
      if (p.parts == 1) {
        cols<R, T, false, false><<<dim3(gx, gy), block, 0, s>>>(r, x, nullptr, y, outer, n, inner, n);
        break;
      }
      if (!ws || ws_bytes < size_t(outer) * inner * p.parts * kPartialBytes)  // a front-end bug
        throw Error(std::string(opname) + ": reduction workspace too small", __FILE__, __LINE__);
      A* partial = static_cast<A*>(ws);
      cols<R, T, false, true><<<dim3(gx, gy, unsigned(p.parts)), block, 0, s>>>(r, x, partial, nullptr, outer, n,
                                                                                inner, p.chunk);
      AXON_CUDA_LAUNCH_CHECK(opname);
      cols<R, A, true, false><<<dim3(gx, gy), block, 0, s>>>(r, partial, nullptr, y, outer, p.parts, inner,
                                                             p.parts);
      break;
    }
  }
  AXON_CUDA_LAUNCH_CHECK(opname);
}

// Per-family entry points (one .cu file each).
void reduce_sum_prod(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                     double scale, void* ws, size_t ws_bytes, cudaStream_t s);
void reduce_extreme(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    void* ws, size_t ws_bytes, cudaStream_t s);
void reduce_logical(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    void* ws, size_t ws_bytes, cudaStream_t s);
void reduce_arg(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                void* ws, size_t ws_bytes, cudaStream_t s);

}  // namespace axon::kernels::cuda::reduce_impl
