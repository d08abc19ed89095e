#pragma once
// A predict plan's leading run of inference convs and max pools (predict_plan.cpp), run in chunks of
// a few items through every layer of the run before the next chunk, instead of each layer over the
// whole batch. Over the whole batch, W2's first conv writes 6.4 MB at batch 64 (64 x 28x28x32 f32),
// which goes out to L3 and is read back by the pool; a chunk's activations stay in a core's L2. With
// several threads each takes its own items, chunk by chunk (no barrier between layers), where the
// whole-batch layers split every layer across the threads.
#include <memory>
#include <vector>

#include <axon/kernels/conv_infer.hpp>
#include <axon/tensor.hpp>

namespace axon::detail {

// One layer of the run: a conv (its bias and relu as the plan's step runs them), a max pool, or both,
// reading the layer before it (the first: the plan's input).
struct ChunkLayer {
  bool is_conv = false;
  kernels::ConvGeometry conv;  // the whole batch's; a chunk's has its own batch
  bool relu = false;
  Tensor kernel, bias;  // read on every call (values changed in place count)
  kernels::PoolGeometry pool;
  bool conv_pool = false;  // a conv with the pool after it in one pass (conv_pool_infer.hpp)
  int64_t out_item = 0;    // output values per item
};

class ChunkedRun {
 public:
  // Items per chunk: AXON_CPU_INFER_CHUNK (off, auto or a count; read when a plan is built), else
  // so that one chunk's largest activation takes half a core's L2. `lanes` threads take a share of
  // the items each. nullptr where the run stays whole: chunking is off, a chunk would be the whole
  // batch on one thread, or a layer has no primitive for a chunk's size.
  static std::unique_ptr<ChunkedRun> make(std::vector<ChunkLayer> layers, int64_t batch, int64_t in_item, int lanes);

  // y (the last layer's output, whole batch) from x (the first's input), both contiguous f32.
  void run(const float* x, float* y);

  int64_t chunk() const { return chunk_; }
  int lanes() const { return static_cast<int>(lanes_.size()); }

 private:
  struct Stage {
    std::unique_ptr<kernels::cpu::InferConv> conv;
    std::unique_ptr<kernels::cpu::InferMaxPool> pool;
  };
  struct Lane {
    int64_t first = 0, items = 0;
    std::vector<Stage> whole, tail;  // per layer: for a chunk of chunk_ items, and for the last, shorter one
    std::vector<std::vector<float>> buffers;  // per layer but the last: one chunk's output
  };

  bool build_lane(Lane& lane) const;
  void run_lane(Lane& lane, const float* x, float* y);

  std::vector<ChunkLayer> layers_;
  int64_t in_item_ = 0, chunk_ = 1;
  std::vector<Lane> lanes_;
};

}  // namespace axon::detail
