// CUDA binary entry points, and add / sub.
#include "elementwise_binary.cuh"

namespace axon::kernels::cuda {

namespace ew {
bool binary_add_sub(BinaryOp op, const BinaryArgs& a) {
  switch (op) {
    case BinaryOp::add:
      dispatch_binary<BinaryOp::add, true, true>(a);
      return true;
    case BinaryOp::sub:
      dispatch_binary<BinaryOp::sub, true, false>(a);
      return true;
    default:
      return false;
  }
}
}  // namespace ew

namespace {
void route(BinaryOp op, const ew::BinaryArgs& a) {
  if (a.n == 0) return;
  if (ew::binary_add_sub(op, a) || ew::binary_mul_div(op, a) || ew::binary_pow_minmax(op, a)) return;
  detail::unsupported_dtype("binary", a.dt);
}
}  // namespace

void binary(BinaryOp op, DType dt, const void* a, const Indexer& ia, const void* b, const Indexer& ib,
            void* y, int64_t n, cudaStream_t s) {
  route(op, ew::BinaryArgs{dt, a, &ia, b, &ib, 0.0, false, y, n, s});
}

void binary_scalar(BinaryOp op, DType dt, const void* a, const Indexer& ia, double sc, bool scalar_first,
                   void* y, int64_t n, cudaStream_t s) {
  route(op, ew::BinaryArgs{dt, a, &ia, nullptr, &ia, sc, scalar_first, y, n, s});
}

}  // namespace axon::kernels::cuda
