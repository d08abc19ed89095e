// The built-in augmentations: one raw-memory kernel each (image_ops.hpp), used both on a single
// Example and by a pipeline assembling a batch.
#include <algorithm>
#include <cstring>

#include <axon/ops.hpp>

#include "image_ops.hpp"

namespace axon::data {
namespace images {

Example ImageMap::operator()(Example e, SampleRng& rng) const {
  op->check(e.x);
  Tensor x = cast(e.x.to(Device::cpu()), DType::f32).contiguous();
  Tensor y = empty(op->out_shape(x.shape()));
  op->run(x.data<float>(), x.shape(), y.data<float>(), rng);
  e.x = e.x.dtype() == DType::f32 ? y : cast(y, e.x.dtype());
  return e;
}

}  // namespace images

namespace {

using images::ImageOp;

MapFn image_map(std::shared_ptr<const ImageOp> op) { return images::ImageMap{std::move(op)}; }

void check_image(const Tensor& x, const char* op) {
  AXON_CHECK(x.defined() && x.dim() == 3 && is_floating(x.dtype()), op,
             "expects an image sample [H, W, C] of a floating dtype, got {}",
             x.defined() ? describe(x) : std::string("an undefined tensor"));
}

class RandomCrop final : public ImageOp {
 public:
  RandomCrop(int64_t height, int64_t width, int64_t padding) : h_(height), w_(width), pad_(padding) {}
  void check(const Tensor& x) const override {
    check_image(x, "random_crop");
    AXON_CHECK(h_ <= x.size(0) + 2 * pad_ && w_ <= x.size(1) + 2 * pad_, "random_crop",
               "a {}x{} crop does not fit {} padded by {}", h_, w_, describe(x), pad_);
  }
  Shape out_shape(const Shape& in) const override { return {h_, w_, in[2]}; }
  void run(const float* src, const Shape& in, float* dst, SampleRng& rng) const override {
    const int64_t H = in[0], W = in[1], C = in[2];
    // Window origin in padded coordinates; pixels outside the image are the zero padding.
    const int64_t top = rng.randint(0, H + 2 * pad_ - h_) - pad_;
    const int64_t left = rng.randint(0, W + 2 * pad_ - w_) - pad_;
    std::fill(dst, dst + h_ * w_ * C, 0.0f);
    const int64_t j0 = std::max<int64_t>(0, -left), j1 = std::min(w_, W - left);
    if (j1 <= j0) return;
    for (int64_t i = std::max<int64_t>(0, -top); i < std::min(h_, H - top); ++i)
      std::memcpy(dst + (i * w_ + j0) * C, src + ((top + i) * W + left + j0) * C, size_t((j1 - j0) * C) * sizeof(float));
  }

 private:
  int64_t h_, w_, pad_;
};

class RandomFlip final : public ImageOp {
 public:
  explicit RandomFlip(double p) : p_(p) {}
  void check(const Tensor& x) const override { check_image(x, "random_flip"); }
  Shape out_shape(const Shape& in) const override { return in; }
  void run(const float* src, const Shape& in, float* dst, SampleRng& rng) const override {
    const int64_t H = in[0], W = in[1], C = in[2];
    if (!(rng.uniform() < p_)) {
      std::memcpy(dst, src, size_t(H * W * C) * sizeof(float));
      return;
    }
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j)
        for (int64_t c = 0; c < C; ++c) dst[(i * W + j) * C + c] = src[(i * W + (W - 1 - j)) * C + c];
  }

 private:
  double p_;
};

class Normalize final : public ImageOp {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {}
  void check(const Tensor& x) const override {
    AXON_CHECK(x.defined() && x.dim() >= 1 && is_floating(x.dtype()), "normalize",
               "expects a floating sample with a channel (last) axis, got {}",
               x.defined() ? describe(x) : std::string("an undefined tensor"));
    AXON_CHECK(mean_.size() == 1 || int64_t(mean_.size()) == x.size(-1), "normalize",
               "{} means for a sample {} with {} channels", mean_.size(), describe(x), x.size(-1));
  }
  Shape out_shape(const Shape& in) const override { return in; }
  void run(const float* src, const Shape& in, float* dst, SampleRng&) const override {
    int64_t n = 1;
    for (int64_t d : in) n *= d;
    const int64_t C = mean_.size() == 1 ? 1 : in.back();
    for (int64_t i = 0; i < n; i += C)
      for (int64_t c = 0; c < C; ++c)
        dst[i + c] = float((src[i + c] - mean_[size_t(c)]) / std_[size_t(c)]);
  }

 private:
  std::vector<double> mean_, std_;
};

}  // namespace

MapFn random_crop(int64_t height, int64_t width, int64_t padding) {
  AXON_CHECK(height > 0 && width > 0 && padding >= 0, "random_crop", "height {} and width {} must be > 0, padding {} >= 0",
             height, width, padding);
  return image_map(std::make_shared<RandomCrop>(height, width, padding));
}

MapFn random_flip(double p) {
  AXON_CHECK(p >= 0 && p <= 1, "random_flip", "probability {} outside [0, 1]", p);
  return image_map(std::make_shared<RandomFlip>(p));
}

MapFn normalize(std::vector<double> mean, std::vector<double> std) {
  AXON_CHECK(!mean.empty() && mean.size() == std.size(), "normalize",
             "mean ({} values) and std ({} values) must be non-empty and the same length", mean.size(), std.size());
  for (double s : std) AXON_CHECK(s > 0, "normalize", "std {} must be > 0", s);
  return image_map(std::make_shared<Normalize>(std::move(mean), std::move(std)));
}

}  // namespace axon::data
