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
// y = act(x w + b): x [m, k], w [k, n], y [m, n] row-major and contiguous, b [n] or null. f32 runs
// one of two paths: gemm() then dense_epilogue, or one pass of GEMM tiles with the bias and the
// activation applied to each tile while it is in cache (gemm_dense.cpp). automatic times the two on
// each (m, n, k, act, bias) on its first use and keeps the faster (up to 4 rows and for the largest
// products, the first without timing); the initial setting comes from the environment variable
// AXON_CPU_DENSE (auto, fused, gemm), AXON_CPU_DENSE_VERBOSE=1 prints the timings. f64: the first.
void dense_forward(DenseAct act, DType dt, const void* x, const void* w, const void* b, void* y, int64_t m,
                   int64_t k, int64_t n);
enum class DensePath : uint8_t { automatic, gemm, fused };
void set_dense_path(DensePath p);
DensePath dense_path();
// f32 dense_forward calls each path ran since the start (tests' proof of which one ran).
struct DenseRuns {
  int64_t fused = 0, gemm = 0;
};
DenseRuns dense_runs();
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
