// Entry points of the CUDA reductions: path planning and dispatch by op family.
#include "reduce_impl.cuh"

namespace axon::kernels::cuda {

namespace reduce_impl {

int sm_count() {
  static int cached[64] = {};
  int dev = 0;
  AXON_CUDA_CHECK(cudaGetDevice(&dev), "reduce");
  if (dev < 0 || dev >= 64) dev = 0;
  if (!cached[dev])
    AXON_CUDA_CHECK(cudaDeviceGetAttribute(&cached[dev], cudaDevAttrMultiProcessorCount, dev), "reduce");
  return cached[dev];
}

Plan plan(int64_t outer, int64_t n, int64_t inner, int blocks_per_sm) {
  Plan p;
  if (inner > 1) {
    p.path = Plan::columns;
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
  auto p = reduce_impl::plan(outer, n, inner);
  return p.path == reduce_impl::Plan::split_rows ? size_t(outer) * p.parts * reduce_impl::kPartialBytes : 0;
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
