#pragma once
// The choice between the Winograd kernel (winograd_conv.hpp) and another path for one inference
// conv (not installed; issue 17): oneDNN's primitive in conv_infer's builds with oneDNN, im2col +
// GEMM without it. AXON_CPU_WINOGRAD=on sends every problem the kernel applies to to it, off none;
// auto (the default) times both on a shape's first call, on the caller's own operands, as
// dense_select.cpp does, and keeps the Winograd kernel where it is clearly faster. The choice is
// kept per shape (geometry, bias, relu, threads) for the process, so plans made again (another
// input shape, a refit) do not time it again.
#include <functional>
#include <memory>

#include <axon/kernels/winograd_conv.hpp>

namespace axon::kernels::cpu {

class WinogradChoice {
 public:
  // Null where the kernel does not apply or AXON_CPU_WINOGRAD is off.
  static std::unique_ptr<WinogradChoice> make(const ConvGeometry& g, bool bias, bool relu, int parts);
  WinogradChoice(const ConvGeometry& g, bool bias, bool relu, std::unique_ptr<WinogradConv> conv);
  // y = relu?(conv(x, w) + b) on the Winograd kernel or by `other(x, w, b, y)`.
  void run(const float* x, const float* w, const float* b, float* y,
           const std::function<void(const float*, const float*, const float*, float*)>& other);
  int parts() const { return conv_->parts(); }

 private:
  bool choose(const float* x, const float* w, const float* b, float* y,
              const std::function<void(const float*, const float*, const float*, float*)>& other);
  ConvGeometry g_;
  bool bias_, relu_;
  std::unique_ptr<WinogradConv> conv_;
  int use_ = -1;  // unknown, 0 other, 1 Winograd
};

}  // namespace axon::kernels::cpu
