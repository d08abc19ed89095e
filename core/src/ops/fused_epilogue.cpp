// The fused ops' shared epilogue dispatch (fused_epilogue.hpp).
#include "fused_epilogue.hpp"

#include <axon/nn_ops.hpp>

namespace axon::detail {

using kernels::DenseAct;

DenseAct kernel_act(FusedActivation a, const char* op) {
  switch (a) {
    case FusedActivation::none: return DenseAct::none;
    case FusedActivation::relu: return DenseAct::relu;
    case FusedActivation::tanh: return DenseAct::tanh;
    case FusedActivation::sigmoid: return DenseAct::sigmoid;
  }
  AXON_FAIL(op, "unknown activation {}", static_cast<int>(a));
}

Tensor activate(FusedActivation a, const Tensor& z, const char* op) {
  switch (a) {
    case FusedActivation::none: return z;
    case FusedActivation::relu: return relu(z);
    case FusedActivation::tanh: return tanh(z);
    case FusedActivation::sigmoid: return sigmoid(z);
  }
  AXON_FAIL(op, "unknown activation {}", static_cast<int>(a));
}

Tensor composite_backward(FusedActivation a, const Tensor& y, const Tensor& dy, const char* op) {
  switch (a) {
    case FusedActivation::none: return dy;
    case FusedActivation::relu: return where(gt(y, 0), dy, 0);
    case FusedActivation::tanh: return mul(dy, rsub(1, square(y)));
    case FusedActivation::sigmoid: return mul(dy, mul(y, rsub(1, y)));
  }
  AXON_FAIL(op, "unknown activation {}", static_cast<int>(a));
}

void epilogue(DenseAct act, const Tensor& y, const Tensor& b, int64_t rows, int64_t n) {
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  const void* bp = bc.defined() ? bc.data_ptr() : nullptr;
  AXON_ON_DEVICE(y.device(), kernels::cpu::dense_epilogue(act, y.dtype(), y.data_ptr(), bp, rows, n),
                 cuda::backend().dense_epilogue(act, y.dtype(), y.data_ptr(), bp, rows, n, stream_for(y.device())));
}

EpilogueGrads epilogue_backward(DenseAct act, const Tensor& y, const Tensor& dy, bool want_db, int64_t rows,
                                int64_t n) {
  EpilogueGrads r;
  if (want_db) r.db = empty({n}, dy.dtype(), dy.device());
  r.dz = act == DenseAct::none ? dy : empty(dy.shape(), dy.dtype(), dy.device());
  if (act == DenseAct::none && !want_db) return r;
  void* dz_ptr = act == DenseAct::none ? nullptr : r.dz.data_ptr();
  void* db_ptr = want_db ? r.db.data_ptr() : nullptr;
  AXON_ON_DEVICE(dy.device(),
                 kernels::cpu::dense_epilogue_backward(act, dy.dtype(), y.data_ptr(), dy.data_ptr(), dz_ptr, db_ptr,
                                                       rows, n),
                 cuda::backend().dense_epilogue_backward(act, dy.dtype(), y.data_ptr(), dy.data_ptr(), dz_ptr, db_ptr,
                                                         rows, n, stream_for(dy.device())));
  return r;
}

}  // namespace axon::detail
