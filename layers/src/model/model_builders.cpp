// load_model's table of builders: for each op, read the arguments its builder recorded (spec.hpp)
// and call that builder again.
#include "model_file_internal.hpp"

namespace axon::detail {

namespace {

using R = SpecReader;

// An op whose builder takes the input and an options struct.
template <class O, class F>
SpecBuilder unary(F build) {
  return [build](R& r) {
    Model x = r.input();
    O o;
    r.options(o);
    return build(x, o);
  };
}

// An op whose builder takes the input, one integer and an options struct.
template <class O, class F>
SpecBuilder unary_n(const char* key, F build) {
  return [key, build](R& r) {
    Model x = r.input();
    int64_t n = 0;
    O o;
    r(key, n).options(o);
    return build(x, n, o);
  };
}

std::map<std::string, SpecBuilder> make_table() {
  std::map<std::string, SpecBuilder> t;
  t["dense"] = unary_n<DenseOptions>("units", [](auto& x, int64_t n, auto& o) { return dense(x, n, o); });
  t["bilinear"] = [](R& r) {
    Model x1 = r.input(), x2 = r.input();
    int64_t units = 0;
    DenseOptions o;
    r("units", units).options(o);
    return bilinear(x1, x2, units, o);
  };
  t["embedding"] = [](R& r) {
    Model ids = r.input();
    int64_t vocab = 0, dim = 0;
    EmbeddingOptions o;
    r("vocab_size", vocab)("embedding_size", dim).options(o);
    return embedding(ids, vocab, dim, o);
  };
  t["bias"] = unary<BiasOptions>([](auto& x, auto& o) { return bias(x, o); });
  t["conv"] = unary_n<ConvLayerOptions>("units", [](auto& x, int64_t n, auto& o) { return conv(x, n, o); });
  t["conv_transpose"] =
      unary_n<ConvLayerOptions>("units", [](auto& x, int64_t n, auto& o) { return conv_transpose(x, n, o); });
  t["depthwise_conv"] = unary_n<ConvLayerOptions>(
      "channel_multiplier", [](auto& x, int64_t n, auto& o) { return depthwise_conv(x, n, o); });
  t["separable_conv2d"] = unary_n<ConvLayerOptions>(
      "channel_multiplier", [](auto& x, int64_t n, auto& o) { return separable_conv2d(x, n, o); });
  t["separable_conv3d"] = unary_n<ConvLayerOptions>(
      "channel_multiplier", [](auto& x, int64_t n, auto& o) { return separable_conv3d(x, n, o); });
#define AXON_ACTIVATION_ENTRY(fn) \
  t[#fn] = unary<NameOptions>([](auto& x, auto&) { return activation(x, #fn); });
  AXON_FOR_EACH_ACTIVATION(AXON_ACTIVATION_ENTRY)
#undef AXON_ACTIVATION_ENTRY
#define AXON_OPTIONS_ENTRY(fn, O) t[#fn] = unary<O>([](auto& x, auto& o) { return fn(x, o); });
  AXON_OPTIONS_ENTRY(dropout, DropoutLayerOptions)
  AXON_OPTIONS_ENTRY(spatial_dropout, DropoutLayerOptions)
  AXON_OPTIONS_ENTRY(alpha_dropout, DropoutLayerOptions)
  AXON_OPTIONS_ENTRY(feature_alpha_dropout, DropoutLayerOptions)
  AXON_OPTIONS_ENTRY(max_pool, PoolLayerOptions)
  AXON_OPTIONS_ENTRY(avg_pool, PoolLayerOptions)
  AXON_OPTIONS_ENTRY(lp_pool, PoolLayerOptions)
  AXON_OPTIONS_ENTRY(adaptive_avg_pool, AdaptivePoolLayerOptions)
  AXON_OPTIONS_ENTRY(adaptive_max_pool, AdaptivePoolLayerOptions)
  AXON_OPTIONS_ENTRY(adaptive_lp_pool, AdaptivePoolLayerOptions)
  AXON_OPTIONS_ENTRY(global_avg_pool, GlobalPoolLayerOptions)
  AXON_OPTIONS_ENTRY(global_max_pool, GlobalPoolLayerOptions)
  AXON_OPTIONS_ENTRY(global_lp_pool, GlobalPoolLayerOptions)
  AXON_OPTIONS_ENTRY(blur_pool, BlurPoolOptions)
  AXON_OPTIONS_ENTRY(batch_norm, BatchNormLayerOptions)
  AXON_OPTIONS_ENTRY(instance_norm, BatchNormLayerOptions)
  AXON_OPTIONS_ENTRY(layer_norm, LayerNormLayerOptions)
  AXON_OPTIONS_ENTRY(rms_norm, RmsNormLayerOptions)
  AXON_OPTIONS_ENTRY(flatten, NameOptions)
#undef AXON_OPTIONS_ENTRY
  t["group_norm"] =
      unary_n<LayerNormLayerOptions>("num_groups", [](auto& x, int64_t n, auto& o) { return group_norm(x, n, o); });
  t["lstm"] = unary_n<RecurrentLayerOptions>("units", [](auto& x, int64_t n, auto& o) { return lstm(x, n, o); });
  t["gru"] = unary_n<RecurrentLayerOptions>("units", [](auto& x, int64_t n, auto& o) { return gru(x, n, o); });
  t["conv_lstm"] =
      unary_n<ConvLstmLayerOptions>("units", [](auto& x, int64_t n, auto& o) { return conv_lstm(x, n, o); });
  t["mask"] = unary_n<NameOptions>("eos_token", [](auto& x, int64_t n, auto&) { return mask(x, n); });
  t["multi_head_attention"] = [](R& r) {
    Model q = r.input();
    bool cross = false;
    r("context", cross);
    Model context = cross ? r.input() : Model();
    MultiHeadAttentionLayerOptions o;
    r.options(o);
    return cross ? multi_head_attention(q, context, o) : multi_head_attention(q, o);
  };
  t["reshape"] = [](R& r) {
    Model x = r.input();
    Shape shape;
    r("shape", shape);
    return reshape(x, shape);
  };
  t["transpose"] = [](R& r) {
    Model x = r.input();
    std::vector<int64_t> perm;
    r("permutation", perm);
    return transpose(x, perm);
  };
  t["pad"] = [](R& r) {
    Model x = r.input();
    std::vector<std::pair<int64_t, int64_t>> padding;
    PadOptions o;
    r("padding", padding).options(o);
    return pad(x, padding, o);
  };
  t["resize"] = [](R& r) {
    Model x = r.input();
    std::pair<int64_t, int64_t> size;
    ResizeLayerOptions o;
    r("size", size).options(o);
    return resize(x, size, o);
  };
  t["concatenate"] = [](R& r) {
    ConcatenateOptions o;
    r.options(o);
    return concatenate(r.rest(), o);
  };
  t["add"] = [](R& r) { return add(r.rest()); };
  t["subtract"] = [](R& r) { return subtract(r.rest()); };
  t["multiply"] = [](R& r) { return multiply(r.rest()); };
  t["split"] = [](R& r) {
    Model x = r.input();
    int64_t parts = 0, axis = -1, index = 0;
    r("parts", parts)("axis", axis)("index", index);
    // Checked here: split() builds every part before the caller picks one.
    AXON_CHECK(parts >= 1 && parts <= 4096 && index >= 0 && index < parts, r.who(),
               "index {} of {} parts: expected 0 <= index < parts <= 4096", index, parts);
    return split(x, parts, {.axis = axis})[static_cast<size_t>(index)];
  };
  return t;
}

}  // namespace

const SpecBuilder* spec_builder(const std::string& op) {
  static const std::map<std::string, SpecBuilder> table = make_table();
  auto it = table.find(op);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace axon::detail
