// CUDA binary: mul and div.
#include "elementwise_binary.cuh"

namespace axon::kernels::cuda::ew {

bool binary_mul_div(BinaryOp op, const BinaryArgs& a) {
  switch (op) {
    case BinaryOp::mul:
      dispatch_binary<BinaryOp::mul, true, true>(a);
      return true;
    case BinaryOp::div:
      dispatch_binary<BinaryOp::div, false, false>(a);
      return true;
    default:
      return false;
  }
}

}  // namespace axon::kernels::cuda::ew
