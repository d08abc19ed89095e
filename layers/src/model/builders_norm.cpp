// Normalization and dropout builders: the layers with state or a train-only behaviour.
#include "spec.hpp"

#include <axon/layers/dropout.hpp>
#include <axon/layers/normalization.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

// The channel count at channel_index, after checking the rank.
int64_t norm_channels(const NodeBuild& b, int64_t channel_index, size_t min_rank) {
  const Shape& s = b.in[0];
  AXON_CHECK(s.size() >= min_rank, b.who, "input shape {} must have rank >= {}", to_string(s), min_rank);
  return detail::known_dim(b, s, channel_index, "channel dim (channel_index)");
}

Model stat_norm(const char* op, const Model& x, const BatchNormLayerOptions& o, bool instance) {
  return detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const int64_t c = norm_channels(b, o.channel_index, instance ? 3 : 2);
    b.node.shape = b.in[0];
    b.node.params = {{.name = "gamma", .shape = {c}, .initializer = o.gamma_initializer},
                     {.name = "beta", .shape = {c}, .initializer = o.beta_initializer},
                     {.name = "mean", .shape = {c}, .initializer = "zeros", .state = true},
                     {.name = "var", .shape = {c}, .initializer = "ones", .state = true}};
    b.node.options = {{"epsilon", detail::show_number(o.epsilon)},
                      {"channel_index", std::to_string(o.channel_index)},
                      {"momentum", detail::show_number(o.momentum)}};
    layers::BatchNormOptions bo{o.epsilon, o.channel_index, o.momentum, false, o.convention};
    b.node.forward = [bo, instance](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
      layers::BatchNormOptions run = bo;
      run.training = ctx.mode == Mode::train;
      auto f = instance ? layers::instance_norm : layers::batch_norm;
      auto r = f(in[0], p.at("gamma"), p.at("beta"), p.at("mean"), p.at("var"), run);
      if (run.training) {
        ctx.state["mean"] = r.running_mean;
        ctx.state["var"] = r.running_var;
      }
      return r.output;
    };
  });
}

}  // namespace

Model batch_norm(const Model& x, BatchNormLayerOptions o) { return stat_norm("batch_norm", x, o, false); }
Layer batch_norm(BatchNormLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return batch_norm(x, o); });
}
Model instance_norm(const Model& x, BatchNormLayerOptions o) { return stat_norm("instance_norm", x, o, true); }
Layer instance_norm(BatchNormLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return instance_norm(x, o); });
}

Model layer_norm(const Model& x, LayerNormLayerOptions o) {
  return detail::make_node("layer_norm", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const int64_t c = norm_channels(b, o.channel_index, 1);
    b.node.shape = b.in[0];
    b.node.params = {{.name = "gamma", .shape = {c}, .initializer = o.gamma_initializer},
                     {.name = "beta", .shape = {c}, .initializer = o.beta_initializer}};
    b.node.options = {{"epsilon", detail::show_number(o.epsilon)}, {"channel_index", std::to_string(o.channel_index)}};
    layers::LayerNormOptions lo{o.epsilon, o.channel_index};
    b.node.forward = [lo](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::layer_norm(in[0], p.at("gamma"), p.at("beta"), lo);
    };
  });
}
Layer layer_norm(LayerNormLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return layer_norm(x, o); });
}

Model group_norm(const Model& x, int64_t num_groups, LayerNormLayerOptions o) {
  return detail::make_node("group_norm", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("num_groups", num_groups).options(o).str();
    const int64_t c = norm_channels(b, o.channel_index, 2);
    AXON_CHECK(num_groups >= 1 && c % num_groups == 0, b.who,
               "num_groups {} must divide the {} channels of input shape {}", num_groups, c, to_string(b.in[0]));
    b.node.shape = b.in[0];
    b.node.params = {{.name = "gamma", .shape = {c}, .initializer = o.gamma_initializer},
                     {.name = "beta", .shape = {c}, .initializer = o.beta_initializer}};
    b.node.options = {{"num_groups", std::to_string(num_groups)},
                      {"epsilon", detail::show_number(o.epsilon)},
                      {"channel_index", std::to_string(o.channel_index)}};
    layers::GroupNormOptions go{num_groups, o.epsilon, o.channel_index};
    b.node.forward = [go](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::group_norm(in[0], p.at("gamma"), p.at("beta"), go);
    };
  });
}
Layer group_norm(int64_t num_groups, LayerNormLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return group_norm(x, num_groups, o); });
}

Model rms_norm(const Model& x, RmsNormLayerOptions o) {
  return detail::make_node("rms_norm", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const int64_t c = norm_channels(b, o.channel_index, 1);
    b.node.shape = b.in[0];
    b.node.params = {{.name = "gamma", .shape = {c}, .initializer = o.gamma_initializer}};
    b.node.options = {{"epsilon", detail::show_number(o.epsilon)},
                      {"channel_index", std::to_string(o.channel_index)},
                      {"shift", detail::show_number(o.shift)},
                      {"upcast", detail::enum_name(o.upcast)}};
    layers::RmsNormOptions ro{o.epsilon, o.channel_index, o.shift, o.upcast};
    b.node.forward = [ro](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::rms_norm(in[0], p.at("gamma"), ro);
    };
  });
}
Layer rms_norm(RmsNormLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return rms_norm(x, o); });
}

namespace {

using DropFn = Tensor (*)(const Tensor&, Generator&, layers::DropoutOptions);

// Identity at inference (Axon's :train-mode nodes); masks from ctx.generator in train mode.
Model dropout_node(const char* op, DropFn fn, const Model& x, const DropoutLayerOptions& o, bool channelwise) {
  return detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    AXON_CHECK(o.rate >= 0 && o.rate < 1, b.who, "rate must be in [0, 1), got {}", o.rate);
    if (channelwise)
      AXON_CHECK(b.in[0].size() >= 2, b.who, "input shape {} must have rank >= 2 ([batch, ..., channels])",
                 to_string(b.in[0]));
    b.node.shape = b.in[0];
    b.node.options = {{"rate", detail::show_number(o.rate)}};
    if (channelwise) b.node.options.push_back({"channels", detail::show_channels(o.channels)});
    layers::DropoutOptions d;
    d.rate = o.rate;
    d.training = true;
    d.channels = o.channels;
    d.axon_semantics = o.axon_semantics;
    b.node.forward = [fn, d](const std::vector<Tensor>& in, const ParamMap&, ForwardContext& ctx) {
      return ctx.mode == Mode::train ? fn(in[0], *ctx.generator, d) : in[0];
    };
  });
}

}  // namespace

#define AXON_DROPOUT_BUILDER(fn, channelwise)                                                     \
  Model fn(const Model& x, DropoutLayerOptions o) { return dropout_node(#fn, layers::fn, x, o, channelwise); } \
  Layer fn(DropoutLayerOptions o) {                                                               \
    return detail::as_layer([=](const Model& x) { return fn(x, o); });                            \
  }
AXON_DROPOUT_BUILDER(dropout, false)
AXON_DROPOUT_BUILDER(spatial_dropout, true)
AXON_DROPOUT_BUILDER(alpha_dropout, false)
AXON_DROPOUT_BUILDER(feature_alpha_dropout, true)
#undef AXON_DROPOUT_BUILDER

}  // namespace axon
