#pragma once
// The fused ops' activations in the tests of fused_dense and fused_conv: the list, their names, a
// float64 reference and the unfused op.
#include <cmath>

#include "harness.hpp"

namespace axon::test::fused_act {

inline const FusedActivation kActs[] = {FusedActivation::none, FusedActivation::relu, FusedActivation::tanh,
                                        FusedActivation::sigmoid};
inline const char* act_name(FusedActivation a) {
  switch (a) {
    case FusedActivation::none: return "none";
    case FusedActivation::relu: return "relu";
    case FusedActivation::tanh: return "tanh";
    case FusedActivation::sigmoid: return "sigmoid";
  }
  return "?";
}
inline double act_ref(FusedActivation a, double z) {
  switch (a) {
    case FusedActivation::none: return z;
    case FusedActivation::relu: return z > 0 ? z : 0;
    case FusedActivation::tanh: return std::tanh(z);
    case FusedActivation::sigmoid: return 1 / (1 + std::exp(-z));
  }
  return z;
}
// The unfused activation op.
inline Tensor activate(FusedActivation a, const Tensor& z) {
  switch (a) {
    case FusedActivation::none: return z;
    case FusedActivation::relu: return relu(z);
    case FusedActivation::tanh: return tanh(z);
    case FusedActivation::sigmoid: return sigmoid(z);
  }
  return z;
}

}  // namespace axon::test::fused_act
