// Pooling builders: window pools, adaptive, global and blur pools over <axon/layers/pooling.hpp>.
#include "spec.hpp"

#include <axon/layers/pooling.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

using PoolFn = Tensor (*)(const Tensor&, layers::PoolOptions);

Model window_pool(const char* op, PoolFn fn, const Model& x, const PoolLayerOptions& o, bool lp) {
  return detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const Shape& s = b.in[0];
    detail::channel_axis(b, s, o.channels);
    const int64_t nd = static_cast<int64_t>(s.size()) - 2;
    AXON_CHECK(!o.kernel_size.empty(), b.who, "kernel_size is required");
    auto k = detail::per_dim(b, o.kernel_size, nd, "kernel_size");
    auto st = o.strides.empty() ? k : detail::per_dim(b, o.strides, nd, "strides");
    auto dil = detail::per_dim(b, o.dilations, nd, "dilations");
    if (o.padding.mode == PaddingMode::explicit_pads)
      AXON_CHECK(static_cast<int64_t>(o.padding.pads.size()) == nd, b.who,
                 "padding has {} (lo, hi) pairs but input shape {} has {} spatial dims", o.padding.pads.size(),
                 to_string(s), nd);
    if (lp) AXON_CHECK(o.norm > 0, b.who, "norm must be positive, got {}", o.norm);
    const int64_t first = o.channels == Channels::last ? 1 : 2;
    b.node.shape = s;
    for (int64_t d = 0; d < nd; ++d)
      b.node.shape[first + d] = detail::window_out(b, s[first + d], k[d], st[d], dil[d], 1, o.padding, d);
    b.node.options = {{"kernel_size", detail::show_list(k)},
                      {"strides", detail::show_list(st)},
                      {"padding", detail::show_padding(o.padding)},
                      {"window_dilations", detail::show_list(dil)},
                      {"channels", detail::show_channels(o.channels)}};
    if (lp) b.node.options.push_back({"norm", detail::show_number(o.norm)});
    layers::PoolOptions po{k, st, o.padding, dil, o.channels, o.norm};
    if (fn == static_cast<PoolFn>(layers::max_pool)) {
      b.node.forward = detail::MaxPoolForward{po};
      return;
    }
    b.node.forward = [fn, po](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return fn(in[0], po);
    };
  });
}

using AdaptiveFn = Tensor (*)(const Tensor&, layers::AdaptivePoolOptions);

Model adaptive_pool(const char* op, AdaptiveFn fn, const Model& x, const AdaptivePoolLayerOptions& o, bool lp) {
  return detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const Shape& s = b.in[0];
    detail::channel_axis(b, s, o.channels);
    const int64_t nd = static_cast<int64_t>(s.size()) - 2, first = o.channels == Channels::last ? 1 : 2;
    AXON_CHECK(!o.output_size.empty(), b.who, "output_size is required");
    auto os = detail::per_dim(b, o.output_size, nd, "output_size");
    b.node.shape = s;
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t in = s[first + d];
      AXON_CHECK(in > 0, b.who, "adaptive pooling needs the spatial dims known, got input shape {}", to_string(s));
      AXON_CHECK(os[d] <= in, b.who, "output_size {} is larger than spatial dim {} of input shape {}",
                 detail::show_list(os), d, to_string(s));
      b.node.shape[first + d] = os[d];
    }
    b.node.options = {{"output_size", detail::show_list(os)}, {"channels", detail::show_channels(o.channels)}};
    if (lp) b.node.options.push_back({"norm", detail::show_number(o.norm)});
    layers::AdaptivePoolOptions ao{os, o.channels, o.norm};
    b.node.forward = [fn, ao](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return fn(in[0], ao);
    };
  });
}

using GlobalFn = Tensor (*)(const Tensor&, layers::GlobalPoolOptions);

Model global_pool(const char* op, GlobalFn fn, const Model& x, const GlobalPoolLayerOptions& o, bool lp) {
  return detail::make_node(op, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const Shape& s = b.in[0];
    const int64_t cax = detail::channel_axis(b, s, o.channels);
    Shape out{s[0]};
    if (o.keep_axes) {
      out.assign(s.size(), 1);
      out[0] = s[0];
      out[cax] = s[cax];
    } else {
      out.push_back(s[cax]);
    }
    b.node.shape = out;
    b.node.options = {{"keep_axes", o.keep_axes ? "true" : "false"}, {"channels", detail::show_channels(o.channels)}};
    if (lp) b.node.options.push_back({"norm", detail::show_number(o.norm)});
    layers::GlobalPoolOptions go{o.keep_axes, o.channels, o.norm};
    b.node.forward = [fn, go](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return fn(in[0], go);
    };
  });
}

}  // namespace

Tensor detail::MaxPoolForward::operator()(const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) const {
  return layers::max_pool(in[0], options);
}

#define AXON_POOL_BUILDER(fn, Opts, impl, lp)                                       \
  Model fn(const Model& x, Opts o) { return impl(#fn, layers::fn, x, o, lp); }      \
  Layer fn(Opts o) {                                                                \
    return detail::as_layer([=](const Model& x) { return fn(x, o); });              \
  }
AXON_POOL_BUILDER(max_pool, PoolLayerOptions, window_pool, false)
AXON_POOL_BUILDER(avg_pool, PoolLayerOptions, window_pool, false)
AXON_POOL_BUILDER(lp_pool, PoolLayerOptions, window_pool, true)
AXON_POOL_BUILDER(adaptive_avg_pool, AdaptivePoolLayerOptions, adaptive_pool, false)
AXON_POOL_BUILDER(adaptive_max_pool, AdaptivePoolLayerOptions, adaptive_pool, false)
AXON_POOL_BUILDER(adaptive_lp_pool, AdaptivePoolLayerOptions, adaptive_pool, true)
AXON_POOL_BUILDER(global_avg_pool, GlobalPoolLayerOptions, global_pool, false)
AXON_POOL_BUILDER(global_max_pool, GlobalPoolLayerOptions, global_pool, false)
AXON_POOL_BUILDER(global_lp_pool, GlobalPoolLayerOptions, global_pool, true)
#undef AXON_POOL_BUILDER

Model blur_pool(const Model& x, BlurPoolOptions o) {
  return detail::make_node("blur_pool", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    AXON_CHECK(b.in[0].size() == 4, b.who, "input shape {} must have rank 4", to_string(b.in[0]));
    b.node.shape = b.in[0];
    b.node.options = {{"channels", detail::show_channels(o.channels)}};
    b.node.forward = [ch = o.channels](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::blur_pool(in[0], ch);
    };
  });
}
Layer blur_pool(BlurPoolOptions o) {
  return detail::as_layer([=](const Model& x) { return blur_pool(x, o); });
}

}  // namespace axon
