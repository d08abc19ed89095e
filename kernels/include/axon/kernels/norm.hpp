#pragma once
// Fused row normalization over the last axis of a contiguous [rows, n] array (floating dtypes):
//   layer norm: y = (x - mean) * rstd * w + b,  rstd = 1 / sqrt(var + eps) (biased variance)
//   rms norm:   y = x * rstd * w,               rstd = 1 / sqrt(mean(x^2) + eps)
// w and b (length n, x's dtype) may be null (1 and 0). mean and rstd (length rows) are written in the
// statistics dtype: f64 for f64 inputs, f32 otherwise (16-bit inputs compute in float).
// Backward: dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh)) with xh the normalized row and
// dxh = dy * w (the mean(dxh) term is absent for rms norm). The parameter gradients are written as
// per-chunk partial sums `partial` of shape [2, chunks, n] in the statistics dtype: [0] sum(dy * xh),
// [1] sum(dy); the caller sums over chunks. norm_param_chunks says how many chunks a device uses.
#include <axon/kernels/common.hpp>

namespace axon::kernels {
namespace cpu {
void norm_forward(DType dt, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                  int64_t rows, int64_t n, double eps, bool rms);
void norm_backward(DType dt, const void* x, const void* w, const void* mean, const void* rstd, const void* dy,
                   void* dx, int64_t rows, int64_t n, bool rms);
void norm_param_partials(DType dt, const void* x, const void* mean, const void* rstd, const void* dy,
                         void* partial, int64_t rows, int64_t n, int64_t chunks, bool rms);
}  // namespace cpu
namespace cuda {
void norm_forward(DType dt, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                  int64_t rows, int64_t n, double eps, bool rms, cudaStream_t s);
void norm_backward(DType dt, const void* x, const void* w, const void* mean, const void* rstd, const void* dy,
                   void* dx, int64_t rows, int64_t n, bool rms, cudaStream_t s);
void norm_param_partials(DType dt, const void* x, const void* mean, const void* rstd, const void* dy,
                         void* partial, int64_t rows, int64_t n, int64_t chunks, bool rms, cudaStream_t s);
// Enough chunks of rows to fill the GPU with [chunks, n / 256] blocks.
int64_t norm_param_chunks(int64_t rows, int64_t n);
}  // namespace cuda
}  // namespace axon::kernels
