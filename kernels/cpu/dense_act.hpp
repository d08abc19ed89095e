#pragma once
// The CPU dense layers' activations (not installed): vmath's vectorizable sigmoid (what the unfused
// f32 op uses here) and its rational tanh (within 6 ulp of the unfused op's, a third of its cost), shared by the epilogue pass (dense.cpp) and the one-pass kernel
// (gemm_dense.cpp) so that the two give the same values.
#include <type_traits>

#include <axon/kernels/dense.hpp>

#include "vmath.hpp"

namespace axon::kernels::cpu {

template <DenseAct Act, class T>
AXON_VM_INLINE T dense_act(T z) {
  if constexpr (Act == DenseAct::tanh && std::is_same_v<T, float>)
    return vm::tanh_rational(z);
  else if constexpr (Act == DenseAct::tanh)
    return vm::tanh(z);
  else if constexpr (Act == DenseAct::sigmoid)
    return vm::sigmoid(z);
  else
    return dense_detail::forward<Act, T>(z);
}

}  // namespace axon::kernels::cpu
