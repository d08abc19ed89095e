#pragma once
// The built-in augmentations (random_crop, random_flip, normalize) as kernels on raw f32 memory. Each
// MapFn they return holds an ImageMap, so a pipeline whose transforms are all built in can run them
// straight from the source's rows into its batch buffer without a tensor per sample
// (assemble_images), while a call on one Example goes through the same kernel. Not installed.
#include <memory>
#include <optional>
#include <vector>

#include <axon/data/pipeline.hpp>

namespace axon::data::images {

class ImageOp {
 public:
  virtual ~ImageOp() = default;
  // Throws the transform's error for a sample it does not take (shape and dtype only, never values).
  virtual void check(const Tensor& x) const = 0;
  // The shape of a checked sample after the transform.
  virtual Shape out_shape(const Shape& in) const = 0;
  // src (a sample of shape `in`) to dst (out_shape(in)); the two never overlap. Draws from rng exactly
  // as many numbers, in the same order, whatever the values.
  virtual void run(const float* src, const Shape& in, float* dst, SampleRng& rng) const = 0;
};

// What the MapFn of a built-in transform holds (found again with MapFn::target<ImageMap>()).
struct ImageMap {
  std::shared_ptr<const ImageOp> op;
  Example operator()(Example e, SampleRng& rng) const;
};

// Batch `rows` (one rng key each) through `maps` when every map is built in and the samples are f32 on
// the CPU, writing each result straight into the batch; nullopt when they are not (the caller then
// runs the transforms on tensors, which also reports any error).
std::optional<training::Batch> assemble_images(const Source& source, const std::vector<MapFn>& maps,
                                               const std::vector<int64_t>& rows, const std::vector<uint64_t>& keys);

}  // namespace axon::data::images
