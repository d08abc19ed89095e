// CUDA binary: pow, maximum, minimum.
#include "elementwise_binary.cuh"

namespace axon::kernels::cuda::ew {

bool binary_pow_minmax(BinaryOp op, const BinaryArgs& a) {
  switch (op) {
    case BinaryOp::pow:
      dispatch_binary<BinaryOp::pow, false, false>(a);
      return true;
    case BinaryOp::maximum:
      dispatch_binary<BinaryOp::maximum, true, true>(a);
      return true;
    case BinaryOp::minimum:
      dispatch_binary<BinaryOp::minimum, true, true>(a);
      return true;
    default:
      return false;
  }
}

}  // namespace axon::kernels::cuda::ew
