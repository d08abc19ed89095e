// User-defined layers: layer() with a forward function and parameter specs, and Axon's nx().
#include "graph.hpp"

#include <set>

namespace axon {

using detail::NodeBuild;

Model layer(const std::vector<Model>& inputs, ForwardFn forward, CustomLayerOptions o) {
  AXON_CHECK(static_cast<bool>(forward), "layer", "the forward function is empty");
  AXON_CHECK(!inputs.empty(), "layer", "a layer needs at least one input");
  AXON_CHECK(!o.op_name.empty() && o.op_name != "input", "layer", "op_name \"{}\" is reserved or empty", o.op_name);
  return detail::make_node(o.op_name, inputs, o.name, [&](NodeBuild& b) {
    std::set<std::string> seen;
    for (ParamSpec p : o.params) {
      AXON_CHECK(!p.name.empty() && seen.insert(p.name).second, b.who,
                 "parameter names must be non-empty and unique, got \"{}\" twice or empty", p.name);
      if (p.shape_fn) p.shape = p.shape_fn(b.in);
      b.node.params.push_back(std::move(p));
    }
    b.node.forward = std::move(forward);
    b.node.options = o.options;
    b.node.shape = o.output_shape ? o.output_shape(b.in) : detail::trace_shape(b, b.node.forward);
  });
}

Model layer(const Model& x, ForwardFn forward, CustomLayerOptions o) {
  return layer(std::vector<Model>{x}, std::move(forward), std::move(o));
}

Layer layer(ForwardFn forward, CustomLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return layer(std::vector<Model>{x}, forward, o); });
}

Model nx(const Model& x, std::function<Tensor(const Tensor&)> fn, NameOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "nx", "the function is empty");
  return detail::make_node("nx", {x}, o.name, [&](NodeBuild& b) {
    b.node.forward = [fn](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) { return fn(in[0]); };
    b.node.shape = detail::trace_shape(b, b.node.forward);
  });
}
Layer nx(std::function<Tensor(const Tensor&)> fn, NameOptions o) {
  return detail::as_layer([=](const Model& x) { return nx(x, fn, o); });
}

}  // namespace axon
