#pragma once
// The activations a fused op (fused_dense, fused_conv) applies in its epilogue.
namespace axon {
enum class FusedActivation { none, relu, tanh, sigmoid };
}  // namespace axon
