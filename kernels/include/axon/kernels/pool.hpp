#pragma once
// Direct max pooling of a contiguous channels-last [N, D, H, W, C] array (1-D and 2-D pooling use
// size-1 leading spatial axes) into [N, OD, OH, OW, C]: windows with strides, dilations and
// zero-based lower padding (cells outside the input never win). `index` (i64, the output's shape)
// receives the flat spatial index d * H * W + h * W + w of each maximum, or -1 when a window covers
// no input cell (its value is -inf). NaN wins (propagates); ties keep the first cell.
#include <axon/kernels/common.hpp>

namespace axon::kernels {

struct PoolGeometry {
  int64_t n = 1, c = 1;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t window[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pad_lo[3] = {0, 0, 0};
};

// The backward: dx[n, sp, c] = sum of dy[n, o, c] over the outputs o with index[n, o, c] == sp
// (deterministic: each input element gathers from the windows that can contain it; no atomics).
namespace cpu {
// index may be null (nothing will take the gradient): the max alone, without the argmax.
void max_pool_forward(DType dt, const void* x, void* y, int64_t* index, const PoolGeometry& g);
void max_pool_backward(DType dt, const void* dy, const int64_t* index, void* dx, const PoolGeometry& g);
// The same with a compact argmax for the training path: arg (u8, the output's shape) receives the
// winner's position in its window, (i * window[1] + j) * window[2] + k, or kNoArg when the window
// covers no input cell: an eighth of the index's memory traffic. Windows of at most 255 cells.
constexpr uint8_t kNoArg = 255;
constexpr int64_t kMaxArgWindow = 255;
void max_pool_forward_arg(DType dt, const void* x, void* y, uint8_t* arg, const PoolGeometry& g);
void max_pool_backward_arg(DType dt, const void* dy, const uint8_t* arg, void* dx, const PoolGeometry& g);
}  // namespace cpu
namespace cuda {
void max_pool_forward(DType dt, const void* x, void* y, int64_t* index, const PoolGeometry& g,
                      cudaStream_t s);
void max_pool_backward(DType dt, const void* dy, const int64_t* index, void* dx, const PoolGeometry& g,
                       cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
