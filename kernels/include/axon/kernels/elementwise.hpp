#pragma once
// Elementwise kernels: unary maps, binary ops (tensor-tensor and tensor-scalar), comparisons,
// logical ops, where and clamp. Operands are strided arrays read over the output's shape through
// Indexers that share their sizes (detail::make_indexers builds them jointly); the output is
// contiguous. Inputs arrive already converted to the compute dtype `dt`; comparison and logical
// outputs are bool.
#include <axon/kernels/common.hpp>

namespace axon::kernels {

enum class UnaryOp : uint8_t {
  neg,
  abs,
  sign,
  exp,
  expm1,
  log,
  log1p,
  sqrt,
  rsqrt,
  sin,
  cos,
  tanh,
  sigmoid,
  erf,
  erfinv,
  floor,
  ceil,
  round,
  reciprocal,
  square,
  relu,
  gelu,
  gelu_tanh,
  pow,    // x ^ p0
  clamp,  // clamp to [p0, p1]; has_lo / has_hi say which bounds apply
};
// Extra operands of the parameterised unary ops.
struct UnaryParams {
  double p0 = 0, p1 = 0;
  bool has_lo = false, has_hi = false;
};

enum class BinaryOp : uint8_t { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp : uint8_t { eq, ne, lt, le, gt, ge };
enum class LogicalOp : uint8_t { land, lor, lxor };

// Which dtypes each family supports (front-ends cast or reject before calling):
//  - unary: floating dtypes for everything; i32/i64/u8 for neg, abs, sign, square, relu, clamp.
//  - binary: floating dtypes; i32/i64/u8 for add, sub, mul, maximum, minimum; bool for add (or),
//    mul (and), maximum (or), minimum (and).
//  - compare, logical, where: every dtype.

namespace cpu {
void unary(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n,
           const UnaryParams& p = {});
void binary(BinaryOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
            void* y, int64_t n);
// y = a op s, or s op a when `scalar_first` (rsub, rdiv).
void binary_scalar(BinaryOp op, DType dt, const void* a, const Indexer& ia, double s, bool scalar_first,
                   void* y, int64_t n);
void compare(CompareOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n);
void compare_scalar(CompareOp op, DType dt, const void* a, const Indexer& ia, double s, bool* y, int64_t n);
void logical(LogicalOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n);
// y = c ? a : b; b == nullptr means the constant `b_scalar`.
void where(DType dt, const bool* c, const Indexer& ic, const void* a, const Indexer& ia, const void* b,
           const Indexer& ib, double b_scalar, void* y, int64_t n);
// y = min(max(x, lo), hi) with tensor bounds; a null bound is absent.
void clamp(DType dt, const void* x, const Indexer& ix, const void* lo, const Indexer& ilo, const void* hi,
           const Indexer& ihi, void* y, int64_t n);
}  // namespace cpu

namespace cuda {
void unary(UnaryOp op, DType dt, const void* x, const Indexer& ix, void* y, int64_t n, cudaStream_t s,
           const UnaryParams& p = {});
void binary(BinaryOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
            void* y, int64_t n, cudaStream_t s);
void binary_scalar(BinaryOp op, DType dt, const void* a, const Indexer& ia, double sc, bool scalar_first,
                   void* y, int64_t n, cudaStream_t s);
void compare(CompareOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n, cudaStream_t s);
void compare_scalar(CompareOp op, DType dt, const void* a, const Indexer& ia, double sc, bool* y, int64_t n,
                    cudaStream_t s);
void logical(LogicalOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
             bool* y, int64_t n, cudaStream_t s);
void where(DType dt, const bool* c, const Indexer& ic, const void* a, const Indexer& ia, const void* b,
           const Indexer& ib, double b_scalar, void* y, int64_t n, cudaStream_t s);
void clamp(DType dt, const void* x, const Indexer& ix, const void* lo, const Indexer& ilo, const void* hi,
           const Indexer& ihi, void* y, int64_t n, cudaStream_t s);
}  // namespace cuda

}  // namespace axon::kernels
