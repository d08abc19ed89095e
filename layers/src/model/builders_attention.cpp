// multi_head_attention: self- and cross-attention builders over layers::multi_head_attention.
#include "spec.hpp"

#include <axon/layers/attention.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

bool compatible(int64_t a, int64_t b) { return a == -1 || b == -1 || a == b; }

// inputs: query, [context], [mask]
Model attention_node(const std::vector<Model>& sources, const MultiHeadAttentionLayerOptions& o) {
  std::vector<Model> inputs = sources;
  if (o.mask.defined()) inputs.push_back(o.mask);
  const bool cross = sources.size() == 2;
  return detail::make_node("multi_head_attention", inputs, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("context", cross).options(o).str();
    const Shape& q = b.in[0];
    const Shape& c = b.in[cross ? 1 : 0];
    AXON_CHECK(q.size() == 3, b.who, "query shape {} must be [batch, time, embed]", to_string(q));
    AXON_CHECK(c.size() == 3, b.who, "context shape {} must be [batch, time, features]", to_string(c));
    AXON_CHECK(compatible(q[0], c[0]), b.who, "query shape {} and context shape {} have different batch sizes",
               to_string(q), to_string(c));
    const int64_t e = detail::known_dim(b, q, 2, "embedding dim");
    const int64_t ce = detail::known_dim(b, c, 2, "context feature dim");
    AXON_CHECK(o.num_heads >= 1 && e % o.num_heads == 0, b.who,
               "num_heads {} must divide the embedding size {} (input shape {})", o.num_heads, e, to_string(q));
    AXON_CHECK(o.dropout_rate >= 0 && o.dropout_rate < 1, b.who, "dropout_rate must be in [0, 1), got {}",
               o.dropout_rate);
    if (o.mask.defined()) {
      const Shape& m = b.in.back();
      AXON_CHECK(m.size() == 2 && compatible(m[0], c[0]) && compatible(m[1], c[1]), b.who,
                 "mask shape {} must be [batch, key time] = {} (nonzero = padding)", to_string(m),
                 to_string(Shape{c[0], c[1]}));
    }
    b.node.shape = q;
    b.node.params = {{.name = "wq", .shape = {e, e}, .initializer = o.kernel_initializer},
                     {.name = "wk", .shape = {ce, e}, .initializer = o.kernel_initializer},
                     {.name = "wv", .shape = {ce, e}, .initializer = o.kernel_initializer},
                     {.name = "wo", .shape = {e, e}, .initializer = o.kernel_initializer}};
    if (o.use_bias)
      for (const char* n : {"bq", "bk", "bv", "bo"})
        b.node.params.push_back({.name = n, .shape = {e}, .initializer = o.bias_initializer});
    b.node.options = {{"num_heads", std::to_string(o.num_heads)}, {"causal", o.causal ? "true" : "false"}};
    if (o.dropout_rate > 0) b.node.options.push_back({"dropout_rate", detail::show_number(o.dropout_rate)});

    const int64_t heads = o.num_heads;
    const bool causal = o.causal, has_mask = o.mask.defined();
    const double rate = o.dropout_rate;
    b.node.forward = [=](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
      auto opt = [&](const char* n) {
        auto it = p.find(n);
        return it == p.end() ? Tensor() : it->second;
      };
      layers::MultiHeadAttentionParams w{p.at("wq"), p.at("wk"), p.at("wv"), p.at("wo"),
                                         opt("bq"),  opt("bk"),  opt("bv"),  opt("bo")};
      layers::MultiHeadAttentionOptions a;
      a.num_heads = heads;
      a.causal = causal;
      if (has_mask) a.key_padding_mask = in.back();
      a.dropout_rate = rate;
      a.generator = ctx.generator;
      a.training = ctx.mode == Mode::train;
      const Tensor& context = cross ? in[1] : in[0];
      return layers::multi_head_attention(in[0], context, context, w, a);
    };
  });
}

}  // namespace

Model multi_head_attention(const Model& x, MultiHeadAttentionLayerOptions o) { return attention_node({x}, o); }
Layer multi_head_attention(MultiHeadAttentionLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return multi_head_attention(x, o); });
}
Model multi_head_attention(const Model& query, const Model& context, MultiHeadAttentionLayerOptions o) {
  return attention_node({query, context}, o);
}

}  // namespace axon
