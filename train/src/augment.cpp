#include <axon/data/pipeline.hpp>
#include <axon/ops.hpp>

namespace axon::data {
namespace {

// The sample's image as contiguous f32 [H, W, C] on the CPU, plus its dtype to convert back to.
Tensor image_f32(const Tensor& x, const char* op) {
  AXON_CHECK(x.defined() && x.dim() == 3 && is_floating(x.dtype()), op,
             "expects an image sample [H, W, C] of a floating dtype, got {}",
             x.defined() ? describe(x) : std::string("an undefined tensor"));
  return cast(x.to(Device::cpu()), DType::f32).contiguous();
}

Tensor back(const Tensor& y, DType dtype) { return dtype == DType::f32 ? y : cast(y, dtype); }

}  // namespace

MapFn random_crop(int64_t height, int64_t width, int64_t padding) {
  AXON_CHECK(height > 0 && width > 0 && padding >= 0, "random_crop", "height {} and width {} must be > 0, padding {} >= 0",
             height, width, padding);
  return [=](Example e, SampleRng& rng) {
    Tensor x = image_f32(e.x, "random_crop");
    const int64_t H = x.size(0), W = x.size(1), C = x.size(2);
    AXON_CHECK(height <= H + 2 * padding && width <= W + 2 * padding, "random_crop",
               "a {}x{} crop does not fit {} padded by {}", height, width, describe(e.x), padding);
    // Window origin in padded coordinates; pixels outside the image are the zero padding.
    const int64_t top = rng.randint(0, H + 2 * padding - height) - padding;
    const int64_t left = rng.randint(0, W + 2 * padding - width) - padding;
    Tensor y = zeros({height, width, C});
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    for (int64_t i = 0; i < height; ++i) {
      const int64_t si = top + i;
      if (si < 0 || si >= H) continue;
      for (int64_t j = 0; j < width; ++j) {
        const int64_t sj = left + j;
        if (sj < 0 || sj >= W) continue;
        for (int64_t c = 0; c < C; ++c) dst[(i * width + j) * C + c] = src[(si * W + sj) * C + c];
      }
    }
    e.x = back(y, e.x.dtype());
    return e;
  };
}

MapFn random_flip(double p) {
  AXON_CHECK(p >= 0 && p <= 1, "random_flip", "probability {} outside [0, 1]", p);
  return [=](Example e, SampleRng& rng) {
    Tensor x = image_f32(e.x, "random_flip");
    if (!(rng.uniform() < p)) return e;
    const int64_t H = x.size(0), W = x.size(1), C = x.size(2);
    Tensor y = empty({H, W, C});
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j)
        for (int64_t c = 0; c < C; ++c) dst[(i * W + j) * C + c] = src[(i * W + (W - 1 - j)) * C + c];
    e.x = back(y, e.x.dtype());
    return e;
  };
}

MapFn normalize(std::vector<double> mean, std::vector<double> std) {
  AXON_CHECK(!mean.empty() && mean.size() == std.size(), "normalize",
             "mean ({} values) and std ({} values) must be non-empty and the same length", mean.size(), std.size());
  for (double s : std) AXON_CHECK(s > 0, "normalize", "std {} must be > 0", s);
  return [=](Example e, SampleRng&) {
    AXON_CHECK(e.x.defined() && e.x.dim() >= 1 && is_floating(e.x.dtype()), "normalize",
               "expects a floating sample with a channel (last) axis, got {}",
               e.x.defined() ? describe(e.x) : std::string("an undefined tensor"));
    const int64_t C = e.x.size(-1);
    AXON_CHECK(mean.size() == 1 || int64_t(mean.size()) == C, "normalize",
               "{} means for a sample {} with {} channels", mean.size(), describe(e.x), C);
    Tensor x = cast(e.x.to(Device::cpu()), DType::f32).contiguous();
    Tensor y = empty(x.shape());
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      size_t c = mean.size() == 1 ? 0 : size_t(i % C);
      dst[i] = float((src[i] - mean[c]) / std[c]);
    }
    e.x = back(y, e.x.dtype());
    return e;
  };
}

}  // namespace axon::data
