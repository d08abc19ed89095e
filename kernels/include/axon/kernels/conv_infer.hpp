#pragma once
// Inference-only convolution and max pooling on the CPU for predict()'s plans (not installed). A conv
// is a oneDNN primitive (forward_inference) created once for one problem, batch included, and
// replayed, its bias and a relu post-ops of the primitive (no pass over the output after it); a max
// pool is a loop over channel vectors that keeps no argmax. Activations are channels last ([N, spatial..., C], contiguous), kernels
// HWIO, as in conv.hpp.
//
// The work is split across the kernels' pool (parallel.hpp), one primitive per part, each executed
// on its thread with oneDNN's OpenMP at one thread (dnnl_runtime.hpp): by batch items when there are
// at least as many items as parts, else by output rows (the first spatial dim) of each item, each
// part a convolution of the input rows it reads with its own padding (pools: by output rows).
// Problems too small to repay waking a thread stay on the calling one. A 3x3 stride-1 conv may run on
// the Winograd kernel instead (winograd_conv.hpp), whichever a timed first call finds faster; builds
// without oneDNN make a conv only for those (Winograd or im2col + GEMM), else nullptr.
#include <axon/kernels/conv.hpp>
#include <axon/kernels/pool.hpp>

#include <memory>

namespace axon::kernels::cpu {

// (Concrete classes over an implementation, not virtual ones: libaxon.so exports no typeinfo of them.)
class InferConvImpl;
class InferConv {
 public:
  explicit InferConv(std::unique_ptr<InferConvImpl> impl);
  ~InferConv();
  // y = conv(x, w) (+ b) (then relu), for the geometry (batch included) it was made for. `w` is read
  // on every call (values changed in place count); it is reordered into the primitive's layout when
  // it differs from the last call's.
  void run(const float* x, const float* w, const float* b, float* y);
  int parts() const;  // primitives the work is split into

 private:
  std::unique_ptr<InferConvImpl> impl_;
};

// `parts` <= 0: AXON_CPU_INFER_PARTS when set (tests force each split through predict), else split
// by the pool's size and the problem's size; > 0: that many parts where the problem has them.
// nullptr where oneDNN has no primitive for it.
std::unique_ptr<InferConv> make_infer_conv(const ConvGeometry& g, bool bias, bool relu, int parts = 0);

class MaxPoolImpl;
class InferMaxPool {
 public:
  explicit InferMaxPool(std::unique_ptr<MaxPoolImpl> impl);
  ~InferMaxPool();
  void run(const float* x, float* y);
  int parts() const;

 private:
  std::unique_ptr<MaxPoolImpl> impl_;
};

// Pooling without dilation, every window holding at least one input cell; nullptr otherwise.
std::unique_ptr<InferMaxPool> make_infer_max_pool(const PoolGeometry& g, int parts = 0);

}  // namespace axon::kernels::cpu
