// Row-major GEMM on cuBLASLt / cuBLAS. cuBLAS is column-major, so C = A B is computed as
// C^T = B^T A^T: a row-major matrix with leading dimension ld is its transpose in column-major.
#include <cublasLt.h>
#include <cublas_v2.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/gemm.hpp>

namespace axon::kernels::cuda {

namespace {

struct TypeInfo {
  cudaDataType_t data;
  cudaDataType_t scale;
  cublasComputeType_t compute;
};

TypeInfo type_info(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::f32:
      return {CUDA_R_32F, CUDA_R_32F, g.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
    case DType::f64: return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F};
    case DType::bf16: return {CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case DType::f16: return {CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    default: AXON_FAIL("matmul", "cuBLAS GEMM does not take {}", dtype_name(g.dtype));
  }
}

// alpha = 1, beta = 0 in the scale type.
struct Scales {
  double d1 = 1, d0 = 0;
  float f1 = 1, f0 = 0;
  const void* one(cudaDataType_t t) const { return t == CUDA_R_64F ? static_cast<const void*>(&d1) : &f1; }
  const void* zero(cudaDataType_t t) const { return t == CUDA_R_64F ? static_cast<const void*>(&d0) : &f0; }
};

uint32_t alignment(const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 1;
  while (al < 256 && a % (al * 2) == 0) al *= 2;
  return al;
}
// Alignment that every matrix of a strided batch has: batch i starts stride * itemsize bytes after
// batch i - 1, so an odd stride (e.g. f16 with m * k odd) misaligns every other matrix even when the
// base pointer is 256-byte aligned.
uint32_t batch_alignment(const void* p, int64_t stride, int64_t batch, DType dt) {
  uint32_t al = alignment(p);
  if (batch > 1 && stride != 0) {
    uint32_t as = alignment(reinterpret_cast<const void*>(static_cast<uintptr_t>(stride) * itemsize(dt)));
    if (as < al) al = as;
  }
  return al;
}

// ---- cuBLASLt: descriptors and the heuristic's algorithm, cached per problem.

struct LtKey {
  cublasLtContext* handle;
  int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch;
  uint32_t align_a, align_b, align_c;
  DType dtype;
  bool trans_a, trans_b, tf32;
  bool operator==(const LtKey& o) const { return std::memcmp(this, &o, sizeof(LtKey)) == 0; }
};
struct LtKeyHash {
  size_t operator()(const LtKey& k) const {
    // FNV-1a over the bytes (the key is zero-initialised, so padding is deterministic).
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(LtKey); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
  }
};

struct LtPlan {
  std::atomic<bool> usable{false};  // false: cuBLASLt found no algorithm, use the cuBLAS path
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A = our B, B = our A
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  ~LtPlan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

constexpr size_t kMaxPlans = 4096;

cublasLtMatrixLayout_t make_layout(cudaDataType_t t, uint64_t rows, uint64_t cols, int64_t ld, int64_t batch,
                                   int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  AXON_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, t, rows, cols, ld), "matmul");
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count));
    cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride));
  }
  return l;
}

std::shared_ptr<LtPlan> make_plan(const GemmArgs& g, const BlasHandles& h, const LtKey& key) {
  auto plan = std::make_shared<LtPlan>();
  TypeInfo ti = type_info(g);
  AXON_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->op, ti.compute, ti.scale), "matmul");
  cublasOperation_t ta = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;  // swapped operands
  cublasOperation_t tb = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "matmul");
  AXON_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "matmul");
  // Column-major shapes of the stored matrices: our B (k x n row-major) is n x k, or k x n when
  // transposed; our A likewise.
  plan->a = g.trans_b ? make_layout(ti.data, g.k, g.n, g.ldb, g.batch, g.stride_b)
                      : make_layout(ti.data, g.n, g.k, g.ldb, g.batch, g.stride_b);
  plan->b = g.trans_a ? make_layout(ti.data, g.m, g.k, g.lda, g.batch, g.stride_a)
                      : make_layout(ti.data, g.k, g.m, g.lda, g.batch, g.stride_a);
  plan->c = make_layout(ti.data, g.n, g.m, g.ldc, g.batch, g.stride_c);

  cublasLtMatmulPreference_t pref = nullptr;
  AXON_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref), "matmul");
  uint64_t ws = h.workspace_bytes;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &key.align_b,
                                       sizeof(uint32_t));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &key.align_a,
                                       sizeof(uint32_t));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &key.align_c,
                                       sizeof(uint32_t));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &key.align_c,
                                       sizeof(uint32_t));
  if (g.dtype == DType::bf16 || g.dtype == DType::f16) {
    // Keep split-K partial sums in f32: no reduction in the 16-bit output type.
    uint32_t mask = CUBLASLT_REDUCTION_SCHEME_NONE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask, sizeof(mask));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h.lt, plan->op, plan->a, plan->b, plan->c, plan->c, pref, 1,
                                                     &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS &&
      result.workspaceSize <= h.workspace_bytes) {
    plan->usable = true;
    plan->algo = result.algo;
    plan->workspace = result.workspaceSize;
  }
  return plan;
}

std::mutex g_plans_mu;
// Plans are shared: a caller keeps its plan alive even if the cache is cleared meanwhile.
std::unordered_map<LtKey, std::shared_ptr<LtPlan>, LtKeyHash> g_plans;

std::shared_ptr<LtPlan> plan_for(const GemmArgs& g, const BlasHandles& h) {
  LtKey key;
  std::memset(&key, 0, sizeof(key));
  key.handle = h.lt;
  key.m = g.m; key.n = g.n; key.k = g.k;
  key.lda = g.lda; key.ldb = g.ldb; key.ldc = g.ldc;
  key.stride_a = g.stride_a; key.stride_b = g.stride_b; key.stride_c = g.stride_c;
  key.batch = g.batch;
  key.align_a = batch_alignment(g.a, g.stride_a, g.batch, g.dtype);
  key.align_b = batch_alignment(g.b, g.stride_b, g.batch, g.dtype);
  key.align_c = batch_alignment(g.c, g.stride_c, g.batch, g.dtype);
  key.dtype = g.dtype;
  key.trans_a = g.trans_a; key.trans_b = g.trans_b;
  key.tf32 = g.dtype == DType::f32 && g.allow_tf32;
  std::lock_guard<std::mutex> lock(g_plans_mu);
  auto it = g_plans.find(key);
  if (it != g_plans.end()) return it->second;
  if (g_plans.size() >= kMaxPlans) g_plans.clear();  // a workload with ever-new shapes: start over
  auto plan = make_plan(g, h, key);
  return g_plans.emplace(key, std::move(plan)).first->second;
}

bool gemm_lt(const GemmArgs& g, const BlasHandles& h) {
  std::shared_ptr<LtPlan> plan = plan_for(g, h);
  if (!plan->usable) return false;
  Scales s;
  TypeInfo ti = type_info(g);
  cublasStatus_t st = cublasLtMatmul(h.lt, plan->op, s.one(ti.scale), g.b, plan->a, g.a, plan->b, s.zero(ti.scale),
                                     g.c, plan->c, g.c, plan->c, &plan->algo, h.workspace, plan->workspace, h.stream);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) {
    plan->usable = false;  // remember: this problem goes to cuBLAS from now on
    return false;
  }
  AXON_CUBLAS_CHECK(st, "matmul");
  return true;
}

// ---- cuBLAS: strided batched GEMM (handles stride-0 broadcast operands and any layout).
void gemm_classic(const GemmArgs& g, const BlasHandles& h) {
  TypeInfo ti = type_info(g);
  Scales s;
  cublasOperation_t ta = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  // The context binds its handle to its stream once. cublasSetStream also resets the handle's
  // workspace to cuBLAS's default pool (which allocates, and inside a CUDA graph capture grows with
  // every captured call): only a handle on another stream is moved, and given our workspace back.
  cudaStream_t bound = nullptr;
  AXON_CUBLAS_CHECK(cublasGetStream(h.blas, &bound), "matmul");
  if (bound != h.stream) {
    AXON_CUBLAS_CHECK(cublasSetStream(h.blas, h.stream), "matmul");
    AXON_CUBLAS_CHECK(cublasSetWorkspace(h.blas, h.workspace, h.workspace_bytes), "matmul");
  }
  AXON_CUBLAS_CHECK(cublasGemmStridedBatchedEx_64(h.blas, ta, tb, g.n, g.m, g.k, s.one(ti.scale), g.b, ti.data, g.ldb,
                                                  g.stride_b, g.a, ti.data, g.lda, g.stride_a, s.zero(ti.scale), g.c,
                                                  ti.data, g.ldc, g.stride_c, g.batch, ti.compute, CUBLAS_GEMM_DEFAULT),
                    "matmul");
}

}  // namespace

void gemm(const GemmArgs& g, const BlasHandles& h) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  // cuBLASLt takes a 32-bit batch count; broadcast (stride-0) batches go to cuBLAS, which documents them.
  bool lt_ok = h.lt != nullptr && g.k > 0 && g.batch <= INT32_MAX &&
               (g.batch == 1 || (g.stride_a != 0 && g.stride_b != 0));
  if (lt_ok && gemm_lt(g, h)) return;
  gemm_classic(g, h);
}

}  // namespace axon::kernels::cuda
