// A batch of augmented images assembled on raw memory: the samples are read from the source's rows
// (one gather for the batch when the source has one) and each goes through the transforms' kernels,
// the last of which writes it into its place in the batch. No tensor is made per sample.
#include <algorithm>

#include <axon/ops.hpp>

#include "image_ops.hpp"

namespace axon::data::images {

namespace {

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

bool raw_f32(const Tensor& x) { return x.defined() && x.dtype() == DType::f32 && x.device().is_cpu() && x.is_contiguous(); }

}  // namespace

std::optional<training::Batch> assemble_images(const Source& source, const std::vector<MapFn>& maps,
                                               const std::vector<int64_t>& rows, const std::vector<uint64_t>& keys) {
  std::vector<const ImageOp*> ops;
  for (const MapFn& f : maps) {
    const ImageMap* m = f.target<ImageMap>();
    if (!m) return std::nullopt;
    ops.push_back(m->op.get());
  }
  if (ops.empty() || rows.empty()) return std::nullopt;

  // The samples' memory: the rows of one gathered tensor, or each sample's own tensor.
  const int64_t B = int64_t(rows.size());
  std::vector<const float*> src(rows.size());
  Tensor gathered_x, y;
  std::vector<Example> samples;
  Shape in;
  if (source.can_gather()) {
    training::Batch g = source.gather(rows);
    if (!raw_f32(g.x) || g.x.dim() < 1) return std::nullopt;
    gathered_x = g.x, y = g.y;
    in.assign(g.x.shape().begin() + 1, g.x.shape().end());
    for (int64_t i = 0; i < B; ++i) src[size_t(i)] = g.x.data<float>() + i * count(in);
  } else {
    samples.reserve(size_t(B));
    std::vector<Tensor> ys;
    for (int64_t i = 0; i < B; ++i) {
      samples.push_back(source.get(rows[size_t(i)]));
      const Example& e = samples.back();
      // Anything irregular goes the tensor way, which reports it.
      if (!raw_f32(e.x) || e.x.shape() != samples[0].x.shape() || e.y.defined() != samples[0].y.defined())
        return std::nullopt;
      src[size_t(i)] = e.x.data<float>();
      if (e.y.defined()) ys.push_back(e.y.to(Device::cpu()));
    }
    in = samples[0].x.shape();
    if (!ys.empty()) y = stack(ys, 0);
  }

  // Every sample has the first one's shape, so checking one sample checks the batch.
  std::vector<Shape> shapes{in};
  try {
    for (const ImageOp* op : ops) {
      op->check(empty(shapes.back()));
      shapes.push_back(op->out_shape(shapes.back()));
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  int64_t scratch = 0;
  for (const Shape& s : shapes) scratch = std::max(scratch, count(s));
  std::vector<float> ping(static_cast<size_t>(scratch)), pong(static_cast<size_t>(scratch));

  Shape batch_shape{B};
  batch_shape.insert(batch_shape.end(), shapes.back().begin(), shapes.back().end());
  Tensor x = empty(batch_shape);
  const int64_t out_n = count(shapes.back());
  for (int64_t i = 0; i < B; ++i) {
    SampleRng rng(keys[size_t(i)]);
    const float* from = src[size_t(i)];
    for (size_t k = 0; k < ops.size(); ++k) {
      float* to = k + 1 == ops.size() ? x.data<float>() + i * out_n : (k % 2 ? pong : ping).data();
      ops[k]->run(from, shapes[k], to, rng);
      from = to;
    }
  }
  return training::Batch{x, y};
}

}  // namespace axon::data::images
