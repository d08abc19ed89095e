// Inference max pooling (conv_infer.hpp): no argmax, one pass over each window's channel vectors,
// the output rows split across the kernels' pool. oneDNN 2.6's pooling primitive took 20-60 us on
// W2's 28x28x32 -> 14x14x32 pool at batch 1 here; this loop takes a few.
#include <axon/kernels/conv_infer.hpp>

#include <algorithm>
#include <vector>

#include "infer_parts.hpp"

namespace axon::kernels::cpu {

namespace {

// Below this many output values a part does not repay waking a thread.
constexpr double kValuesPerPart = 1 << 16;

// The input cells [begin, end) a window reads along one dim (clipped to the input).
struct Span {
  int64_t begin, end;
};

// out = max(out, in) elementwise, NaN winning (a NaN kept, a NaN taken: !(in <= out)); ties keep
// the first cell. Branch-free over distinct arrays, so the compiler vectorizes it.
inline void max_into(float* __restrict out, const float* __restrict in, int64_t c) {
  for (int64_t k = 0; k < c; ++k) {
    const float o = out[k], v = in[k];
    out[k] = o == o && !(v <= o) ? v : o;
  }
}

// Output rows [r0, r1) of (item, out d, out h); `spans` the input cells of each window per dim.
// Built for AVX2 too (picked at load time where the CPU has it): W2's first pool at batch 1 ran 1.5x faster so.
__attribute__((target_clones("avx2", "default"))) void pool_rows(const PoolGeometry& g, const std::vector<Span>* spans,
                                                                 const float* x, float* y, int64_t r0, int64_t r1) {
  const int64_t c = g.c, row_in = g.in[2] * c, plane_in = g.in[1] * row_in, item_in = g.in[0] * plane_in;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t oh = r % g.out[1], od = r / g.out[1] % g.out[0], n = r / (g.out[1] * g.out[0]);
    const Span sd = spans[0][static_cast<size_t>(od)], sh = spans[1][static_cast<size_t>(oh)];
    float* out = y + r * g.out[2] * c;
    for (int64_t ow = 0; ow < g.out[2]; ++ow, out += c) {
      const Span sw = spans[2][static_cast<size_t>(ow)];
      bool first = true;
      for (int64_t d = sd.begin; d < sd.end; ++d)
        for (int64_t h = sh.begin; h < sh.end; ++h)
          for (int64_t w = sw.begin; w < sw.end; ++w) {
            const float* in = x + n * item_in + d * plane_in + h * row_in + w * c;
            if (first) {
              for (int64_t k = 0; k < c; ++k) out[k] = in[k];
              first = false;
            } else {
              max_into(out, in, c);
            }
          }
    }
  }
}

}  // namespace

class MaxPoolImpl {
 public:
  MaxPoolImpl(const PoolGeometry& g, int parts) : g_(g) {
    for (int d = 0; d < 3; ++d) {
      spans_[d].resize(static_cast<size_t>(g.out[d]));
      for (int64_t o = 0; o < g.out[d]; ++o) {
        const int64_t first = o * g.stride[d] - g.pad_lo[d];
        spans_[d][static_cast<size_t>(o)] = {std::max<int64_t>(first, 0), std::min(first + g.window[d], g.in[d])};
      }
    }
    const int64_t rows = g.n * g.out[0] * g.out[1];
    const int count = infer_parts(parts, double(rows * g.out[2] * g.c), kValuesPerPart);
    grain_ = std::max<int64_t>((rows + count - 1) / count, 1);
    parts_ = static_cast<int>((rows + grain_ - 1) / grain_);
  }

  int parts() const { return parts_; }

  void run(const float* x, float* y) {
    parallel_for(g_.n * g_.out[0] * g_.out[1], grain_,
                 [&](int64_t r0, int64_t r1) { pool_rows(g_, spans_, x, y, r0, r1); });
  }

 private:
  PoolGeometry g_;
  std::vector<Span> spans_[3];
  int64_t grain_ = 1;
  int parts_ = 1;
};

InferMaxPool::InferMaxPool(std::unique_ptr<MaxPoolImpl> impl) : impl_(std::move(impl)) {}
InferMaxPool::~InferMaxPool() = default;
void InferMaxPool::run(const float* x, float* y) { impl_->run(x, y); }
int InferMaxPool::parts() const { return impl_->parts(); }

std::unique_ptr<InferMaxPool> make_infer_max_pool(const PoolGeometry& g, int parts) {
  for (int d = 0; d < 3; ++d) {
    if (g.dilation[d] != 1 || g.window[d] < 1 || g.stride[d] < 1 || g.pad_lo[d] < 0) return nullptr;
    // Every window holds an input cell (else its value would be -inf).
    if (g.pad_lo[d] >= g.window[d] || (g.out[d] - 1) * g.stride[d] - g.pad_lo[d] >= g.in[d]) return nullptr;
  }
  return std::make_unique<InferMaxPool>(std::make_unique<MaxPoolImpl>(g, parts));
}

}  // namespace axon::kernels::cpu
