// Index validation on the device, deferred: no read-back here. A failing check records itself in a
// RangeFailure that the host reads after its next synchronisation (core/src/cuda/deferred_checks.cpp).
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::kernels::cuda {

namespace {
// The first check to find a bad index claims the record (owner 0 -> its seq); only the owner's
// threads lower pos, so pos ends as that check's lowest bad position whatever the thread order.
template <class I>
__global__ void check_range_kernel(const I* __restrict__ idx, Indexer ii, int64_t n, int64_t lo, int64_t size,
                                   unsigned long long seq, RangeFailure* rec) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v >= lo && v < size) continue;
    const unsigned long long owner = atomicCAS(&rec->owner, 0ull, seq);
    if (owner != 0ull && owner != seq) return;  // an earlier check failed first: it is the one reported
    atomicMin(&rec->pos, static_cast<unsigned long long>(i));
  }
}

// Runs after check_range_kernel on the same stream, so its writes are complete and visible.
template <class I>
__global__ void record_failure_kernel(const I* __restrict__ idx, Indexer ii, RangeCheck c, RangeFailure* rec) {
  if (rec->owner != c.seq) return;
  rec->value = static_cast<long long>(idx[ii.offset(static_cast<int64_t>(rec->pos))]);
  rec->a = c.a;
  rec->b = c.b;
  rec->op = c.op;
  rec->kind = c.kind;
}

__global__ void reset_kernel(RangeFailure* rec) { *rec = RangeFailure{}; }

template <class I>
void launch_check(const I* idx, const Indexer& ii, int64_t n, int64_t lo, int64_t size, const RangeCheck& c,
                  RangeFailure* rec, cudaStream_t s) {
  constexpr int kBlock = 256;
  check_range_kernel<<<grid_for(n, kBlock), kBlock, 0, s>>>(idx, ii, n, lo, size, c.seq, rec);
  AXON_CUDA_LAUNCH_CHECK("index");
  record_failure_kernel<<<1, 1, 0, s>>>(idx, ii, c, rec);
  AXON_CUDA_LAUNCH_CHECK("index");
}
}  // namespace

void check_range(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t lo, int64_t size,
                 const RangeCheck& c, RangeFailure* rec, cudaStream_t s) {
  if (n == 0) return;
  if (idx_dt == DType::i32)
    launch_check(static_cast<const int32_t*>(idx), ii, n, lo, size, c, rec, s);
  else if (idx_dt == DType::i64)
    launch_check(static_cast<const int64_t*>(idx), ii, n, lo, size, c, rec, s);
  else
    ::axon::detail::unsupported_dtype("index", idx_dt);
}

void reset_range_failure(RangeFailure* rec, cudaStream_t s) {
  reset_kernel<<<1, 1, 0, s>>>(rec);
  AXON_CUDA_LAUNCH_CHECK("index");
}

}  // namespace axon::kernels::cuda
