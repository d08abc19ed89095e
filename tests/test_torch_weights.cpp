// from_torch_state_dict: PyTorch's layouts mapped onto axon's parameters (the numerics of a whole
// torchvision ResNet-18 are checked against PyTorch by .ci/onnx).
#include <axon/model.hpp>
#include <axon/ops.hpp>
#include <axon/torch_weights.hpp>

#include "catch.hpp"
#include "harness.hpp"

using namespace axon;

namespace {

// Values 0, 1, 2, ... so that every position is distinguishable.
Tensor iota(const Shape& s) { return arange(0, static_cast<double>(numel(s))).reshape(s); }

float at(const Tensor& t, const std::vector<int64_t>& index) {
  Tensor v = t;
  for (int64_t i : index) v = v.select(0, i);
  return v.item<float>();
}

}  // namespace

TEST_CASE("torch weights: Linear is transposed, Conv OIHW becomes HWIO, BatchNorm keeps its statistics",
          "[torch_weights]") {
  Model m = input("x", {-1, 6, 6, 2}) | conv(5, {.kernel_size = {3}}) | batch_norm() | flatten() | dense(3);
  const TensorMap sd{{"c.weight", iota({5, 2, 3, 3})}, {"c.bias", iota({5})},
                     {"bn.weight", iota({5})},          {"bn.bias", iota({5})},
                     {"bn.running_mean", iota({5})},    {"bn.running_var", add(iota({5}), 1.0)},
                     {"bn.num_batches_tracked", zeros({}, DType::i64)},
                     {"fc.weight", iota({3, 80})},      {"fc.bias", iota({3})}};
  const Params p = from_torch_state_dict(m, sd, {{"conv_0", "c"}, {"batch_norm_0", "bn"}, {"dense_0", "fc"}});
  const Tensor& k = p.at("conv_0").at("kernel");
  REQUIRE(k.shape() == Shape{3, 3, 2, 5});
  for (int64_t o : {0, 4})
    for (int64_t i : {0, 1})
      CHECK(at(k, {2, 1, i, o}) == at(sd.at("c.weight"), {o, i, 2, 1}));
  const Tensor& d = p.at("dense_0").at("kernel");
  REQUIRE(d.shape() == Shape{80, 3});
  CHECK(at(d, {7, 2}) == at(sd.at("fc.weight"), {2, 7}));
  CHECK(at(p.at("batch_norm_0").at("var"), {3}) == 4.0f);
  CHECK(at(p.at("batch_norm_0").at("mean"), {3}) == 3.0f);
}

TEST_CASE("torch weights: LSTM gates i, f, g, o and GRU r, z, n with their biases", "[torch_weights]") {
  const int64_t h = 3, in = 2;
  Model m = input("s", {-1, 4, in}) | lstm(h) | gru(h);
  const TensorMap sd{{"l.weight_ih_l0", iota({4 * h, in})}, {"l.weight_hh_l0", iota({4 * h, h})},
                     {"l.bias_ih_l0", iota({4 * h})},       {"l.bias_hh_l0", mul(iota({4 * h}), 10.0)},
                     {"g.weight_ih_l0", iota({3 * h, h})},  {"g.weight_hh_l0", iota({3 * h, h})},
                     {"g.bias_ih_l0", iota({3 * h})},       {"g.bias_hh_l0", mul(iota({3 * h}), 10.0)}};
  const Params p = from_torch_state_dict(m, sd, {{"lstm_0", "l"}, {"gru_0", "g"}});
  const ParamMap& l = p.at("lstm_0");
  // g is PyTorch's third block of rows: wig[j, u] = weight_ih[2h + u, j].
  CHECK(at(l.at("input_kernel.wig"), {1, 2}) == at(sd.at("l.weight_ih_l0"), {2 * h + 2, 1}));
  CHECK(at(l.at("hidden_kernel.who"), {0, 1}) == at(sd.at("l.weight_hh_l0"), {3 * h + 1, 0}));
  CHECK(at(l.at("bias.bf"), {1}) == (h + 1) * 11.0f);  // bias_ih + bias_hh
  const ParamMap& g = p.at("gru_0");
  CHECK(at(g.at("input_kernel.wiz"), {0, 0}) == at(sd.at("g.weight_ih_l0"), {h, 0}));
  CHECK(at(g.at("bias.br"), {2}) == 2 * 11.0f);
  CHECK(at(g.at("bias.bin"), {0}) == 2.0f * h);    // n's input bias alone
  CHECK(at(g.at("bias.bhn"), {0}) == 20.0f * h);   // and its hidden bias, scaled by the reset gate
}

TEST_CASE("torch weights: MultiheadAttention's packed in_proj", "[torch_weights]") {
  const int64_t e = 4;
  Model m = input("t", {-1, 5, e}) | multi_head_attention({.num_heads = 2});
  const TensorMap sd{{"a.in_proj_weight", iota({3 * e, e})}, {"a.in_proj_bias", iota({3 * e})},
                     {"a.out_proj.weight", iota({e, e})},   {"a.out_proj.bias", iota({e})}};
  const Params p = from_torch_state_dict(m, sd, {{"multi_head_attention_0", "a"}});
  const ParamMap& a = p.at("multi_head_attention_0");
  CHECK(at(a.at("wv"), {1, 3}) == at(sd.at("a.in_proj_weight"), {2 * e + 3, 1}));
  CHECK(at(a.at("bk"), {0}) == static_cast<float>(e));
  CHECK(at(a.at("wo"), {0, 2}) == at(sd.at("a.out_proj.weight"), {2, 0}));
}

TEST_CASE("torch weights: what does not fit is an error naming the layer or key", "[torch_weights]") {
  Model m = input("x", {-1, 4}) | dense(3) | relu() | dense(2);
  TensorMap sd{{"a.weight", iota({3, 4})}, {"a.bias", iota({3})}, {"b.weight", iota({2, 3})}, {"b.bias", iota({2})}};
  const std::map<std::string, std::string> names{{"dense_0", "a"}, {"dense_1", "b"}};
  CHECK(from_torch_state_dict(m, sd, names).size() == 2);
  AXON_REQUIRE_THROWS_WITH(from_torch_state_dict(m, sd, {{"dense_0", "a"}}), "missing from name_map: dense_1 (dense)");
  AXON_REQUIRE_THROWS_WITH(from_torch_state_dict(m, sd, {{"dense_0", "a"}, {"dense_1", "b"}, {"dense_7", "c"}}),
                           "names layer \"dense_7\"");
  TensorMap wrong = sd;
  wrong["b.weight"] = iota({3, 3});
  AXON_REQUIRE_THROWS_WITH(from_torch_state_dict(m, wrong, names), "has shape [3, 3] but the model's is [3, 2]");
  TensorMap missing = sd;
  missing.erase("b.bias");
  AXON_REQUIRE_THROWS_WITH(from_torch_state_dict(m, missing, names), "has no \"b.bias\"");
  TensorMap extra = sd;
  extra["b.scale"] = iota({2});
  AXON_REQUIRE_THROWS_WITH(from_torch_state_dict(m, extra, names), "no parameter uses: b.scale");
}

TEST_CASE("torch weights: ConvTranspose [in, out, k...] becomes [k..., in, out] with the window reversed",
          "[torch_weights]") {
  Model m = input("x", {-1, 4, 4, 2}) | conv_transpose(3, {.kernel_size = {3, 2}, .strides = {2}, .use_bias = false});
  const TensorMap sd{{"up.weight", iota({2, 3, 3, 2})}};
  const Params p = from_torch_state_dict(m, sd, {{"conv_transpose_0", "up"}});
  const Tensor& k = p.at("conv_transpose_0").at("kernel");
  REQUIRE(k.shape() == Shape{3, 2, 2, 3});
  for (int64_t i : {0, 1})
    for (int64_t o : {0, 2})
      for (int64_t a : {0, 1, 2})
        for (int64_t b : {0, 1}) CHECK(at(k, {a, b, i, o}) == at(sd.at("up.weight"), {i, o, 2 - a, 1 - b}));
}
