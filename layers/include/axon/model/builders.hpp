#pragma once
// Axon's layer builders, each in two forms: `dense(x, 128, {...})` returns the new
// Model and `dense(128, {...})` returns a Layer for `x | dense(128, {...})`. Options are structs for
// designated initializers with Axon's defaults; every one has `name` (default "<op>_<k>") last.
// Where Axon's default differs from the PyTorch / paper convention (marked ⚠; summarized in docs/conventions.md) the
// conventional one is the default and Axon's is an option value, as noted on the struct.
// Included by <axon/model.hpp>.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include <axon/activation_option.hpp>
#include <axon/conv.hpp>
#include <axon/layers/normalization.hpp>
#include <axon/layers/recurrent.hpp>
#include <axon/layers/shape.hpp>
#include <axon/model.hpp>

namespace axon {

struct NameOptions {
  std::string name = {};
};

// Activation (an `activation` option: a name or a function) is in <axon/activation_option.hpp>.

// A per-spatial-axis option (kernel_size, strides, dilations): one value for every spatial axis
// ({.kernel_size = 3}) or one per axis ({.kernel_size = {3, 5}}).
struct SpatialSizes : std::vector<int64_t> {
  SpatialSizes() = default;
  SpatialSizes(int64_t v) : std::vector<int64_t>{v} {}
  SpatialSizes(std::initializer_list<int64_t> v) : std::vector<int64_t>(v) {}
  SpatialSizes(std::vector<int64_t> v) : std::vector<int64_t>(std::move(v)) {}
};

// ---- linear
struct DenseOptions {
  Activation activation = {};  // appended as its own node ("relu" -> relu_0), none when empty
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  std::string name = {};
};
// kernel [in, units], bias [units]; the input needs rank >= 2 and a known last dim.
Model dense(const Model& x, int64_t units, DenseOptions o = {});
Layer dense(int64_t units, DenseOptions o = {});
// kernel [units, f1, f2]: y[..., o] = x1 A_o x2 + b_o (x1, x2 of equal leading dims).
Model bilinear(const Model& x1, const Model& x2, int64_t units, DenseOptions o = {});
struct EmbeddingOptions {
  Initializer kernel_initializer = "uniform";  // U(-0.01, 0.01)
  std::string name = {};
};
// kernel [vocab, dim], gathered by integer ids of any shape: output ids.shape + [dim].
Model embedding(const Model& ids, int64_t vocab_size, int64_t embedding_size, EmbeddingOptions o = {});
Layer embedding(int64_t vocab_size, int64_t embedding_size, EmbeddingOptions o = {});
struct BiasOptions {
  Initializer bias_initializer = "zeros";
  std::string name = {};
};
Model bias(const Model& x, BiasOptions o = {});  // bias [last dim]
Layer bias(BiasOptions o = {});

// ---- convolution (conv, conv_transpose, depthwise_conv, separable_conv2d/3d). Per-dim lists take
// one value for every spatial dim or one per dim. conv_transpose has no input_dilation nor groups and
// depthwise / separable no groups (the input channels are the groups): setting them is an error.
struct ConvLayerOptions {
  SpatialSizes kernel_size = {1};
  SpatialSizes strides = {1};
  Padding padding = PaddingMode::valid;  // valid, same, or {{lo, hi}, ...} per spatial dim
  SpatialSizes input_dilation = {1};
  SpatialSizes kernel_dilation = {1};
  int64_t feature_group_size = 1;
  Channels channels = Channels::last;  // last: kernels HWIO [k..., in/groups, out]; first: OIHW
  Activation activation = {};
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  std::string name = {};
};
Model conv(const Model& x, int64_t units, ConvLayerOptions o = {});
Layer conv(int64_t units, ConvLayerOptions o = {});
Model conv_transpose(const Model& x, int64_t units, ConvLayerOptions o = {});
Layer conv_transpose(int64_t units, ConvLayerOptions o = {});
// kernel [k..., 1, in * multiplier]; output channels in * multiplier.
Model depthwise_conv(const Model& x, int64_t channel_multiplier, ConvLayerOptions o = {});
Layer depthwise_conv(int64_t channel_multiplier, ConvLayerOptions o = {});
// Axon's: 2 (3) depthwise passes with kernels factoring the window per spatial dim ("kernel_1" [k0,
// 1, 1, C*m], "kernel_2" [1, k1, 1, C*m], ...; biases "bias_1".. [C*m]), each with all the options.
Model separable_conv2d(const Model& x, int64_t channel_multiplier, ConvLayerOptions o = {});
Layer separable_conv2d(int64_t channel_multiplier, ConvLayerOptions o = {});
Model separable_conv3d(const Model& x, int64_t channel_multiplier, ConvLayerOptions o = {});
Layer separable_conv3d(int64_t channel_multiplier, ConvLayerOptions o = {});

// ---- activations: activation(x, "relu") and one builder per function of <axon/activations.hpp>,
// with that function's default options (pass a function to activation() for others).
Model activation(const Model& x, const std::string& fn, NameOptions o = {});
Layer activation(const std::string& fn, NameOptions o = {});
Model activation(const Model& x, std::function<Tensor(const Tensor&)> fn, NameOptions o = {});
// The 22 activations of <axon/activations.hpp>, one builder each (X-macro over their names).
#define AXON_FOR_EACH_ACTIVATION(X) \
  X(celu) \
  X(elu) \
  X(exp) \
  X(gelu) \
  X(hard_sigmoid) \
  X(hard_silu) \
  X(hard_tanh) \
  X(leaky_relu) \
  X(linear) \
  X(log_sumexp) \
  X(log_sigmoid) \
  X(log_softmax) \
  X(mish) \
  X(relu) \
  X(relu6) \
  X(sigmoid) \
  X(silu) \
  X(selu) \
  X(softmax) \
  X(softplus) \
  X(softsign) \
  X(tanh)
#define AXON_ACTIVATION_BUILDER(fn)                   \
  Model fn(const Model& x, NameOptions o = {});       \
  Layer fn(NameOptions o = {});
AXON_FOR_EACH_ACTIVATION(AXON_ACTIVATION_BUILDER)
#undef AXON_ACTIVATION_BUILDER

// ---- dropout: active in train mode only (identity at inference, as Axon's :train-mode nodes),
// masks from ForwardOptions::generator. Papers' / PyTorch's formulas unless axon_semantics (see
// <axon/layers/dropout.hpp>).
struct DropoutLayerOptions {
  double rate = 0.5;  // 0 <= rate < 1
  Channels channels = Channels::last;  // spatial / feature-alpha dropout
  bool axon_semantics = false;
  std::string name = {};
};
#define AXON_DROPOUT_BUILDER(fn)                              \
  Model fn(const Model& x, DropoutLayerOptions o = {});       \
  Layer fn(DropoutLayerOptions o = {});
AXON_DROPOUT_BUILDER(dropout)
AXON_DROPOUT_BUILDER(spatial_dropout)
AXON_DROPOUT_BUILDER(alpha_dropout)
AXON_DROPOUT_BUILDER(feature_alpha_dropout)
#undef AXON_DROPOUT_BUILDER

// ---- pooling
struct PoolLayerOptions {
  SpatialSizes kernel_size = {1};
  SpatialSizes strides = {};  // default: the kernel size
  Padding padding = PaddingMode::valid;
  SpatialSizes dilations = {1};
  Channels channels = Channels::last;
  double norm = 2;  // lp_pool
  std::string name = {};
};
struct AdaptivePoolLayerOptions {
  SpatialSizes output_size = {};  // required: one value or one per spatial dim
  Channels channels = Channels::last;
  double norm = 2;
  std::string name = {};
};
struct GlobalPoolLayerOptions {
  bool keep_axes = false;
  Channels channels = Channels::last;
  double norm = 2;
  std::string name = {};
};
#define AXON_POOL_BUILDER(fn, Opts)            \
  Model fn(const Model& x, Opts o = {});       \
  Layer fn(Opts o = {});
AXON_POOL_BUILDER(max_pool, PoolLayerOptions)
AXON_POOL_BUILDER(avg_pool, PoolLayerOptions)
AXON_POOL_BUILDER(lp_pool, PoolLayerOptions)
AXON_POOL_BUILDER(adaptive_avg_pool, AdaptivePoolLayerOptions)
AXON_POOL_BUILDER(adaptive_max_pool, AdaptivePoolLayerOptions)
AXON_POOL_BUILDER(adaptive_lp_pool, AdaptivePoolLayerOptions)
AXON_POOL_BUILDER(global_avg_pool, GlobalPoolLayerOptions)
AXON_POOL_BUILDER(global_max_pool, GlobalPoolLayerOptions)
AXON_POOL_BUILDER(global_lp_pool, GlobalPoolLayerOptions)
#undef AXON_POOL_BUILDER
struct BlurPoolOptions {
  Channels channels = Channels::last;
  std::string name = {};
};
Model blur_pool(const Model& x, BlurPoolOptions o = {});
Layer blur_pool(BlurPoolOptions o = {});

// ---- normalization. ⚠ Axon initializes batch/instance/layer norm gamma with glorot_uniform; the
// default here is ones (PyTorch, and the identity transform the layer is meant to start from): pass
// .gamma_initializer = "glorot_uniform" for Axon's. Running statistics follow PyTorch's momentum
// convention unless .convention = layers::MomentumConvention::axon.
struct BatchNormLayerOptions {
  Initializer gamma_initializer = "ones";
  Initializer beta_initializer = "zeros";
  int64_t channel_index = -1;
  double epsilon = 1e-5;
  double momentum = 0.1;
  layers::MomentumConvention convention = layers::MomentumConvention::pytorch;
  std::string name = {};
};
// params gamma, beta [C]; state mean (zeros), var (ones) [C], updated by apply() in train mode.
Model batch_norm(const Model& x, BatchNormLayerOptions o = {});
Layer batch_norm(BatchNormLayerOptions o = {});
Model instance_norm(const Model& x, BatchNormLayerOptions o = {});  // rank >= 3
Layer instance_norm(BatchNormLayerOptions o = {});
struct LayerNormLayerOptions {  // layer_norm and group_norm
  Initializer gamma_initializer = "ones";
  Initializer beta_initializer = "zeros";
  int64_t channel_index = -1;
  double epsilon = 1e-5;
  std::string name = {};
};
Model layer_norm(const Model& x, LayerNormLayerOptions o = {});
Layer layer_norm(LayerNormLayerOptions o = {});
Model group_norm(const Model& x, int64_t num_groups, LayerNormLayerOptions o = {});
Layer group_norm(int64_t num_groups, LayerNormLayerOptions o = {});
struct RmsNormLayerOptions {
  Initializer gamma_initializer = "ones";
  int64_t channel_index = -1;
  double epsilon = 1e-6;
  double shift = 0;
  layers::RmsUpcast upcast = layers::RmsUpcast::normalization;
  std::string name = {};
};
Model rms_norm(const Model& x, RmsNormLayerOptions o = {});
Layer rms_norm(RmsNormLayerOptions o = {});

// ---- shape
Model flatten(const Model& x, NameOptions o = {});  // [batch, prod(rest)]
Layer flatten(NameOptions o = {});
// Every axis but the batch: out = [batch] + shape (one -1 is inferred from the known dims).
Model reshape(const Model& x, const Shape& shape, NameOptions o = {});
Layer reshape(const Shape& shape, NameOptions o = {});
// Permutes every axis (the batch included); empty reverses them all, as Axon's nil.
Model transpose(const Model& x, const std::vector<int64_t>& permutation = {}, NameOptions o = {});
Layer transpose(const std::vector<int64_t>& permutation, NameOptions o = {});
struct PadOptions {
  double value = 0;
  Channels channels = Channels::last;
  std::string name = {};
};
Model pad(const Model& x, const std::vector<std::pair<int64_t, int64_t>>& padding, PadOptions o = {});
Layer pad(const std::vector<std::pair<int64_t, int64_t>>& padding, PadOptions o = {});
struct ResizeLayerOptions {
  layers::ResizeMethod method = layers::ResizeMethod::nearest;
  bool antialias = true;
  Channels channels = Channels::last;
  std::string name = {};
};
Model resize(const Model& x, std::pair<int64_t, int64_t> size, ResizeLayerOptions o = {});  // rank 4
Layer resize(std::pair<int64_t, int64_t> size, ResizeLayerOptions o = {});

// ---- combinators (several inputs; broadcasting for the arithmetic ones, reduced left to right)
struct ConcatenateOptions {
  int64_t axis = -1;
  std::string name = {};
};
Model concatenate(const std::vector<Model>& xs, ConcatenateOptions o = {});
Model concatenate(const Model& x, const Model& y, ConcatenateOptions o = {});
Layer concatenate(const Model& other, ConcatenateOptions o = {});  // x | concatenate(y)
#define AXON_COMBINATOR_BUILDER(fn)                                         \
  Model fn(const std::vector<Model>& xs, NameOptions o = {});               \
  Model fn(const Model& x, const Model& y, NameOptions o = {});             \
  Layer fn(const Model& other, NameOptions o = {});
AXON_COMBINATOR_BUILDER(add)
AXON_COMBINATOR_BUILDER(subtract)
AXON_COMBINATOR_BUILDER(multiply)
#undef AXON_COMBINATOR_BUILDER
struct SplitOptions {
  int64_t axis = -1;
  std::vector<std::string> names = {};  // one per part; default split_<k>
};
// `parts` equal slices along axis (its size must be known and divisible): one Model per part.
std::vector<Model> split(const Model& x, int64_t parts, SplitOptions o = {});

// ---- recurrent (Axon's "Recurrent" builders). Parameters as Axon's per-gate maps, flattened with a
// dot: lstm "input_kernel.wii" .. "input_kernel.wio" [in, units], "hidden_kernel.whi" .. [units,
// units], "bias.bi" .. [units]; gru "input_kernel.wir"/"wiz"/"win", "hidden_kernel.whr"/"whz"/"whn",
// "bias.br"/"bz"/"bin"/"bhn". The backward direction of a bidirectional layer has the same names
// prefixed with "backward.". Math and masks as <axon/layers/recurrent.hpp>.
//
// A node has one output, so Axon's {output_sequence, {c, h}} tuple becomes `return_sequences`: true
// gives the output sequence [batch, time, units], false the final hidden state h [batch, units]
// (Keras' return_sequences; the last output step unless trailing steps are masked). The final cell
// state c is available from the functional layers::lstm.
enum class InitialState {
  zeros,   // PyTorch / Keras (default)
  random,  // ⚠ Axon: drawn per call with recurrent_initializer, shape [batch, units], from `seed`
};
struct RecurrentLayerOptions {
  Activation activation = "tanh";  // a name or a function (a function cannot be saved in a model file)
  Activation gate = "sigmoid";
  layers::Unroll unroll = layers::Unroll::dynamic_unroll;  // Axon's builder default; same result eagerly
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  // Empty: kernel_initializer, as Axon (which initializes the hidden kernels with it); "orthogonal"
  // is Keras' default for recurrent kernels.
  Initializer hidden_kernel_initializer = "";
  Initializer bias_initializer = "zeros";
  Model mask = {};  // [batch, time] (or [batch, time, 1]): nonzero = a padding step (Axon.mask)
  // Initial state models: lstm {c, h}, gru {h}, each [batch, units] (Axon's lstm(x, {c, h}, units)).
  std::vector<Model> hidden_state = {};
  InitialState initial_state = InitialState::zeros;  // when hidden_state is empty
  Initializer recurrent_initializer = "glorot_uniform";  // InitialState::random's draw
  uint64_t seed = 0;                                      // InitialState::random's stream
  bool return_sequences = true;
  // Runs a second, separately parameterized layer over the reversed sequence and concatenates the two
  // along the features (PyTorch / Keras; units * 2 outputs). ⚠ Axon's bidirectional shares one set of
  // parameters between the directions; that is not offered.
  bool bidirectional = false;
  std::string name = {};
};
// x [batch, time, features] (features known) -> [batch, time, units] or [batch, units].
Model lstm(const Model& x, int64_t units, RecurrentLayerOptions o = {});
Layer lstm(int64_t units, RecurrentLayerOptions o = {});
Model gru(const Model& x, int64_t units, RecurrentLayerOptions o = {});
Layer gru(int64_t units, RecurrentLayerOptions o = {});
struct ConvLstmLayerOptions {
  SpatialSizes kernel_size = {1};
  SpatialSizes strides = {1};
  Padding padding = PaddingMode::same;
  layers::Unroll unroll = layers::Unroll::dynamic_unroll;
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Model mask = {};
  std::vector<Model> hidden_state = {};  // {c, h}, each [batch, units, spatial...]
  InitialState initial_state = InitialState::zeros;
  Initializer recurrent_initializer = "glorot_uniform";
  uint64_t seed = 0;
  bool return_sequences = true;
  std::string name = {};
};
// Axon's conv_lstm, channels first: x [batch, time, channels, spatial...] -> [batch, time, units,
// spatial'...] (or the final h); params "input_kernel" [4 units, channels, k...], "hidden_kernel"
// [4 units, units, k...], "bias" [4 units]. The state keeps the conv's output size, so strides and
// padding must leave it unchanged for the hidden convolution (same padding, unit strides do).
Model conv_lstm(const Model& x, int64_t units, ConvLstmLayerOptions o = {});
Layer conv_lstm(int64_t units, ConvLstmLayerOptions o = {});
// Axon's mask(x, eos_token): x == eos_token (compared as integers), a bool [same shape] with true =
// padding, the mask the recurrent and attention builders take.
Model mask(const Model& x, int64_t eos_token, NameOptions o = {});

// ---- attention (elixir-nx/axon#271; PyTorch's nn.MultiheadAttention with Axon-layout kernels).
// params "wq", "wk", "wv" [in, embed] and "wo" [embed, embed]; "bq", "bk", "bv", "bo" [embed] with
// use_bias. Math as layers::multi_head_attention (<axon/layers/attention.hpp>).
struct MultiHeadAttentionLayerOptions {
  int64_t num_heads = 1;  // must divide the embedding size
  bool causal = false;    // step i attends steps j <= i
  Model mask = {};        // [batch, key time]: nonzero = a padding key, never attended (Axon.mask)
  double dropout_rate = 0;  // on the attention weights, train mode only
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  std::string name = {};
};
// Self-attention: x [batch, time, embed] -> [batch, time, embed].
Model multi_head_attention(const Model& x, MultiHeadAttentionLayerOptions o = {});
Layer multi_head_attention(MultiHeadAttentionLayerOptions o = {});
// Cross-attention: queries from `query` [batch, Tq, embed], keys and values from `context` [batch, Tk,
// C] (wk, wv [C, embed]) -> [batch, Tq, embed].
Model multi_head_attention(const Model& query, const Model& context, MultiHeadAttentionLayerOptions o = {});

// A parameterless function of one input (Axon's nx/2); output shape found by running it once.
Model nx(const Model& x, std::function<Tensor(const Tensor&)> fn, NameOptions o = {});
Layer nx(std::function<Tensor(const Tensor&)> fn, NameOptions o = {});

}  // namespace axon
