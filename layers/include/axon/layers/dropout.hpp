#pragma once
// Dropout family (Axon.Layers). Identity in inference (training = false, Axon's
// default mode). Masks come from the counter-based Philox generator: the same Generator state gives
// the same mask on CPU and CUDA; each call advances the generator (pass your own to control the
// stream, or omit it to draw from default_generator()).
#include <axon/layers/shape.hpp>
#include <axon/random.hpp>
#include <axon/tensor.hpp>

namespace axon::layers {

struct DropoutOptions {
  double rate = 0.5;  // probability of dropping an element, in [0, 1]
  bool training = false;
  Shape noise_shape = {};              // dropout only: the mask's shape, broadcast against x (default x's)
  Channels channels = Channels::last;  // spatial / feature-alpha dropout: where the channel axis is
  // Axon's formulas instead of the papers' / PyTorch's where they differ (see each function).
  bool axon_semantics = false;
};

// y = mask ? x / (1 - rate) : 0, mask ~ Bernoulli(1 - rate) of noise_shape (inverted dropout).
Tensor dropout(const Tensor& x, Generator& gen, DropoutOptions o = {});
Tensor dropout(const Tensor& x, DropoutOptions o = {});

// Drops whole channels: one mask entry per (sample, channel), broadcast over the spatial axes
// (PyTorch's Dropout2d/3d, Keras' SpatialDropout). ⚠ axon_semantics: Axon's noise shape is the input
// with the channel axis set to 1 (one entry per spatial position, broadcast over the channels).
Tensor spatial_dropout(const Tensor& x, Generator& gen, DropoutOptions o = {});
Tensor spatial_dropout(const Tensor& x, DropoutOptions o = {});

// SELU-preserving dropout (Klambauer et al. 2017, PyTorch's AlphaDropout): with alpha' = -lambda*alpha,
// q = 1 - rate, a = (q (1 + rate alpha'^2))^(-1/2), b = -a alpha' rate: y = a (mask ? x : alpha') + b.
// ⚠ axon_semantics: Axon's a = (q alpha'^2)^(-1/2).
Tensor alpha_dropout(const Tensor& x, Generator& gen, DropoutOptions o = {});
Tensor alpha_dropout(const Tensor& x, DropoutOptions o = {});

// alpha_dropout with the mask of spatial_dropout (whole channels; PyTorch's FeatureAlphaDropout).
// ⚠ Axon's own formula (y = mask ? x / q : -selu(x)) is not reproduced; axon_semantics switches the
// noise shape and the scale as in spatial_dropout / alpha_dropout.
Tensor feature_alpha_dropout(const Tensor& x, Generator& gen, DropoutOptions o = {});
Tensor feature_alpha_dropout(const Tensor& x, DropoutOptions o = {});

}  // namespace axon::layers
