// CUDA softmax cross-entropy from logits: one block per row for the forward (an online max/sum pass
// that also gathers sum y and sum y*x), and one elementwise pass for the backward.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <limits>

#include <axon/kernels/cross_entropy.hpp>
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>

#include "device_props.cuh"

namespace axon::kernels::cuda {

namespace {
constexpr int kBlock = 256;

__device__ __forceinline__ float d_exp(float x) { return ::expf(x); }
__device__ __forceinline__ double d_exp(double x) { return ::exp(x); }
__device__ __forceinline__ float d_log(float x) { return ::logf(x); }
__device__ __forceinline__ double d_log(double x) { return ::log(x); }

// Running (max, sum of e^(x - max)) pairs, merged without inf - inf.
template <class A>
__device__ __forceinline__ void merge(A& m, A& s, A m2, A s2) {
  A mm = m > m2 ? m : m2;
  if (mm == -std::numeric_limits<A>::infinity()) return;  // both empty
  s = s * d_exp(m - mm) + s2 * d_exp(m2 - mm);
  m = mm;
}

template <class T>
__global__ void __launch_bounds__(kBlock) xent_fwd(const T* __restrict__ x, const void* __restrict__ labels,
                                                   bool sparse, T* __restrict__ loss, acc_t<T>* __restrict__ lse,
                                                   acc_t<T>* __restrict__ ysum, int64_t c) {
  using A = acc_t<T>;
  const int64_t r = blockIdx.x;
  const T* xr = x + r * c;
  const T* yr = static_cast<const T*>(labels) + r * c;
  A m = -std::numeric_limits<A>::infinity(), s = 0, sy = 0, syx = 0;
  bool nan = false;
  for (int64_t k = threadIdx.x; k < c; k += blockDim.x) {
    A v = convert<A>(xr[k]);
    nan |= v != v;
    if (v > m) {
      s = s * d_exp(m - v) + A(1);
      m = v;
    } else if (v != -std::numeric_limits<A>::infinity()) {
      s += d_exp(v - m);
    }
    if (!sparse) {
      A yk = convert<A>(yr[k]);
      sy += yk;
      if (yk != A(0)) syx += yk * v;
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    A m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
    merge(m, s, m2, s2);
    sy += __shfl_xor_sync(0xffffffffu, sy, o);
    syx += __shfl_xor_sync(0xffffffffu, syx, o);
    nan |= __shfl_xor_sync(0xffffffffu, int(nan), o) != 0;
  }
  __shared__ A sm[kBlock / 32], ss[kBlock / 32], ssy[kBlock / 32], ssyx[kBlock / 32];
  __shared__ int snan[kBlock / 32];
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    sm[w] = m;
    ss[w] = s;
    ssy[w] = sy;
    ssyx[w] = syx;
    snan[w] = nan;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 1; i < int(blockDim.x / 32); ++i) {
      merge(m, s, sm[i], ss[i]);
      sy += ssy[i];
      syx += ssyx[i];
      nan |= snan[i] != 0;
    }
    A l = m + d_log(s);
    if (m == std::numeric_limits<A>::infinity() || m == -std::numeric_limits<A>::infinity()) l = m;
    if (nan) l = std::numeric_limits<A>::quiet_NaN();
    A out;
    if (sparse) {
      // The front-end's label check is deferred on CUDA (raised at the next host read, or at a compiled
      // function's next call), so a label out of range does get here: read column 0, never memory
      // outside the row.
      const int64_t lab = static_cast<const int64_t*>(labels)[r];
      out = l - convert<A>(xr[lab >= 0 && lab < c ? lab : 0]);
    } else {
      out = l * sy - syx;
      ysum[r] = sy;
    }
    loss[r] = convert<T>(out);
    lse[r] = l;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    xent_bwd(const T* __restrict__ x, const void* __restrict__ labels, bool sparse, const acc_t<T>* __restrict__ lse,
             const acc_t<T>* __restrict__ ysum, const T* __restrict__ dl, T* __restrict__ dx, int64_t n, int64_t c) {
  using A = acc_t<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = div_fast(i, c), k = i - r * c;
    A yk, sy;
    if (sparse) {
      yk = static_cast<const int64_t*>(labels)[r] == k ? A(1) : A(0);
      sy = A(1);
    } else {
      yk = convert<A>(static_cast<const T*>(labels)[i]);
      sy = ysum[r];
    }
    dx[i] = convert<T>(convert<A>(dl[r]) * (d_exp(convert<A>(x[i]) - lse[r]) * sy - yk));
  }
}
}  // namespace

void softmax_xent_forward(DType dt, const void* x, const void* labels, bool sparse, void* loss, void* lse,
                          void* ysum, int64_t rows, int64_t classes, cudaStream_t s) {
  if (rows == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_cross_entropy", {
    using A = acc_t<scalar_t>;
    // Rows are independent: a grid of up to 2^31 - 1 blocks covers any realistic batch.
    const int threads = classes <= 64 ? 32 : (classes <= 512 ? 128 : kBlock);
    xent_fwd<scalar_t><<<static_cast<unsigned>(rows), threads, 0, s>>>(
        static_cast<const scalar_t*>(x), labels, sparse, static_cast<scalar_t*>(loss), static_cast<A*>(lse),
        static_cast<A*>(ysum), classes);
    AXON_CUDA_LAUNCH_CHECK("softmax_cross_entropy");
  });
}

void softmax_xent_backward(DType dt, const void* x, const void* labels, bool sparse, const void* lse,
                           const void* ysum, const void* dloss, void* dx, int64_t rows, int64_t classes,
                           cudaStream_t s) {
  const int64_t n = rows * classes;
  if (n == 0) return;
  AXON_DISPATCH_FLOAT(dt, "softmax_cross_entropy_backward", {
    using A = acc_t<scalar_t>;
    // A grid-stride loop: four waves of full occupancy on this device at most.
    xent_bwd<scalar_t><<<resident_blocks(n, kBlock), kBlock, 0, s>>>(
        static_cast<const scalar_t*>(x), labels, sparse, static_cast<const A*>(lse), static_cast<const A*>(ysum),
        static_cast<const scalar_t*>(dloss), static_cast<scalar_t*>(dx), n, classes);
    AXON_CUDA_LAUNCH_CHECK("softmax_cross_entropy_backward");
  });
}

}  // namespace axon::kernels::cuda
