// Chunked runs of a predict plan's convs and max pools (predict_chunks.hpp).
#include "predict_chunks.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include <axon/model.hpp>

#include "../../../kernels/cpu/conv_pool_infer.hpp"
#include "../../../kernels/cpu/parallel.hpp"

namespace axon::detail {

namespace {

// Half of a core's L2 (512 KiB on the 2-core EPYC measured) for a chunk's largest activation: the
// rest holds the layer's input, the next layer's output and the kernels.
constexpr int64_t kChunkBytes = 256 * 1024;

std::atomic<int64_t> g_chunks{0};  // predict_cpu_chunks()

// Items per chunk, or 0 when chunking is off.
int64_t chunk_items(const std::vector<ChunkLayer>& layers) {
  if (const char* s = std::getenv("AXON_CPU_INFER_CHUNK"); s && *s && std::strcmp(s, "auto") != 0)
    return std::strcmp(s, "off") == 0 ? 0 : std::max(std::atoll(s), 0LL);
  int64_t largest = 1;
  for (const ChunkLayer& l : layers) largest = std::max(largest, l.out_item * int64_t(sizeof(float)));
  return std::max<int64_t>(kChunkBytes / largest, 1);
}

}  // namespace

std::unique_ptr<ChunkedRun> ChunkedRun::make(std::vector<ChunkLayer> layers, int64_t batch, int64_t in_item,
                                             int lanes) {
  const int64_t chunk = chunk_items(layers);
  lanes = static_cast<int>(std::clamp<int64_t>(lanes, 1, batch));
  if (layers.size() < 2 || chunk < 1 || (lanes == 1 && batch <= chunk)) return nullptr;
  std::unique_ptr<ChunkedRun> run(new ChunkedRun);
  run->layers_ = std::move(layers);
  run->in_item_ = in_item;
  run->chunk_ = chunk;
  for (int l = 0; l < lanes; ++l) {
    Lane lane;
    lane.first = batch * l / lanes;
    lane.items = batch * (l + 1) / lanes - lane.first;
    if (!run->build_lane(lane)) return nullptr;
    run->lanes_.push_back(std::move(lane));
  }
  return run;
}

bool ChunkedRun::build_lane(Lane& lane) const {
  // Each lane its own primitives (a primitive's arguments are set per call) of one part each: the
  // lanes are the split.
  auto stages = [&](int64_t items, std::vector<Stage>& out) {
    for (const ChunkLayer& l : layers_) {
      Stage s;
      if (l.conv_pool) {
        // no primitive: conv_pool_forward
      } else if (l.is_conv) {
        kernels::ConvGeometry g = l.conv;
        g.batch = items;
        s.conv = kernels::cpu::make_infer_conv(g, l.bias.defined(), l.relu, 1);
        if (!s.conv) return false;
      } else {
        kernels::PoolGeometry g = l.pool;
        g.n = items;
        s.pool = kernels::cpu::make_infer_max_pool(g, 1);
        if (!s.pool) return false;
      }
      out.push_back(std::move(s));
    }
    return true;
  };
  const int64_t whole = std::min(chunk_, lane.items), tail = lane.items % chunk_;
  if (!stages(whole, lane.whole) || (lane.items > chunk_ && tail > 0 && !stages(tail, lane.tail))) return false;
  for (size_t k = 0; k + 1 < layers_.size(); ++k)
    lane.buffers.emplace_back(static_cast<size_t>(whole * layers_[k].out_item));
  return true;
}

void ChunkedRun::run_lane(Lane& lane, const float* x, float* y) {
  const size_t n = layers_.size();
  g_chunks.fetch_add((lane.items + chunk_ - 1) / chunk_, std::memory_order_relaxed);
  for (int64_t i = 0; i < lane.items; i += chunk_) {
    const int64_t item = lane.first + i;
    std::vector<Stage>& stages = lane.items - i >= chunk_ || lane.tail.empty() ? lane.whole : lane.tail;
    const float* in = x + item * in_item_;
    for (size_t k = 0; k < n; ++k) {
      const ChunkLayer& l = layers_[k];
      float* out = k + 1 == n ? y + item * l.out_item : lane.buffers[k].data();
      if (l.conv_pool)
        kernels::cpu::conv_pool_forward(l.conv, l.pool, l.relu, in, l.kernel.data<float>(),
                                        l.bias.defined() ? l.bias.data<float>() : nullptr, out, 0,
                                        std::min(chunk_, lane.items - i), 0, l.pool.out[1]);
      else if (l.is_conv)
        stages[k].conv->run(in, l.kernel.data<float>(), l.bias.defined() ? l.bias.data<float>() : nullptr, out);
      else
        stages[k].pool->run(in, out);
      in = out;
    }
  }
}

void ChunkedRun::run(const float* x, float* y) {
  kernels::cpu::parallel_for(static_cast<int64_t>(lanes_.size()), 1, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) run_lane(lanes_[static_cast<size_t>(l)], x, y);
  });
}

}  // namespace axon::detail

int64_t axon::predict_cpu_chunks() { return detail::g_chunks.load(std::memory_order_relaxed); }
