// Scaled dot-product and multi-head attention, functional and as a model builder, against float64 loops.
#include <cmath>
#include <functional>
#include <limits>

#include <axon/layers/attention.hpp>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::Tol;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// bias(n, i, j): added to score (n, i, j); -inf forbids. Rows with no finite score give zeros.
using Bias = std::function<double(int64_t n, int64_t i, int64_t j)>;

// q [N, Tq, d], k [N, Tk, d], v [N, Tk, dv] (row-major, leading axes flattened into N).
std::vector<double> sdpa_ref(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                             int64_t N, int64_t Tq, int64_t Tk, int64_t d, int64_t dv, double scale,
                             const Bias& bias = {}) {
  std::vector<double> out(static_cast<size_t>(N * Tq * dv), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < Tq; ++i) {
      std::vector<double> s(static_cast<size_t>(Tk));
      double m = -kInf;
      for (int64_t j = 0; j < Tk; ++j) {
        double a = 0;
        for (int64_t e = 0; e < d; ++e) a += q[(n * Tq + i) * d + e] * k[(n * Tk + j) * d + e];
        s[j] = a * scale + (bias ? bias(n, i, j) : 0.0);
        m = std::max(m, s[j]);
      }
      if (m == -kInf) continue;
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - m));
      for (int64_t j = 0; j < Tk; ++j)
        for (int64_t e = 0; e < dv; ++e) out[(n * Tq + i) * dv + e] += s[j] / z * v[(n * Tk + j) * dv + e];
    }
  return out;
}

Tol tol_of(DType dt) { return dt == DType::f64 ? Tol{1e-10, 1e-12} : Tol{1e-4, 1e-5}; }

}  // namespace

TEST_CASE("scaled_dot_product_attention against float64 loops: causal, bool and additive masks",
          "[layers][attention]") {
  // [batch 2, heads 2, T, d]
  const int64_t Tq = 3, Tk = 5, d = 4, dv = 3, N = 4;
  Tensor q = random_tensor({2, 2, Tq, d}, DType::f64, -1, 1, 1);
  Tensor k = random_tensor({2, 2, Tk, d}, DType::f64, -1, 1, 2);
  Tensor v = random_tensor({2, 2, Tk, dv}, DType::f64, -1, 1, 3);
  auto qv = q.to_vector<double>(), kv = k.to_vector<double>(), vv = v.to_vector<double>();
  const double scale = 1 / std::sqrt(4.0);
  // Padding: batch 1 (n = 2, 3) may not attend keys 0 and 1.
  Tensor pad = from_vector<double>({1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, {2, 1, 1, Tk}).to(DType::boolean);
  auto padded = [](int64_t n, int64_t j) { return n >= 2 && j < 2; };
  Tensor add_mask = random_tensor({Tq, Tk}, DType::f64, -2, 2, 4);
  auto am = add_mask.to_vector<double>();

  struct Case {
    const char* name;
    layers::AttentionOptions o;
    Bias bias;
    double scale;
  };
  const std::vector<Case> cases = {
      {"plain", {}, {}, scale},
      {"causal (Tq < Tk, top-left)", {.causal = true}, [](int64_t, int64_t i, int64_t j) { return j <= i ? 0 : -kInf; },
       scale},
      {"bool padding mask", {.mask = pad}, [&](int64_t n, int64_t, int64_t j) { return padded(n, j) ? -kInf : 0; },
       scale},
      {"additive mask", {.mask = add_mask}, [&](int64_t, int64_t i, int64_t j) { return am[i * Tk + j]; }, scale},
      // Batch 1, query 0 sees only key 0 causally, which is padding: a fully masked row gives zeros.
      {"causal + padding, a fully masked row",
       {.mask = pad, .causal = true},
       [&](int64_t n, int64_t i, int64_t j) { return j <= i && !padded(n, j) ? 0 : -kInf; },
       scale},
      {"scale", {.scale = 0.3}, {}, 0.3},
  };
  for (const auto& c : cases)
    for (Device dev : test::devices())
      for (DType dt : {DType::f32, DType::f64}) {
        INFO(c.name << " " << dev.str() << " " << dtype_name(dt));
        auto ref = sdpa_ref(qv, kv, vv, N, Tq, Tk, d, dv, c.scale, c.bias);
        layers::AttentionOptions o = c.o;
        if (o.mask.defined()) o.mask = o.mask.to(dev).to(o.mask.dtype() == DType::boolean ? DType::boolean : dt);
        Tensor out = layers::scaled_dot_product_attention(q.to(dev).to(dt), k.to(dev).to(dt), v.to(dev).to(dt), o);
        check_close(out.to(Device::cpu()), ref, {2, 2, Tq, dv}, tol_of(dt));
      }
  // The fully masked rows really are zero (batch 1, query 0).
  Tensor out = layers::scaled_dot_product_attention(q, k, v, {.mask = pad, .causal = true});
  check_close(out.select(0, 1).select(1, 0), std::vector<double>(2 * dv, 0.0), {2, dv}, {0, 0});
}

TEST_CASE("scaled_dot_product_attention is stable for huge scores", "[layers][attention]") {
  Tensor q = random_tensor({1, 3, 4}, DType::f64, -1, 1, 5) * 1e3;
  Tensor k = random_tensor({1, 6, 4}, DType::f64, -1, 1, 6) * 1e3;
  Tensor v = random_tensor({1, 6, 2}, DType::f64, -1, 1, 7);
  auto ref = sdpa_ref(q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(), 1, 3, 6, 4, 2, 0.5);
  for (Device dev : test::devices()) {
    check_close(layers::scaled_dot_product_attention(q.to(dev), k.to(dev), v.to(dev)).to(Device::cpu()), ref, {1, 3, 2},
                tol_of(DType::f64));
    Tensor f = layers::scaled_dot_product_attention(q.to(dev).to(DType::f32), k.to(dev).to(DType::f32),
                                                    v.to(dev).to(DType::f32), {.causal = true});
    CHECK(all(lt(f.abs(), 10)).item<bool>());  // finite: no inf / NaN from exp overflow
  }
}

namespace {

struct MhaRef {
  int64_t B, Tq, Tk, Eq, Ec, E, H;
};

// Per-head loops: project, attend per head, concatenate, project out.
std::vector<double> mha_ref(const MhaRef& s, const std::vector<double>& xq, const std::vector<double>& xc,
                            const std::map<std::string, std::vector<double>>& w, bool causal,
                            const std::vector<int>& key_pad /* [B, Tk] or empty */) {
  auto proj = [](const std::vector<double>& x, int64_t rows, int64_t in, const std::vector<double>& wt,
                 const std::vector<double>& b, int64_t out) {
    std::vector<double> y(static_cast<size_t>(rows * out));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double a = b[o];
        for (int64_t i = 0; i < in; ++i) a += x[r * in + i] * wt[i * out + o];
        y[r * out + o] = a;
      }
    return y;
  };
  auto q = proj(xq, s.B * s.Tq, s.Eq, w.at("wq"), w.at("bq"), s.E);
  auto k = proj(xc, s.B * s.Tk, s.Ec, w.at("wk"), w.at("bk"), s.E);
  auto v = proj(xc, s.B * s.Tk, s.Ec, w.at("wv"), w.at("bv"), s.E);
  const int64_t d = s.E / s.H;
  std::vector<double> cat(static_cast<size_t>(s.B * s.Tq * s.E));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      std::vector<double> qh, kh, vh;
      for (int64_t t = 0; t < s.Tq; ++t)
        for (int64_t e = 0; e < d; ++e) qh.push_back(q[(b * s.Tq + t) * s.E + h * d + e]);
      for (int64_t t = 0; t < s.Tk; ++t)
        for (int64_t e = 0; e < d; ++e) {
          kh.push_back(k[(b * s.Tk + t) * s.E + h * d + e]);
          vh.push_back(v[(b * s.Tk + t) * s.E + h * d + e]);
        }
      auto o = sdpa_ref(qh, kh, vh, 1, s.Tq, s.Tk, d, d, 1 / std::sqrt(double(d)), [&](int64_t, int64_t i, int64_t j) {
        if (causal && j > i) return -kInf;
        if (!key_pad.empty() && key_pad[b * s.Tk + j]) return -kInf;
        return 0.0;
      });
      for (int64_t t = 0; t < s.Tq; ++t)
        for (int64_t e = 0; e < d; ++e) cat[(b * s.Tq + t) * s.E + h * d + e] = o[t * d + e];
    }
  return proj(cat, s.B * s.Tq, s.E, w.at("wo"), w.at("bo"), s.E);
}

layers::MultiHeadAttentionParams mha_params(int64_t eq, int64_t ec, int64_t e, uint64_t seed) {
  return {random_tensor({eq, e}, DType::f64, -0.7, 0.7, seed),     random_tensor({ec, e}, DType::f64, -0.7, 0.7, seed + 1),
          random_tensor({ec, e}, DType::f64, -0.7, 0.7, seed + 2), random_tensor({e, e}, DType::f64, -0.7, 0.7, seed + 3),
          random_tensor({e}, DType::f64, -0.3, 0.3, seed + 4),     random_tensor({e}, DType::f64, -0.3, 0.3, seed + 5),
          random_tensor({e}, DType::f64, -0.3, 0.3, seed + 6),     random_tensor({e}, DType::f64, -0.3, 0.3, seed + 7)};
}

std::map<std::string, std::vector<double>> values(const layers::MultiHeadAttentionParams& p) {
  return {{"wq", p.wq.to_vector<double>()}, {"wk", p.wk.to_vector<double>()}, {"wv", p.wv.to_vector<double>()},
          {"wo", p.wo.to_vector<double>()}, {"bq", p.bq.to_vector<double>()}, {"bk", p.bk.to_vector<double>()},
          {"bv", p.bv.to_vector<double>()}, {"bo", p.bo.to_vector<double>()}};
}

layers::MultiHeadAttentionParams to(const layers::MultiHeadAttentionParams& p, Device d, DType dt) {
  auto f = [&](const Tensor& t) { return t.defined() ? t.to(d).to(dt) : t; };
  return {f(p.wq), f(p.wk), f(p.wv), f(p.wo), f(p.bq), f(p.bk), f(p.bv), f(p.bo)};
}

}  // namespace

TEST_CASE("multi_head_attention against a per-head float64 loop: self and cross, causal, padding",
          "[layers][attention]") {
  const int64_t B = 2, T = 4, E = 6, H = 3;
  Tensor x = random_tensor({B, T, E}, DType::f64, -1, 1, 11);
  auto p = mha_params(E, E, E, 20);
  const std::vector<int> pad{0, 0, 0, 0, 0, 0, 1, 1};
  Tensor kpm = from_vector<int64_t>({0, 0, 0, 0, 0, 0, 1, 1}, {B, T});
  for (bool causal : {false, true})
    for (bool padded : {false, true}) {
      auto ref = mha_ref({B, T, T, E, E, E, H}, x.to_vector<double>(), x.to_vector<double>(), values(p), causal,
                         padded ? pad : std::vector<int>{});
      for (Device dev : test::devices())
        for (DType dt : {DType::f32, DType::f64}) {
          INFO("causal " << causal << " padded " << padded << " " << dev.str() << " " << dtype_name(dt));
          Tensor xd = x.to(dev).to(dt);
          Tensor out = layers::multi_head_attention(
              xd, xd, xd, to(p, dev, dt),
              {.num_heads = H, .causal = causal, .key_padding_mask = padded ? kpm.to(dev) : Tensor()});
          check_close(out.to(Device::cpu()), ref, {B, T, E}, tol_of(dt));
          // Separate (equal-valued) tensors take the three-matmul path: same result.
          Tensor out2 = layers::multi_head_attention(
              xd, xd.clone(), xd.clone(), to(p, dev, dt),
              {.num_heads = H, .causal = causal, .key_padding_mask = padded ? kpm.to(dev) : Tensor()});
          check_close(out2.to(Device::cpu()), ref, {B, T, E}, tol_of(dt));
        }
    }
  // Cross-attention: Tq 3 queries of width 6 over 4 context steps of width 5, no biases on k / v.
  Tensor xq = random_tensor({B, 3, E}, DType::f64, -1, 1, 12), xc = random_tensor({B, T, 5}, DType::f64, -1, 1, 13);
  auto pc = mha_params(E, 5, E, 40);
  auto vals = values(pc);
  pc.bk = Tensor();
  vals["bk"] = std::vector<double>(E, 0.0);
  auto ref = mha_ref({B, 3, T, E, 5, E, 2}, xq.to_vector<double>(), xc.to_vector<double>(), vals, false, pad);
  check_close(layers::multi_head_attention(xq, xc, xc, pc, {.num_heads = 2, .key_padding_mask = kpm}), ref, {B, 3, E},
              tol_of(DType::f64));
  // An explicit bool attention mask [B, 1, Tq, Tk] combined with the padding mask.
  Tensor allow = ones({B, 1, 3, T}, DType::boolean);
  check_close(layers::multi_head_attention(xq, xc, xc, pc, {.num_heads = 2, .mask = allow, .key_padding_mask = kpm}),
              ref, {B, 3, E}, tol_of(DType::f64));
}

TEST_CASE("attention gradients against finite differences", "[layers][attention]") {
  Tensor q = random_tensor({2, 3, 2}, DType::f64, -1, 1, 51), k = random_tensor({2, 4, 2}, DType::f64, -1, 1, 52);
  Tensor v = random_tensor({2, 4, 3}, DType::f64, -1, 1, 53), add_mask = random_tensor({3, 4}, DType::f64, -1, 1, 54);
  Tensor pad = from_vector<double>({1, 1, 1, 1, 0, 1, 1, 1}, {2, 1, 4}).to(DType::boolean);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::scaled_dot_product_attention(in[0], in[1], in[2], {.mask = in[3], .causal = true});
      },
      {q, k, v, add_mask});
  // With a fully masked row (batch 1, query 0): zero, finite gradients.
  check_grad(
      [pad](const std::vector<Tensor>& in) {
        return layers::scaled_dot_product_attention(in[0], in[1], in[2], {.mask = pad.to(in[0].device()), .causal = true});
      },
      {q, k, v});
  Tensor x = random_tensor({1, 3, 4}, DType::f64, -1, 1, 55);
  auto p = mha_params(4, 4, 4, 60);
  Tensor kpm = from_vector<int64_t>({0, 0, 1}, {1, 3});
  check_grad(
      [kpm](const std::vector<Tensor>& in) {
        layers::MultiHeadAttentionParams w{in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]};
        return layers::multi_head_attention(in[0], in[0], in[0], w,
                                            {.num_heads = 2, .causal = true, .key_padding_mask = kpm.to(in[0].device())});
      },
      {x, p.wq, p.wk, p.wv, p.wo, p.bq, p.bk, p.bv, p.bo});
}

TEST_CASE("attention dropout drops weights and rescales, only when training", "[layers][attention]") {
  const int64_t Tq = 4, Tk = 6;
  Tensor q = random_tensor({2, Tq, 3}, DType::f64, -1, 1, 71), k = random_tensor({2, Tk, 3}, DType::f64, -1, 1, 72);
  Tensor v = eye(Tk, -1, DType::f64).unsqueeze(0).expand({2, Tk, Tk});  // the output is the weights
  Tensor p = layers::scaled_dot_product_attention(q, k, v);
  Generator g1(5), g2(5);
  Tensor a = layers::scaled_dot_product_attention(q, k, v, {.dropout_rate = 0.5, .generator = &g1, .training = true});
  Tensor b = layers::scaled_dot_product_attention(q, k, v, {.dropout_rate = 0.5, .generator = &g2, .training = true});
  check_close(a, b, {0, 0});  // the same stream gives the same mask
  auto pv = p.to_vector<double>(), av = a.to_vector<double>();
  int dropped = 0, kept = 0;
  for (size_t i = 0; i < pv.size(); ++i) {
    if (av[i] == 0) {
      ++dropped;
    } else {
      ++kept;
      CHECK(std::fabs(av[i] - 2 * pv[i]) <= 1e-12);
    }
  }
  CHECK(dropped > 0);
  CHECK(kept > 0);
  check_close(layers::scaled_dot_product_attention(q, k, v, {.dropout_rate = 0.5}), p, {0, 0});  // not training
}

TEST_CASE("attention errors name the op and the shapes", "[layers][attention][errors]") {
  Tensor q = zeros({2, 3, 4}), k = zeros({2, 5, 4}), v = zeros({2, 5, 6});
  AXON_REQUIRE_THROWS_WITH(layers::scaled_dot_product_attention(q, zeros({2, 5, 3}), v),
                           "scaled_dot_product_attention: query f32[2, 3, 4] on cpu and key f32[2, 5, 3] on cpu must have "
                           "the same last dim");
  AXON_REQUIRE_THROWS_WITH(layers::scaled_dot_product_attention(q, k, zeros({2, 4, 6})),
                           "must have the same number of steps");
  AXON_REQUIRE_THROWS_WITH(layers::scaled_dot_product_attention(q, k, v, {.mask = ones({3, 4}, DType::boolean)}),
                           "the mask bool[3, 4] on cpu does not broadcast to the attention scores [2, 3, 5]");
  AXON_REQUIRE_THROWS_WITH(layers::scaled_dot_product_attention(q, k, v, {.mask = ones({3, 5}, DType::i32)}),
                           "must be bool (true = attend) or floating");
  AXON_REQUIRE_THROWS_WITH(layers::scaled_dot_product_attention(zeros({4}), k, v), "must be [..., T, d]");
  Tensor x = zeros({2, 3, 6});
  layers::MultiHeadAttentionParams p{zeros({6, 6}), zeros({6, 6}), zeros({6, 6}), zeros({6, 6})};
  AXON_REQUIRE_THROWS_WITH(layers::multi_head_attention(x, x, x, p, {.num_heads = 4}),
                           "multi_head_attention: num_heads 4 must divide the embedding size 6");
  auto bad = p;
  bad.wk = zeros({5, 6});
  AXON_REQUIRE_THROWS_WITH(layers::multi_head_attention(x, x, x, bad, {.num_heads = 2}),
                           "wk is f32[5, 6] on cpu but must be [6, 6] for the input f32[2, 3, 6] on cpu");
  bad = p;
  bad.bo = zeros({5});
  AXON_REQUIRE_THROWS_WITH(layers::multi_head_attention(x, x, x, bad, {.num_heads = 2}), "bo must be [6]");
  AXON_REQUIRE_THROWS_WITH(
      layers::multi_head_attention(x, x, x, p, {.num_heads = 2, .key_padding_mask = zeros({2, 4})}),
      "key_padding_mask must be [batch, Tk] = [2, 3]");
  AXON_REQUIRE_THROWS_WITH(
      layers::multi_head_attention(x, x, x, p, {.num_heads = 2, .mask = ones({2, 2, 3, 4}, DType::boolean)}),
      "multi_head_attention: the mask bool[2, 2, 3, 4] on cpu does not broadcast");
  AXON_REQUIRE_THROWS_WITH(layers::multi_head_attention(zeros({3, 6}), x, x, p), "must be [batch, time, embed]");
}

TEST_CASE("multi_head_attention builder: shapes, parameters, padding mask, apply, gradients", "[layers][attention][model]") {
  Model x = input("x", {-1, 4, 6});
  Model m = x | multi_head_attention({.num_heads = 3, .causal = true});
  CHECK(m.output_shape() == Shape{-1, 4, 6});
  CHECK(m.name() == "multi_head_attention_0");
  Params p = init(m, {.dtype = DType::f64, .seed = 2});
  const auto& w = p.at("multi_head_attention_0");
  REQUIRE(w.size() == 8);
  for (const char* n : {"wq", "wk", "wv", "wo"}) {
    CHECK(w.at(n).shape() == Shape{6, 6});
    CHECK(w.at(n).abs().max().item<double>() <= std::sqrt(6.0 / 12.0));  // glorot_uniform
  }
  CHECK(w.at("bq").shape() == Shape{6});
  CHECK(parameter_count(m) == 4 * 36 + 4 * 6);
  Tensor xv = random_tensor({2, 4, 6}, DType::f64, -1, 1, 81);
  layers::MultiHeadAttentionParams lp{w.at("wq"), w.at("wk"), w.at("wv"), w.at("wo"),
                                      w.at("bq"), w.at("bk"), w.at("bv"), w.at("bo")};
  auto ref = mha_ref({2, 4, 4, 6, 6, 6, 3}, xv.to_vector<double>(), xv.to_vector<double>(), values(lp), true, {});
  check_close(predict(m, p, xv), ref, {2, 4, 6}, tol_of(DType::f64));

  // A padding mask from token ids (Axon's mask builder: 1 = padding).
  Model tokens = input("tokens", {-1, 4});
  Model masked = multi_head_attention(x, {.num_heads = 3, .mask = mask(tokens, 0), .use_bias = false});
  Params pm = init(masked, {.dtype = DType::f64, .seed = 3});
  CHECK(pm.at("multi_head_attention_0").size() == 4);
  const auto& wm = pm.at("multi_head_attention_0");
  Tensor ids = from_vector<int64_t>({3, 1, 4, 1, 5, 9, 0, 0}, {2, 4});
  layers::MultiHeadAttentionParams mp{wm.at("wq"), wm.at("wk"), wm.at("wv"), wm.at("wo")};
  auto vals = values({mp.wq, mp.wk, mp.wv, mp.wo, zeros({6}, DType::f64), zeros({6}, DType::f64),
                      zeros({6}, DType::f64), zeros({6}, DType::f64)});
  auto mref = mha_ref({2, 4, 4, 6, 6, 6, 3}, xv.to_vector<double>(), xv.to_vector<double>(), vals, false,
                      {0, 0, 0, 0, 0, 0, 1, 1});
  check_close(predict(masked, pm, {{"x", xv}, {"tokens", ids}}), mref, {2, 4, 6}, tol_of(DType::f64));

  // Cross-attention.
  Model ctx = input("ctx", {-1, 5, 3});
  Model cross = multi_head_attention(input("q", {-1, 2, 4}), ctx, {.num_heads = 2});
  CHECK(cross.output_shape() == Shape{-1, 2, 4});
  Params pc = init(cross, {.dtype = DType::f64, .seed = 4});
  CHECK(pc.at("multi_head_attention_0").at("wk").shape() == Shape{3, 4});
  CHECK(pc.at("multi_head_attention_0").at("wq").shape() == Shape{4, 4});
  CHECK(predict(cross, pc, {{"q", zeros({2, 2, 4}, DType::f64)}, {"ctx", zeros({2, 5, 3}, DType::f64)}}).shape() ==
        Shape{2, 2, 4});

  // Dropout runs in train mode only.
  Model drop = x | multi_head_attention({.num_heads = 3, .dropout_rate = 0.5});
  Params pd = init(drop, {.dtype = DType::f64, .seed = 2});
  Tensor inf = predict(drop, pd, xv);
  check_close(inf, predict(x | multi_head_attention({.num_heads = 3}), pd, xv), {0, 0});
  Generator gen(1);
  Tensor tr = apply(drop, pd, xv, {.mode = Mode::train, .generator = &gen}).output;
  CHECK((tr - inf).abs().max().item<double>() > 1e-6);

  // Gradients through apply.
  auto f = [m, p](const std::vector<Tensor>& in) {
    Params q = p;
    q["multi_head_attention_0"]["wk"] = in[1];
    q["multi_head_attention_0"]["bo"] = in[2];
    for (auto& [layer, entries] : q)
      for (auto& [name, t] : entries) t = t.to(in[0].device()).to(in[0].dtype());
    return apply(m, q, in[0]).output;
  };
  check_grad(f, {random_tensor({1, 4, 6}, DType::f64, -1, 1, 82), w.at("wk"), w.at("bo")});

  AXON_REQUIRE_THROWS_WITH(x | multi_head_attention({.num_heads = 4}),
                           "multi_head_attention_0 (multi_head_attention): num_heads 4 must divide the embedding size 6");
  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 6}) | multi_head_attention(), "query shape [-1, 6] must be [batch, time, embed]");
  AXON_REQUIRE_THROWS_WITH(multi_head_attention(x, {.mask = input("m", {-1, 5})}),
                           "mask shape [-1, 5] must be [batch, key time]");
  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 4, -1}) | multi_head_attention(), "embedding dim");
}
