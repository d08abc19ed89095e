#pragma once
// Attention (the layers Axon users ask for in elixir-nx/axon#271): scaled dot-product
// attention with PyTorch's F.scaled_dot_product_attention semantics, and multi-head attention over
// [batch, time, embed] with Axon-layout projection kernels ([in, out], y = x W + b). Composed of
// differentiable axon ops (matmul, the fused softmax, where, dropout). A fused (flash-style) kernel
// would avoid materialising the [..., Tq, Tk] score matrix; this is the reference composite.
#include <cstdint>
#include <optional>

#include <axon/random.hpp>
#include <axon/tensor.hpp>

namespace axon::layers {

struct AttentionOptions {
  // Broadcastable to [..., Tq, Tk]. bool: true = may attend (F.scaled_dot_product_attention's
  // convention; note nn.MultiheadAttention's bool attn_mask is the opposite). Floating: added to the
  // scores (-inf forbids).
  Tensor mask = {};
  // Query i attends keys j <= i (top-left aligned when Tq != Tk, as PyTorch's is_causal). Combined
  // with `mask` when both are given (PyTorch refuses the pair).
  bool causal = false;
  std::optional<double> scale = std::nullopt;  // default 1 / sqrt(d)
  double dropout_rate = 0;                      // on the attention weights, when training
  Generator* generator = nullptr;               // dropout masks; default_generator() when null
  bool training = false;
};

// softmax(q k^T * scale + mask) v over q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] (leading axes
// broadcast) -> [..., Tq, dv]. Stable for any score magnitude (the fused softmax subtracts the row
// max). A query whose keys are all masked gets zero weights and a zero output (PyTorch >= 2.5's math
// path), with zero gradient, instead of NaN.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

// Projection kernels in Axon's dense layout: wq [Eq, E], wk [Ek, E], wv [Ev, E], wo [E, E]; biases
// [E] or undefined. Head h uses columns [h d, (h + 1) d) of the projections, d = E / num_heads
// (PyTorch's in_proj_weight transposed).
struct MultiHeadAttentionParams {
  Tensor wq, wk, wv, wo;
  Tensor bq = {}, bk = {}, bv = {}, bo = {};
};
struct MultiHeadAttentionOptions {
  int64_t num_heads = 1;
  bool causal = false;
  // Broadcastable to [batch, heads, Tq, Tk], as AttentionOptions::mask (bool true = may attend).
  Tensor mask = {};
  // [batch, Tk]: nonzero = a padding key, never attended (nn.MultiheadAttention's key_padding_mask and
  // Axon.mask's 1 = padding convention).
  Tensor key_padding_mask = {};
  std::optional<double> scale = std::nullopt;  // default 1 / sqrt(E / num_heads)
  double dropout_rate = 0;
  Generator* generator = nullptr;
  bool training = false;
};

// query [B, Tq, Eq], key [B, Tk, Ek], value [B, Tk, Ev] -> [B, Tq, E]:
// concat_h(attention(q W_q^h, k W_k^h, v W_v^h)) W_o + b_o. When query, key and value are the same
// tensor (self-attention) and wq, wk, wv have one shape, the three projections are one matmul.
Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                            const MultiHeadAttentionParams& params, const MultiHeadAttentionOptions& options = {});

}  // namespace axon::layers
