#pragma once
// Softmax cross-entropy from logits, fused: over `rows` contiguous rows of `classes` logits,
//   loss[r] = lse[r] * S[r] - sum_c y[r][c] * x[r][c],   lse = log sum_c e^x (max-shifted)
// with dense labels y (same dtype and shape as x; S = sum_c y, saved in `ysum`) or sparse labels
// (i64 class ids, one per row, already range-checked; loss = lse - x[label], S = 1).
// The forward saves lse (and ysum) in the accumulation type (f32 for f32/bf16/f16, f64 for f64)
// so that the backward is one elementwise pass:
//   dx[r][c] = dloss[r] * (exp(x - lse) * S - y)
#include <axon/kernels/common.hpp>

namespace axon::kernels {
namespace cpu {
void softmax_xent_forward(DType dt, const void* x, const void* labels, bool sparse, void* loss, void* lse,
                          void* ysum, int64_t rows, int64_t classes);
void softmax_xent_backward(DType dt, const void* x, const void* labels, bool sparse, const void* lse,
                           const void* ysum, const void* dloss, void* dx, int64_t rows, int64_t classes);
}  // namespace cpu
namespace cuda {
void softmax_xent_forward(DType dt, const void* x, const void* labels, bool sparse, void* loss, void* lse,
                          void* ysum, int64_t rows, int64_t classes, cudaStream_t s);
void softmax_xent_backward(DType dt, const void* x, const void* labels, bool sparse, const void* lse,
                           const void* ysum, const void* dloss, void* dx, int64_t rows, int64_t classes,
                           cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
