#pragma once
// A network's first conv on one input channel with the 2x2 max pool after it, in one pass, for
// predict()'s plans (not installed): each pooled cell's four conv outputs are made in registers and
// only their maximum is stored. W2's first conv (1 -> 32 channels, 3x3 'same') has 9 multiply-adds
// per output value, too few for oneDNN's kernel to run at speed (~40 GFLOP/s here), and its 28x28x32
// output was written out only for the pool to read it back (6.4 MB at batch 64).
#include <cstdint>

#include <axon/kernels/conv.hpp>
#include <axon/kernels/pool.hpp>

namespace axon::kernels::cpu {

// Whether conv_pool_forward runs conv `c` (its output channels-last, as conv_infer.hpp's) followed
// by pool `p`: one input channel, 2-D, stride 1, no dilation, output channels a multiple of 8, and a
// 2x2 window at stride 2 without padding over the conv's whole output.
bool conv_pool_fits(const ConvGeometry& c, const PoolGeometry& p);

// y[n, py, px, o] = max over the window of (conv(x, w)[n, ...] + b[o]), then relu when asked, for
// items [n0, n0 + items) and pooled rows [r0, r1) of each (pooled cells NaN where a window holds a
// NaN, as the pool's). x [batch, H, W] (one channel), w HWIO [kh, kw, 1, O], b [O] or null; y
// [batch, PH, PW, O]. On the calling thread.
void conv_pool_forward(const ConvGeometry& c, const PoolGeometry& p, bool relu, const float* x, const float* w,
                       const float* b, float* y, int64_t n0, int64_t items, int64_t r0, int64_t r1);

// conv_pool_forward over items [n0, n0 + items), their pooled rows split across the kernels' pool
// where the work repays it (infer_parts.hpp).
void conv_pool_run(const ConvGeometry& c, const PoolGeometry& p, bool relu, const float* x, const float* w,
                   const float* b, float* y, int64_t n0, int64_t items);

}  // namespace axon::kernels::cpu
