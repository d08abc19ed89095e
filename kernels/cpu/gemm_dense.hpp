#pragma once
// A dense layer's forward in one pass (not installed): y = act(x w + b) for f32, row-major, with the
// bias and the activation applied to each tile of y while it is still in registers / L1, instead of
// a GEMM over all of y and then a second pass (dense.cpp's epilogue) reading it back. The GEMM reads
// w in place (no packed copy), so a weight changed in place is used on the next call, as everywhere
// else: 6 x 16 tiles (12 accumulators, AVX2's 16 registers) walk a 6-row block of x (kept in L1)
// across column strips of w (streamed from L2, where a 256 x 256 layer's 256 KiB fits).
#include <cstdint>

#include <axon/kernels/dense.hpp>

namespace axon::kernels::cpu {

// Rows [r0, r1) and columns [c0, c1) of y (row stride n) from x (row stride k), w (k x n, row stride
// n) and b (n floats or null), on the calling thread. Each element is x's row times w's column summed
// in order from p = 0 (starting from the bias), whatever block it falls in: any split of y between
// threads gives the same bits.
void dense_block(DenseAct act, int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t k, int64_t n, const float* x,
                 const float* w, const float* b, float* y);

}  // namespace axon::kernels::cpu
