// dense, bilinear, embedding, bias and the activation builders.
#include "spec.hpp"

#include <algorithm>

#include <axon/activations.hpp>
#include <axon/layers/linear.hpp>
#include <axon/ops.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

Tensor param_or_none(const ParamMap& p, const char* name) {
  auto it = p.find(name);
  return it == p.end() ? Tensor() : it->second;
}

}  // namespace

namespace detail {
Tensor DenseForward::operator()(const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) const {
  return layers::dense(in[0], p.at("kernel"), param_or_none(p, "bias"));
}
Tensor DenseForward::fused(const std::vector<Tensor>& in, const ParamMap& p, FusedActivation activation) const {
  return layers::dense(in[0], p.at("kernel"), param_or_none(p, "bias"), activation);
}
Tensor ActivationForward::operator()(const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) const {
  return activations::activate(fn, in[0]);
}
}  // namespace detail

Model dense(const Model& x, int64_t units, DenseOptions o) {
  Model m = detail::make_node("dense", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() >= 2, b.who, "input shape {} must have rank >= 2 ([batch, ..., features])", to_string(s));
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    const int64_t in = detail::known_dim(b, s, -1, "feature dim");
    b.node.shape = s;
    b.node.shape.back() = units;
    b.node.params.push_back({.name = "kernel", .shape = {in, units}, .initializer = o.kernel_initializer});
    if (o.use_bias) b.node.params.push_back({.name = "bias", .shape = {units}, .initializer = o.bias_initializer});
    b.node.forward = detail::DenseForward{};
  });
  return detail::with_activation(m, o.activation);
}
Layer dense(int64_t units, DenseOptions o) {
  return detail::as_layer([=](const Model& x) { return dense(x, units, o); });
}

Model bilinear(const Model& x1, const Model& x2, int64_t units, DenseOptions o) {
  Model m = detail::make_node("bilinear", {x1, x2}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    const Shape &a = b.in[0], &c = b.in[1];
    AXON_CHECK(a.size() >= 2 && a.size() == c.size(), b.who,
               "input shapes {} and {} must have the same rank >= 2", to_string(a), to_string(c));
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    Shape out(a.begin(), a.end() - 1);
    for (size_t i = 0; i + 1 < a.size(); ++i) {
      AXON_CHECK(a[i] == c[i] || a[i] == -1 || c[i] == -1, b.who,
                 "input shapes {} and {} must agree on every axis but the last", to_string(a), to_string(c));
      out[i] = a[i] == -1 ? c[i] : a[i];
    }
    out.push_back(units);
    const int64_t f1 = detail::known_dim(b, a, -1, "first input's feature dim");
    const int64_t f2 = detail::known_dim(b, c, -1, "second input's feature dim");
    b.node.shape = out;
    b.node.params.push_back({.name = "kernel", .shape = {units, f1, f2}, .initializer = o.kernel_initializer});
    if (o.use_bias) b.node.params.push_back({.name = "bias", .shape = {units}, .initializer = o.bias_initializer});
    b.node.forward = [](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::bilinear(in[0], in[1], p.at("kernel"), param_or_none(p, "bias"));
    };
  });
  return detail::with_activation(m, o.activation);
}

Model embedding(const Model& ids, int64_t vocab_size, int64_t embedding_size, EmbeddingOptions o) {
  return detail::make_node("embedding", {ids}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("vocab_size", vocab_size)("embedding_size", embedding_size).options(o).str();
    AXON_CHECK(vocab_size > 0 && embedding_size > 0, b.who,
               "vocab_size and embedding_size must be positive, got {} and {}", vocab_size, embedding_size);
    b.node.shape = b.in[0];
    b.node.shape.push_back(embedding_size);
    b.node.params.push_back(
        {.name = "kernel", .shape = {vocab_size, embedding_size}, .initializer = o.kernel_initializer});
    b.node.forward = [](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return layers::embedding(in[0], p.at("kernel"));
    };
  });
}
Layer embedding(int64_t vocab_size, int64_t embedding_size, EmbeddingOptions o) {
  return detail::as_layer([=](const Model& x) { return embedding(x, vocab_size, embedding_size, o); });
}

Model bias(const Model& x, BiasOptions o) {
  return detail::make_node("bias", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const int64_t n = detail::known_dim(b, b.in[0], -1, "last dim");
    b.node.shape = b.in[0];
    b.node.params.push_back({.name = "bias", .shape = {n}, .initializer = o.bias_initializer});
    b.node.forward = [](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
      return add(in[0], p.at("bias"));
    };
  });
}
Layer bias(BiasOptions o) {
  return detail::as_layer([=](const Model& x) { return bias(x, o); });
}

Model activation(const Model& x, const std::string& fn, NameOptions o) {
  const auto& valid = activations::names();
  AXON_CHECK(std::find(valid.begin(), valid.end(), fn) != valid.end(), "activation",
             "unknown activation \"{}\"; valid names: {}", fn, fmt::join(valid, ", "));
  return detail::make_node(fn, {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().str();
    b.node.shape = b.in[0];
    if (fn == "log_sumexp") {  // keeps the reduced (last) axis with size 1
      AXON_CHECK(!b.node.shape.empty(), b.who, "needs an input of rank >= 1");
      b.node.shape.back() = 1;
    }
    b.node.forward = detail::ActivationForward{fn};
  });
}
Layer activation(const std::string& fn, NameOptions o) {
  return detail::as_layer([=](const Model& x) { return activation(x, fn, o); });
}
Model activation(const Model& x, std::function<Tensor(const Tensor&)> fn, NameOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "activation", "the activation function is empty");
  return detail::make_node("activation", {x}, o.name, [&](NodeBuild& b) {
    b.node.forward = [fn](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) { return fn(in[0]); };
    b.node.shape = detail::trace_shape(b, b.node.forward);
  });
}

#define AXON_ACTIVATION_BUILDER(fn)                                                  \
  Model fn(const Model& x, NameOptions o) { return activation(x, #fn, std::move(o)); } \
  Layer fn(NameOptions o) { return activation(#fn, std::move(o)); }
AXON_FOR_EACH_ACTIVATION(AXON_ACTIVATION_BUILDER)
#undef AXON_ACTIVATION_BUILDER

}  // namespace axon
