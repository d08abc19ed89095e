#pragma once
// General matrix products, row-major: C[b] = op(A[b]) * op(B[b]) for b < batch, where op(A) is m x k
// and op(B) is k x n. A transposed operand is a column-major matrix (stored as the transpose,
// row-major, with leading dimension ld): views like x.t() need no copy. Batches are uniformly
// strided (a stride of 0 broadcasts an operand). C is written (beta = 0), never read.
// CPU: OpenBLAS for f32/f64, or oneDNN for f32 where faster (16-bit floats are converted by the
// caller), single-threaded per call,
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

// Which library runs the f32 CPU GEMMs (f64 always runs on OpenBLAS). automatic: oneDNN's sgemm
// (builds with oneDNN) and OpenBLAS are timed on a shape's first use and the faster is kept. The
// initial setting comes from the environment variable AXON_CPU_GEMM (auto, openblas, onednn).
enum class GemmPath { automatic, openblas, onednn };
void set_gemm_path(GemmPath p);
GemmPath gemm_path();
bool gemm_has_onednn();
// Single-threaded GEMM calls each library ran since the start (tests' proof of which one ran).
struct GemmRuns {
  int64_t openblas = 0, onednn = 0;
};
GemmRuns gemm_runs();
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
