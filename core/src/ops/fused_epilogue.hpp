#pragma once
// What fused_dense and fused_conv share: the output [rows, n] (a GEMM's, or a channels-last conv's
// with n its channels) gets bias + activation in one in-place pass, and the backward's first pass
// forms dz = dy * act'(y) and the bias gradient together; the composite ops where those cannot run.
#include <axon/fused_activation.hpp>
#include <axon/kernels/dense.hpp>

#include "internal.hpp"

namespace axon::detail {

kernels::DenseAct kernel_act(FusedActivation a, const char* op);
// act(z) with the unfused ops (16-bit dtypes, the composite path).
Tensor activate(FusedActivation a, const Tensor& z, const char* op);
// dy * act'(z) from y = act(z), in differentiable ops (the backward recorded for grad of grad).
Tensor composite_backward(FusedActivation a, const Tensor& y, const Tensor& dy, const char* op);
// y[rows, n] (contiguous) = act(y + b) in place on y's device; b [n] or undefined.
void epilogue(kernels::DenseAct act, const Tensor& y, const Tensor& b, int64_t rows, int64_t n);
// From y[rows, n] and dy (both contiguous, no tape): dz = dy * act'(y) (dy itself for none) and, when
// want_db, db[n] = dz's column sums (undefined otherwise).
struct EpilogueGrads {
  Tensor dz, db;
};
EpilogueGrads epilogue_backward(kernels::DenseAct act, const Tensor& y, const Tensor& dy, bool want_db, int64_t rows,
                                int64_t n);

}  // namespace axon::detail
