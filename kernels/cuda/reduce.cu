// Entry points of the CUDA reductions: path planning and dispatch by op family.
#include "reduce_impl.cuh"

namespace axon::kernels::cuda {

namespace reduce_impl {

Plan plan(int64_t outer, int64_t n, int64_t inner, int blocks_per_sm) {
  Plan p;
  if (inner > 1) {
    // Few columns and a long axis (a mean over the batch of [B, C], batch-norm statistics of NHWC
    // activations): split the axis until about eight 512-thread blocks per SM run, each taking at
    // least 256 rows (16 per thread) so the second pass stays small.
    p.path = Plan::columns;
    constexpr int64_t kMinRows = 256;
    const int64_t blocks = (inner + 31) / 32 * (outer < 65535 ? outer : 65535);
    const int64_t want = int64_t(sm_count()) * 8;
    if (blocks < want && n >= 2 * kMinRows) {
      int64_t parts = (want + blocks - 1) / blocks;
      if (parts > n / kMinRows) parts = n / kMinRows;
      if (parts >= 2) {
        p.chunk = (n + parts - 1) / parts;
        p.parts = int((n + p.chunk - 1) / p.chunk);
      }
    }
    return p;
  }
  // Few long rows: split each over enough blocks to fill the GPU once (up to 8 blocks of 256
  // threads per SM), each block taking at least 8192 elements so the second pass stays negligible.
  constexpr int64_t kMinChunk = 8192;
  if (outer <= 65535 && n >= 2 * kMinChunk) {
    int64_t want = int64_t(sm_count()) * blocks_per_sm;
    int64_t parts = (want + outer - 1) / outer;
    int64_t by_size = n / kMinChunk;
    if (parts > by_size) parts = by_size;
    if (parts > 4096) parts = 4096;
    if (parts >= 2) {
      p.path = Plan::split_rows;
      p.parts = int(parts);
      p.chunk = ((n + parts - 1) / parts + 63) / 64 * 64;  // a multiple of every vector width
      p.parts = int((n + p.chunk - 1) / p.chunk);
      return p;
    }
  }
  p.path = n <= kWarpRowsMax ? Plan::warp_rows : Plan::block_rows;
  return p;
}

}  // namespace reduce_impl

size_t reduce_workspace_bytes(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0) return 0;
  using reduce_impl::Plan;
  auto p = reduce_impl::plan(outer, n, inner);
  if (p.path == Plan::split_rows) return size_t(outer) * p.parts * reduce_impl::kPartialBytes;
  if (p.path == Plan::columns && p.parts > 1) return size_t(outer) * inner * p.parts * reduce_impl::kPartialBytes;
  return 0;
}

void reduce(ReduceOp op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
            double scale, void* ws, size_t ws_bytes, cudaStream_t s) {
  if (outer * inner == 0) return;
  using namespace reduce_impl;
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::prod:
      reduce_sum_prod(op, dt, x, y, outer, n, inner, scale, ws, ws_bytes, s);
      break;
    case ReduceOp::max:
    case ReduceOp::min:
      reduce_extreme(op, dt, x, y, outer, n, inner, ws, ws_bytes, s);
      break;
    case ReduceOp::all:
    case ReduceOp::any:
      reduce_logical(op, dt, x, y, outer, n, inner, ws, ws_bytes, s);
      break;
    case ReduceOp::argmax:
    case ReduceOp::argmin:
      reduce_arg(op, dt, x, y, outer, n, inner, ws, ws_bytes, s);
      break;
  }
}

}  // namespace axon::kernels::cuda
