#pragma once
// Helpers shared by the elementwise front-ends (unary.cpp, binary.cpp, compare.cpp, ternary.cpp).
#include <axon/kernels/copy.hpp>
#include <axon/kernels/elementwise.hpp>

#include "internal.hpp"

namespace axon::detail {

// x converted to dt without a tape entry: elementwise ops record against their original inputs
// (the tape casts each gradient back to its input's dtype), so the conversion needs no entry.
inline Tensor to_dtype_untracked(const Tensor& x, DType dt) {
  if (x.dtype() == dt) return x;
  Tensor y(x.shape(), dt, x.device());
  if (x.numel() == 0) return y;
  kernels::Indexer ix;
  if (x.is_contiguous()) {
    ix.ndim = 1;
    ix.sizes[0] = x.numel();
    ix.strides[0] = 1;
  } else {
    ix = make_indexer(x);
  }
  AXON_ON_DEVICE(x.device(),
                 kernels::cpu::copy_cast(x.dtype(), x.data_ptr(), ix, dt, y.data_ptr(), x.numel()),
                 cuda::backend().copy_cast(x.dtype(), x.data_ptr(), ix, dt, y.data_ptr(), x.numel(),
                                           stream_for(x.device()), nullptr));
  return y;
}

// Indexers of K operands read over `out` (broadcasting). Skips the general axis merging when every
// operand is contiguous with exactly the output's shape, the common case, to keep small ops cheap.
template <size_t K>
void ew_indexers(const Shape& out, const Tensor* const (&ops)[K], kernels::Indexer (&res)[K]) {
  bool linear = true;
  for (size_t k = 0; k < K && linear; ++k) linear = ops[k]->shape() == out && ops[k]->is_contiguous();
  if (linear) {
    int64_t n = numel(out);
    for (size_t k = 0; k < K; ++k) {
      res[k].ndim = 1;
      res[k].sizes[0] = n;
      res[k].strides[0] = 1;
    }
    return;
  }
  std::vector<kernels::Indexer> ix;
  if constexpr (K == 1)
    ix = make_indexers(out, {ops[0]});
  else if constexpr (K == 2)
    ix = make_indexers(out, {ops[0], ops[1]});
  else
    ix = make_indexers(out, {ops[0], ops[1], ops[2]});
  for (size_t k = 0; k < K; ++k) res[k] = ix[k];
}

// The two operands of a binary op converted to `dt`, their broadcast shape and their indexers:
// the common preparation of arithmetic, comparison and logical ops.
struct BinaryOperands {
  Shape shape;
  Tensor a, b;
  kernels::Indexer ix[2];
};
inline BinaryOperands binary_operands(const char* name, const Tensor& a0, const Tensor& b0, DType dt) {
  BinaryOperands r;
  r.shape = a0.shape() == b0.shape() ? a0.shape() : broadcast_shapes(a0.shape(), b0.shape(), name);
  r.a = to_dtype_untracked(a0, dt);
  r.b = to_dtype_untracked(b0, dt);
  const Tensor* ops[2] = {&r.a, &r.b};
  ew_indexers(r.shape, ops, r.ix);
  return r;
}

// The dtype an integer operand is promoted to by ops that need floats (div, exp, ...).
inline DType float_or_f32(DType dt) { return is_floating(dt) ? dt : DType::f32; }

}  // namespace axon::detail
