// Scaled dot-product and multi-head attention as compositions of axon ops.
#include <axon/layers/attention.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <axon/layers/dropout.hpp>
#include <axon/ops.hpp>

#include "unbind.hpp"

namespace axon::layers {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

Tensor as_bool(const Tensor& m) { return m.dtype() == DType::boolean ? m : ne(m, 0); }

Tensor attention(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  AXON_CHECK(q.defined() && k.defined() && v.defined(), op, "query, key and value must be defined");
  AXON_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, op,
             "query, key and value must be [..., T, d], got {}, {} and {}", describe(q), describe(k), describe(v));
  AXON_CHECK(q.is_floating_point() && k.is_floating_point() && v.is_floating_point(), op,
             "query, key and value must be floating, got {}, {} and {}", describe(q), describe(k), describe(v));
  const int64_t d = q.size(-1);
  AXON_CHECK(k.size(-1) == d, op, "query {} and key {} must have the same last dim (d)", describe(q), describe(k));
  AXON_CHECK(k.size(-2) == v.size(-2), op, "key {} and value {} must have the same number of steps (axis -2)",
             describe(k), describe(v));
  AXON_CHECK(o.dropout_rate >= 0 && o.dropout_rate < 1, op, "dropout_rate must be in [0, 1), got {}", o.dropout_rate);
  const double scale = o.scale.value_or(1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(d, 1))));
  Tensor s = matmul(mul(q, scale), transpose(k, -2, -1));  // [..., Tq, Tk]
  const int64_t tq = s.size(-2), tk = s.size(-1);

  Tensor allowed;
  if (o.mask.defined()) {
    const Tensor& m = o.mask;
    bool fits = m.dim() <= s.dim();
    for (int64_t i = 1; fits && i <= m.dim(); ++i) fits = m.size(-i) == 1 || m.size(-i) == s.size(-i);
    AXON_CHECK(fits, op, "the mask {} does not broadcast to the attention scores {} ([..., Tq, Tk])", describe(m),
               to_string(s.shape()));
    if (m.dtype() == DType::boolean) {
      allowed = m;
    } else {
      AXON_CHECK(m.is_floating_point(), op, "the mask must be bool (true = attend) or floating (added), got {}",
                 describe(m));
      s = add(s, m);
    }
  }
  if (o.causal) {
    Tensor i = unsqueeze(arange(static_cast<double>(tq), DType::i64, s.device()), 1);
    Tensor j = unsqueeze(arange(static_cast<double>(tk), DType::i64, s.device()), 0);
    Tensor c = ge(i, j);
    allowed = allowed.defined() ? logical_and(allowed, c) : c;
  }
  if (allowed.defined()) s = where(allowed, s, kNegInf);
  Tensor p;
  if (o.mask.defined() || o.causal) {
    // Rows with no allowed key: softmax of finite values, then zeroed, so neither the output nor the
    // gradient is NaN.
    Tensor row_ok = any(gt(s, kNegInf), {-1}, true);
    p = where(row_ok, softmax(where(row_ok, s, 0.0), -1), 0.0);
  } else {
    p = softmax(s, -1);
  }
  if (o.training && o.dropout_rate > 0) {
    DropoutOptions d_opts;
    d_opts.rate = o.dropout_rate;
    d_opts.training = true;
    p = dropout(p, o.generator != nullptr ? *o.generator : default_generator(), d_opts);
  }
  return matmul(p, v);
}

// [B, T, E] -> [B, heads, T, E / heads]
Tensor split_heads(const Tensor& x, int64_t heads) {
  return permute(axon::reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), {0, 2, 1, 3});
}

Tensor dense_part(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = matmul(x, w);
  return b.defined() ? add(y, b) : y;
}

void check_kernel(const char* op, const char* name, const Tensor& w, int64_t in, int64_t out, const Tensor& input) {
  AXON_CHECK(w.defined() && w.dim() == 2, op, "{} must be a [in, out] kernel, got {}", name,
             w.defined() ? describe(w) : std::string("undefined"));
  AXON_CHECK(w.size(0) == in && (out < 0 || w.size(1) == out), op, "{} is {} but must be [{}, {}] for the input {}",
             name, describe(w), in, out < 0 ? w.size(1) : out, describe(input));
}

void check_bias(const char* op, const char* name, const Tensor& b, int64_t n) {
  AXON_CHECK(!b.defined() || b.shape() == Shape({n}), op, "{} must be [{}], got {}", name, n, describe(b));
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  return attention("scaled_dot_product_attention", q, k, v, o);
}

Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                            const MultiHeadAttentionParams& p, const MultiHeadAttentionOptions& o) {
  const char* op = "multi_head_attention";
  AXON_CHECK(query.defined() && key.defined() && value.defined(), op, "query, key and value must be defined");
  AXON_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, op,
             "query, key and value must be [batch, time, embed], got {}, {} and {}", describe(query), describe(key),
             describe(value));
  const int64_t b = query.size(0), tq = query.size(1), tk = key.size(1);
  AXON_CHECK(key.size(0) == b && value.size(0) == b, op, "query {}, key {} and value {} must have one batch size",
             describe(query), describe(key), describe(value));
  AXON_CHECK(value.size(1) == tk, op, "key {} and value {} must have the same number of steps", describe(key),
             describe(value));
  AXON_CHECK(p.wq.defined() && p.wq.dim() == 2, op, "wq must be a [in, embed] kernel, got {}",
             p.wq.defined() ? describe(p.wq) : std::string("undefined"));
  const int64_t e = p.wq.size(1);
  check_kernel(op, "wq", p.wq, query.size(2), e, query);
  check_kernel(op, "wk", p.wk, key.size(2), e, key);
  check_kernel(op, "wv", p.wv, value.size(2), e, value);
  AXON_CHECK(p.wo.defined() && p.wo.dim() == 2 && p.wo.size(0) == e, op, "wo must be [{}, out], got {}", e,
             p.wo.defined() ? describe(p.wo) : std::string("undefined"));
  check_bias(op, "bq", p.bq, e);
  check_bias(op, "bk", p.bk, e);
  check_bias(op, "bv", p.bv, e);
  check_bias(op, "bo", p.bo, p.wo.size(1));
  const int64_t h = o.num_heads;
  AXON_CHECK(h >= 1 && e % h == 0, op, "num_heads {} must divide the embedding size {}", h, e);

  Tensor q, k, v;
  const bool self = query.impl_ptr() == key.impl_ptr() && key.impl_ptr() == value.impl_ptr();
  const bool same_bias = p.bq.defined() == p.bk.defined() && p.bk.defined() == p.bv.defined();
  if (self && same_bias) {
    // One matmul for the three projections.
    Tensor w = concat({p.wq, p.wk, p.wv}, 1);
    Tensor bias = p.bq.defined() ? concat({p.bq, p.bk, p.bv}, 0) : Tensor();
    auto qkv = detail::chunk(dense_part(query, w, bias), 3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = dense_part(query, p.wq, p.bq);
    k = dense_part(key, p.wk, p.bk);
    v = dense_part(value, p.wv, p.bv);
  }

  AttentionOptions a;
  a.mask = o.mask;
  a.causal = o.causal;
  a.scale = o.scale;
  a.dropout_rate = o.dropout_rate;
  a.generator = o.generator;
  a.training = o.training;
  if (o.key_padding_mask.defined()) {
    const Tensor& kpm = o.key_padding_mask;
    AXON_CHECK(kpm.shape() == Shape({b, tk}), op, "key_padding_mask must be [batch, Tk] = [{}, {}], got {}", b, tk,
               describe(kpm));
    Tensor keep = axon::reshape(logical_not(as_bool(kpm)), {b, 1, 1, tk});
    if (!a.mask.defined())
      a.mask = keep;
    else if (a.mask.dtype() == DType::boolean)
      a.mask = logical_and(a.mask, keep);
    else
      a.mask = where(keep, a.mask, kNegInf);
  }
  Tensor out = attention(op, split_heads(q, h), split_heads(k, h), split_heads(v, h), a);  // [B, H, Tq, d]
  out = axon::reshape(permute(out, {0, 2, 1, 3}), {b, tq, e});
  return dense_part(out, p.wo, p.bo);
}

}  // namespace axon::layers
