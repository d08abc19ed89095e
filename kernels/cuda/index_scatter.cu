// out[io.offset(i) + index[ii.offset(i)] * axis_stride] += src[is.offset(i)] with atomicAdd.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::kernels::cuda {

namespace {
__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(__nv_bfloat16* p, __nv_bfloat16 v) { atomicAdd(p, v); }  // sm_80+
__device__ __forceinline__ void atomic_add(__half* p, __half v) { atomicAdd(p, v); }                // sm_70+
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: an unsigned add is a signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

template <class T, class I>
__global__ void scatter_add_kernel(T* out, Indexer io, int64_t axis_stride, int64_t axis_size,
                                   const I* __restrict__ idx, Indexer ii, const T* __restrict__ src, Indexer is,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v < 0) v += axis_size;
    if (v < 0 || v >= axis_size) continue;
    atomic_add(out + io.offset(i) + v * axis_stride, src[is.offset(i)]);
  }
}

template <class T, class I>
void launch(void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, const I* idx, const Indexer& ii,
            const void* src, const Indexer& is, int64_t n, cudaStream_t s) {
  constexpr int kBlock = 256;
  scatter_add_kernel<<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<T*>(out), io, axis_stride, axis_size, idx,
                                                            ii, static_cast<const T*>(src), is, n);
  AXON_CUDA_LAUNCH_CHECK("scatter_add");
}

template <class I>
void dispatch(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, const I* idx,
              const Indexer& ii, const void* src, const Indexer& is, int64_t n, cudaStream_t s) {
  switch (dt) {
    case DType::f32: launch<float>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    case DType::f64: launch<double>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    case DType::bf16: launch<__nv_bfloat16>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    case DType::f16: launch<__half>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    case DType::i32: launch<int32_t>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    case DType::i64: launch<int64_t>(out, io, axis_stride, axis_size, idx, ii, src, is, n, s); break;
    default: ::axon::detail::unsupported_dtype("scatter_add", dt);
  }
}
}  // namespace

void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n,
                 cudaStream_t s) {
  if (n == 0) return;
  if (idx_dt == DType::i32)
    dispatch(dt, out, io, axis_stride, axis_size, static_cast<const int32_t*>(idx), ii, src, is, n, s);
  else if (idx_dt == DType::i64)
    dispatch(dt, out, io, axis_stride, axis_size, static_cast<const int64_t*>(idx), ii, src, is, n, s);
  else
    ::axon::detail::unsupported_dtype("scatter_add", idx_dt);
}

}  // namespace axon::kernels::cuda
