#pragma once
// N-d convolution (1-D, 2-D, 3-D) with Nx/XLA semantics, as Axon uses it:
// strides, padding (valid / same / explicit (lo, hi) per spatial dim, negative crops), input
// dilation (zeros inserted between input pixels), kernel dilation and feature groups.
//   channels last (default): input [N, D1..Dn, C], kernel [K1..Kn, C/G, Cout] (HWIO), output
//                            [N, O1..On, Cout]
//   channels first:          input [N, C, D1..Dn], kernel [Cout, C/G, K1..Kn] (OIHW), output
//                            [N, Cout, O1..On]
// Output size per dim: floor((Din' + lo + hi - K') / s) + 1 with Din' = (Din - 1) * input_dilation + 1
// and K' = (K - 1) * kernel_dilation + 1. "same" gives ceil(Din' / s) outputs with Nx's split of the
// padding (the odd cell on the high side): total = max((ceil(Din' / s) - 1) * s + K' - Din', 0),
// lo = total / 2, hi = total - lo.
// Output channel o belongs to group o / (Cout / G) and reads input channels of that group.
// This is cross-correlation (the kernel is not flipped), as in Nx, PyTorch and TensorFlow.
//
// CPU: im2col + OpenBLAS GEMM in cache-sized chunks of output rows, one chunk at a time per
// thread of the CPU kernels' pool, f32 / f64 (1x1 unit-stride convs are one matmul; depthwise convs
// run direct loops; 16-bit floats go through matmul's conversions). In builds with oneDNN, f32
// convs without input dilation or negative padding run on oneDNN where it is faster: by default
// both are timed on a shape's first use (see set_cpu_conv_path).
// CUDA: cuDNN (NHWC, f32 / TF32 only under allow_tf32() / bf16 / f16, algorithm measured once per
// shape and cached) for 1-D, 2-D and 3-D convs without input dilation and with non-negative padding
// (an asymmetric one becomes an explicit pad plus a symmetric one); input dilation, negative
// padding, f64 and whatever cuDNN has no algorithm for run im2col kernels and cuBLAS. Each call is
// one tape entry; its backward calls conv_backward_data and conv_backward_filter, which are recorded
// ops themselves (their backward is written with conv and each other), so gradients of gradients
// work.
#include <axon/fused_activation.hpp>
#include <axon/tensor.hpp>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace axon {

enum class Channels { last, first };
enum class PaddingMode { valid, same, explicit_pads };

struct Padding {
  PaddingMode mode = PaddingMode::valid;
  std::vector<std::pair<int64_t, int64_t>> pads;  // (lo, hi) per spatial dim for explicit_pads

  Padding() = default;
  Padding(PaddingMode m) : mode(m) {}
  Padding(std::vector<std::pair<int64_t, int64_t>> p)
      : mode(PaddingMode::explicit_pads), pads(std::move(p)) {}
  Padding(std::initializer_list<std::pair<int64_t, int64_t>> p) : mode(PaddingMode::explicit_pads), pads(p) {}
  static Padding valid() { return Padding(PaddingMode::valid); }
  static Padding same() { return Padding(PaddingMode::same); }
};

// Per-dim lists: empty means 1 everywhere, one value applies to every spatial dim, otherwise one
// value per spatial dim.
struct ConvOptions {
  std::vector<int64_t> strides;
  Padding padding;
  std::vector<int64_t> input_dilation;
  std::vector<int64_t> kernel_dilation;
  int64_t feature_group_size = 1;
  Channels channels = Channels::last;
};

// `op_name` names the caller in error messages (the layers pass their own name).
Tensor conv(const Tensor& input, const Tensor& kernel, const ConvOptions& options = {},
            const char* op_name = "conv");

// The adjoints of conv, in the layout `options` names: the gradient of conv(x, w) with respect to x
// for an output gradient `grad_output` (input_shape = x's shape), and with respect to w
// (kernel_shape = w's shape). Both are linear in each argument and differentiable.
Tensor conv_backward_data(const Tensor& grad_output, const Tensor& kernel, const Shape& input_shape,
                          const ConvOptions& options = {});
Tensor conv_backward_filter(const Tensor& input, const Tensor& grad_output, const Shape& kernel_shape,
                            const ConvOptions& options = {});

// act(conv(input, kernel) + bias) as one op: the bias add and the activation run in one pass over
// the conv's output (instead of an add and an activation op, each a pass and a temporary), and on
// the CPU the backward's first pass forms dy * act'(y) and the bias gradient together before the two
// conv adjoints (CUDA: the composite ops' where / sum there). bias: [Cout] or undefined. Values and gradients are those of the composite conv, add
// and relu / tanh / sigmoid, which run instead for 16-bit floats; one tape entry named "fused_conv"
// (its recorded backward is differentiable: gradients of gradients work).
Tensor fused_conv(const Tensor& input, const Tensor& kernel, const Tensor& bias, const ConvOptions& options = {},
                  FusedActivation activation = FusedActivation::none, const char* op_name = "fused_conv");

// Which implementation runs the CPU's f32 convolutions that both can run (builds with oneDNN):
// automatic (the default) times oneDNN and im2col + OpenBLAS on each shape's and direction's first
// use and keeps the faster; im2col and onednn force one. The environment variable AXON_CPU_CONV
// (auto, im2col, onednn) sets the initial value. Without oneDNN everything runs im2col.
enum class CpuConvPath { automatic, im2col, onednn };
void set_cpu_conv_path(CpuConvPath path);
CpuConvPath cpu_conv_path();
bool cpu_conv_has_onednn();  // whether this build has oneDNN
// How many CPU convolution calls (any direction) each implementation has run since the start.
struct CpuConvRuns {
  int64_t im2col = 0, onednn = 0;
};
CpuConvRuns cpu_conv_runs();
// How many convs predict()'s plans ran on the Winograd F(2x2, 3x3) kernel since the start (3x3,
// stride 1; AXON_CPU_WINOGRAD: auto (timed against the other path), on, off).
int64_t cpu_winograd_runs();

}  // namespace axon
