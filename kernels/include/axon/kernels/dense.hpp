#pragma once
// The fused dense epilogue: after the GEMM y = x @ w (m x n, row-major, contiguous), the bias add and
// the activation in one pass over y instead of an add and an activation op (two passes, two
// temporaries); and the backward's matching pass, which forms the pre-activation gradient
// dz = dy * act'(y) and the bias gradient (its column sums) together. f32 and f64. The derivatives
// are taken from the output y, so the forward keeps nothing else.
#include <axon/kernels/common.hpp>
#include <axon/kernels/elementwise_math.hpp>

namespace axon::kernels {

enum class DenseAct : uint8_t { none, relu, tanh, sigmoid };

namespace dense_detail {
// act(z) with ew::Unary's formulas (the unfused ops'), and act'(z) written in terms of y = act(z).
template <DenseAct Act, class A>
AXON_HD A forward(A z) {
  if constexpr (Act == DenseAct::relu)
    return ew::Unary<UnaryOp::relu, A>{}(z);
  else if constexpr (Act == DenseAct::tanh)
    return ew::Unary<UnaryOp::tanh, A>{}(z);
  else if constexpr (Act == DenseAct::sigmoid)
    return ew::Unary<UnaryOp::sigmoid, A>{}(z);
  else
    return z;
}
template <DenseAct Act, class A>
AXON_HD A backward(A y, A dy) {
  if constexpr (Act == DenseAct::relu)
    return y > A(0) ? dy : A(0);  // where(x > 0, dy, 0), and y > 0 exactly where x > 0
  else if constexpr (Act == DenseAct::tanh)
    return dy * (A(1) - y * y);
  else if constexpr (Act == DenseAct::sigmoid)
    return dy * (y * (A(1) - y));
  else
    return dy;
}
template <class F>
void with_act(DenseAct act, F&& f) {
  switch (act) {
    case DenseAct::none: f.template operator()<DenseAct::none>(); break;
    case DenseAct::relu: f.template operator()<DenseAct::relu>(); break;
    case DenseAct::tanh: f.template operator()<DenseAct::tanh>(); break;
    case DenseAct::sigmoid: f.template operator()<DenseAct::sigmoid>(); break;
  }
}
}  // namespace dense_detail

namespace cpu {
// y[i, j] = act(y[i, j] + b[j]) in place; b may be null (no bias).
void dense_epilogue(DenseAct act, DType dt, void* y, const void* b, int64_t m, int64_t n);
// dz[i, j] = dy[i, j] * act'(y[i, j]) and db[j] = sum_i dz[i, j]. dz null: not written (act none, where
// dz is dy); db null: no bias gradient.
void dense_epilogue_backward(DenseAct act, DType dt, const void* y, const void* dy, void* dz, void* db, int64_t m,
                             int64_t n);
}  // namespace cpu
namespace cuda {
void dense_epilogue(DenseAct act, DType dt, void* y, const void* b, int64_t m, int64_t n, cudaStream_t s);
void dense_epilogue_backward(DenseAct act, DType dt, const void* y, const void* dy, void* dz, void* db, int64_t m,
                             int64_t n, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
