// out[io.offset(i) + index[ii.offset(i)] * axis_stride] += src[is.offset(i)] with atomicAdd; bf16 and
// f16 sources add into an f32 accumulator (index.hpp: scatter_accumulator).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::kernels::cuda {

namespace {
__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: an unsigned add is a signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

template <class T> struct Acc { using type = T; };
template <> struct Acc<__nv_bfloat16> { using type = float; };
template <> struct Acc<__half> { using type = float; };
__device__ __forceinline__ float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float widen(__half v) { return __half2float(v); }
template <class T>
__device__ __forceinline__ T widen(T v) { return v; }

template <class T, class I>
__global__ void scatter_add_kernel(typename Acc<T>::type* out, Indexer io, int64_t axis_stride, int64_t axis_size,
                                   const I* __restrict__ idx, Indexer ii, const T* __restrict__ src, Indexer is,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v < 0) v += axis_size;
    if (v < 0 || v >= axis_size) continue;
    atomic_add(out + io.offset(i) + v * axis_stride, widen(src[is.offset(i)]));
  }
}

template <class T, class I>
void launch(void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, const I* idx, const Indexer& ii,
            const void* src, const Indexer& is, int64_t n, cudaStream_t s) {
  constexpr int kBlock = 256;
  scatter_add_kernel<T><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<typename Acc<T>::type*>(out), io,
                                                               axis_stride, axis_size, idx, ii,
                                                               static_cast<const T*>(src), is, n);
  AXON_CUDA_LAUNCH_CHECK("scatter_add");
}

// Rows r = o·m + j of src (blockIdx.y, grid-strided) add into row o·n + index[o·idx_pitch + j] of
// out; the row's elements go along x, coalesced.
template <class T, class I>
__global__ void scatter_add_rows_kernel(typename Acc<T>::type* out, int64_t rows, int64_t n, int64_t inner,
                                        const I* __restrict__ idx, int64_t idx_pitch, int64_t m,
                                        const T* __restrict__ src) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t o = r / m, j = r - o * m;
    int64_t v = static_cast<int64_t>(idx[o * idx_pitch + j]);
    if (v < 0) v += n;
    if (v < 0 || v >= n) continue;
    auto* dst = out + (o * n + v) * inner;
    const T* s = src + r * inner;
    for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < inner; k += int64_t(gridDim.x) * blockDim.x)
      atomic_add(dst + k, widen(s[k]));
  }
}

template <class T, class I>
void launch_rows(void* out, int64_t outer, int64_t n, int64_t inner, const I* idx, int64_t idx_pitch, int64_t m,
                 const void* src, cudaStream_t s) {
  // A warp at least, 256 threads at most: short rows waste fewer threads.
  const int kBlock = inner >= 256 ? 256 : static_cast<int>((inner + 31) / 32 * 32);
  const int64_t rows = outer * m;
  // x covers a row (capped: long rows loop); y covers rows up to the hardware's limit, then loops.
  const unsigned gx = grid_for(inner, kBlock, 64);
  const unsigned gy = static_cast<unsigned>(rows < 65535 ? rows : 65535);
  scatter_add_rows_kernel<T><<<dim3(gx, gy), kBlock, 0, s>>>(static_cast<typename Acc<T>::type*>(out), rows, n,
                                                             inner, idx, idx_pitch, m, static_cast<const T*>(src));
  AXON_CUDA_LAUNCH_CHECK("scatter_add");
}

// run(T{}, I*) for the source type T named by dt and the index type named by idx_dt.
template <class F>
void with_types(DType dt, DType idx_dt, const void* idx, F&& run) {
  auto with_index = [&](auto tag) {
    if (idx_dt == DType::i32)
      run(tag, static_cast<const int32_t*>(idx));
    else if (idx_dt == DType::i64)
      run(tag, static_cast<const int64_t*>(idx));
    else
      ::axon::detail::unsupported_dtype("scatter_add", idx_dt);
  };
  switch (dt) {
    case DType::f32: with_index(float{}); break;
    case DType::f64: with_index(double{}); break;
    case DType::bf16: with_index(__nv_bfloat16{}); break;
    case DType::f16: with_index(__half{}); break;
    case DType::i32: with_index(int32_t{}); break;
    case DType::i64: with_index(int64_t{}); break;
    default: ::axon::detail::unsupported_dtype("scatter_add", dt);
  }
}
}  // namespace

void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n,
                 cudaStream_t s) {
  if (n == 0) return;
  with_types(dt, idx_dt, idx, [&](auto tag, auto* ip) {
    launch<decltype(tag)>(out, io, axis_stride, axis_size, ip, ii, src, is, n, s);
  });
}

void scatter_add_rows(DType dt, void* out, int64_t outer, int64_t axis_size, int64_t inner, DType idx_dt,
                      const void* idx, int64_t idx_pitch, int64_t m, const void* src, cudaStream_t s) {
  if (outer == 0 || m == 0 || inner == 0) return;
  with_types(dt, idx_dt, idx, [&](auto tag, auto* ip) {
    launch_rows<decltype(tag)>(out, outer, axis_size, inner, ip, idx_pitch, m, src, s);
  });
}

}  // namespace axon::kernels::cuda
