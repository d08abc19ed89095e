#pragma once
// General matrix products, row-major: C[b] = op(A[b]) * op(B[b]) for b < batch, where op(A) is m x k
// and op(B) is k x n. A transposed operand is a column-major matrix (stored as the transpose,
// row-major, with leading dimension ld): views like x.t() need no copy. Batches are uniformly
// strided (a stride of 0 broadcasts an operand). C is written (beta = 0), never read.
// CPU: OpenBLAS for f32/f64 (16-bit floats are converted by the caller), single-threaded per call,
// the batch or the rows / columns of C split over the CPU kernels' threads. CUDA: cuBLASLt with a
// heuristic-chosen algorithm cached per problem, falling back to cublasGemmStridedBatchedEx.
#include <cstddef>

#include <axon/kernels/common.hpp>

struct cublasContext;
struct cublasLtContext;

namespace axon::kernels {

struct GemmArgs {
  DType dtype = DType::f32;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool trans_a = false, trans_b = false;
  const void* a = nullptr;
  int64_t lda = 0, stride_a = 0;  // in elements
  const void* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  bool allow_tf32 = false;  // f32 on CUDA: TF32 tensor cores instead of exact f32
};

namespace cpu {
void gemm(const GemmArgs& g);  // f32 and f64
}  // namespace cpu

namespace cuda {
// What the CUDA GEMM needs from the device context.
struct BlasHandles {
  cublasContext* blas = nullptr;
  cublasLtContext* lt = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
  cudaStream_t stream = nullptr;
};
void gemm(const GemmArgs& g, const BlasHandles& h);  // f32, f64, bf16, f16 (f32 accumulation)
}  // namespace cuda

}  // namespace axon::kernels
