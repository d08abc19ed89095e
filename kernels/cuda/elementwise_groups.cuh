#pragma once
// The CUDA elementwise ops are split over several translation units (so they compile in
// parallel); the public entry points in elementwise_unary.cu and elementwise_binary.cu route each
// op to its group here.
#include <axon/kernels/elementwise.hpp>

namespace axon::kernels::cuda::ew {

// Each returns false when the op is not in its group.
bool unary_exp_log(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s,
                   const UnaryParams& p);
bool unary_trig(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s);
bool unary_gelu_round(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n,
                      cudaStream_t s);

// Tensor-tensor (b != nullptr) or tensor-scalar (b == nullptr: the constant sc, first when
// scalar_first) binary ops of a group.
struct BinaryArgs {
  DType dt;
  const void* a;
  const Indexer* ia;
  const void* b;
  const Indexer* ib;
  double sc;
  bool scalar_first;
  void* y;
  int64_t n;
  cudaStream_t s;
};
bool binary_add_sub(BinaryOp op, const BinaryArgs& args);
bool binary_mul_div(BinaryOp op, const BinaryArgs& args);
bool binary_pow_minmax(BinaryOp op, const BinaryArgs& args);

}  // namespace axon::kernels::cuda::ew
