// Model files (<axon/model/model_file.hpp>): every builder of the model API is saved and loaded
// again; the loaded model must print the same summary, create bit-identical parameters from the same
// seed and predict bit-identical outputs. Hostile files give axon::Error.
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "harness.hpp"

#include <axon/mixed_precision.hpp>

using namespace axon;
using axon::test::random_tensor;

namespace {

void check_bits(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  Tensor x = a.to(Device::cpu()).contiguous(), y = b.to(Device::cpu()).contiguous();
  CHECK(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0);
}

void check_same_params(const Params& a, const Params& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [layer, entries] : a) {
    REQUIRE(b.count(layer));
    REQUIRE(entries.size() == b.at(layer).size());
    for (const auto& [name, t] : entries) {
      INFO(layer << "." << name);
      REQUIRE(b.at(layer).count(name));
      check_bits(t, b.at(layer).at(name));
    }
  }
}

// Saves m with and without parameters, loads both and compares everything observable.
void round_trip(const std::string& tag, const Model& m, const std::map<std::string, Tensor>& inputs) {
  INFO(tag);
  const Params p = init(m, {.seed = 11});
  const std::string with = test::temp_path(tag + "_with.safetensors"), without = test::temp_path(tag + "_without.safetensors");
  save_model(with, m, p);
  save_model(without, m);
  LoadedModel a = load_model(with), b = load_model(without);
  CHECK(b.params.empty());
  CHECK(summary(a.model) == summary(m));
  CHECK(summary(b.model) == summary(m));
  std::ostringstream os1, os2;
  os1 << m;
  os2 << a.model;
  CHECK(os1.str() == os2.str());
  check_same_params(a.params, p);
  check_same_params(init(b.model, {.seed = 11}), p);  // initializers and their options round-trip
  check_bits(predict(a.model, a.params, inputs), predict(m, p, inputs));
  Generator g1(5), g2(5);  // train mode: dropout masks and batch statistics too
  check_bits(apply(a.model, a.params, inputs, {.mode = Mode::train, .generator = &g1}).output,
             apply(m, p, inputs, {.mode = Mode::train, .generator = &g2}).output);
  std::filesystem::remove(with);
  std::filesystem::remove(without);
}

Tensor ids(const Shape& shape, int64_t vocab, uint64_t seed) {
  return cast(axon::floor(random_tensor(shape, DType::f32, 0, static_cast<double>(vocab) - 0.01, seed)), DType::i64);
}

}  // namespace

TEST_CASE("model files round-trip the linear, activation, dropout and norm builders", "[model][model_file]") {
  Model x = input("x", {-1, 8});
  Model h = x | dense(16, {.activation = "relu", .kernel_initializer = "he_normal", .bias_initializer = "ones"});
  h = h | batch_norm({.epsilon = 1e-3, .momentum = 0.2, .convention = layers::MomentumConvention::axon}) |
      dropout({.rate = 0.3}) | layer_norm({.gamma_initializer = "glorot_uniform", .epsilon = 1e-4}) |
      rms_norm({.shift = 0.5, .upcast = layers::RmsUpcast::all}) | bias({.bias_initializer = "normal"}) |
      alpha_dropout({.rate = 0.1, .axon_semantics = true});
  h = h | celu() | elu() | gelu() | hard_sigmoid() | hard_silu() | hard_tanh() | leaky_relu() | linear() |
      log_sigmoid() | mish() | relu6() | sigmoid() | silu() | selu() | softplus() | softsign() | tanh() | exp();
  Model s = add({h | log_softmax(), h | softmax(), h | log_sumexp()});
  Model d = subtract(s, multiply(h, s, {.name = "prod"}));
  Model y = concatenate({d, x}, {.axis = 1, .name = "cat_{n}"}) | dense(3, {.use_bias = false, .name = "head"});
  Model z = bilinear(y, y, 2, {.kernel_initializer = "lecun_normal"});
  round_trip("linear", z, {{"x", random_tensor({4, 8}, DType::f32, -1, 1, 3)}});
}

TEST_CASE("model files round-trip the conv, pool and shape builders", "[model][model_file]") {
  Model x = input("img", {-1, 8, 8, 3});
  Model c = x | conv(4, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu",
                         .kernel_initializer = "he_uniform"}) |
            conv(4, {.kernel_size = {3, 3}, .padding = Padding({{1, 1}, {1, 1}}), .feature_group_size = 2}) |
            depthwise_conv(2, {.kernel_size = {3}, .padding = PaddingMode::same, .kernel_dilation = {2}}) |
            separable_conv2d(1, {.kernel_size = {3}, .padding = PaddingMode::same, .use_bias = false}) |
            conv_transpose(4, {.kernel_size = {2}, .strides = {2}}) | spatial_dropout({.rate = 0.2}) |
            feature_alpha_dropout({.rate = 0.2}) | max_pool({.kernel_size = {2}}) |
            avg_pool({.kernel_size = {2}, .strides = {1}, .padding = PaddingMode::same}) |
            lp_pool({.kernel_size = {2}, .norm = 3}) | blur_pool() | instance_norm() |
            group_norm(2, {.epsilon = 1e-3});
  Model pools = concatenate({c | adaptive_avg_pool({.output_size = {1}}) | flatten(),
                             c | adaptive_max_pool({.output_size = {1, 1}}) | flatten(),
                             c | adaptive_lp_pool({.output_size = {1}, .norm = 3}) | flatten(),
                             c | global_avg_pool(), c | global_max_pool({.keep_axes = true}) | flatten(),
                             c | global_lp_pool({.norm = 1.5})});
  Model first = x | transpose({0, 3, 1, 2}) |
                conv(2, {.kernel_size = {3}, .strides = {1, 2}, .channels = Channels::first}) |
                max_pool({.kernel_size = {2}, .strides = {1}, .channels = Channels::first}) | flatten();
  Model padded = x | pad({{1, 1}, {2, 0}}, {.value = -INFINITY}) | max_pool({.kernel_size = {2}}) |
                 resize({4, 4}, {.method = layers::ResizeMethod::bilinear}) | reshape({-1, 3}) | flatten();
  Model out = concatenate({pools, first, padded}) | dense(5);
  round_trip("conv", out, {{"img", random_tensor({2, 8, 8, 3}, DType::f32, -1, 1, 4)}});

  Model v = input("vol", {-1, 4, 4, 4, 2}) | separable_conv3d(2, {.kernel_size = {2}}) | flatten();
  round_trip("conv3d", v, {{"vol", random_tensor({2, 4, 4, 4, 2}, DType::f32, -1, 1, 5)}});
}

TEST_CASE("model files round-trip the recurrent, attention and embedding builders", "[model][model_file]") {
  Model tokens = input("tokens", {-1, 5});
  Model c0 = input("c0", {-1, 6}), h0 = input("h0", {-1, 6});
  Model e = tokens | embedding(20, 8, {.kernel_initializer = "normal"});
  Model l = lstm(e, 6, {.hidden_kernel_initializer = "orthogonal", .mask = mask(tokens, 0), .hidden_state = {c0, h0}});
  Model g = gru(l, 6, {.unroll = layers::Unroll::static_unroll, .initial_state = InitialState::random, .seed = 7,
                       .bidirectional = true});
  Model a = multi_head_attention(g, {.num_heads = 2, .causal = true, .dropout_rate = 0.1});
  Model x = multi_head_attention(a, e, {.num_heads = 3, .mask = mask(tokens, 0), .use_bias = false});
  Model out = gru(x, 4, {.activation = "relu", .gate = "hard_sigmoid", .return_sequences = false});
  round_trip("recurrent", out,
             {{"tokens", ids({3, 5}, 20, 8)},
              {"c0", random_tensor({3, 6}, DType::f32, -1, 1, 9)},
              {"h0", random_tensor({3, 6}, DType::f32, -1, 1, 10)}});

  Model seq = input("seq", {-1, 3, 2, 4, 4}) |
              conv_lstm(3, {.kernel_size = {3}, .return_sequences = false}) | flatten();
  round_trip("conv_lstm", seq, {{"seq", random_tensor({2, 3, 2, 4, 4}, DType::f32, -1, 1, 11)}});
}

TEST_CASE("model files round-trip blocks, ties, splits, policies, pinned names and custom layers",
          "[model][model_file]") {
  Block shared = block([](const Model& m) { return m | dense(4) | relu() | layer_norm(); }, {.name = "shared"});
  Model x = input("x", {-1, 4});
  Model b = shared(shared(x));  // two calls, one set of parameters
  auto parts = split(b, 2, {.axis = 1, .names = {"left", "right"}});
  Model m = add(parts[0], parts[1]) | dense(4);
  m = apply_policy(m, {.params = DType::f32, .compute = DType::bf16, .output = DType::f32}, {.only = {"dense"}});
  m = capture(m, "dense_0") | dense(3, {.name = "head"});  // pins the kept names
  round_trip("block", m, {{"x", random_tensor({3, 4}, DType::f32, -1, 1, 12)}});

  Model t = input("ids", {-1, 3}) | embedding(10, 4, {.name = "emb"}) | dense(10, {.use_bias = false, .name = "out"});
  t = tie(t, "out", "kernel", "emb", "kernel", {.transpose = true});
  round_trip("tie", t, {{"ids", ids({2, 3}, 10, 13)}});

  // A custom layer loads once its builder is registered.
  // snippet-begin: custom
  auto scale = [](const std::vector<Model>& in, const std::map<std::string, std::string>& o) {
    const double factor = std::stod(o.at("factor"));
    return layer(
        in,
        [factor](const std::vector<Tensor>& xs, const ParamMap& p, ForwardContext&) {
          return xs[0] * p.at("w") * factor;
        },
        {.params = {{.name = "w", .shape = {4}, .initializer = "ones"}}, .op_name = "test_scale",
         .options = {{"factor", o.at("factor")}}});
  };
  // snippet-end: custom
  Model c = scale({x}, {{"factor", "2.5"}}) | dense(2);
  const std::string path = test::temp_path("custom.safetensors");
  save_model(path, c, init(c));
  AXON_REQUIRE_THROWS_WITH(load_model(path), "register_custom_layer(\"test_scale\"");
  AXON_REQUIRE_THROWS_WITH(load_model(path), "test_scale_0");
  register_custom_layer("test_scale", scale);
  round_trip("custom", c, {{"x", random_tensor({3, 4}, DType::f32, -1, 1, 14)}});
  AXON_REQUIRE_THROWS_WITH(register_custom_layer("dense", scale), "built-in");

  // A node given a new forward by map_nodes is no longer its builder's: saved as custom, it names itself.
  Model changed = map_nodes(x | dense(2) | relu(), [](NodeView v) {
    if (v.op == "relu") v.forward = [](const std::vector<Tensor>& xs, const ParamMap&, ForwardContext&) { return xs[0]; };
    return v;
  });
  save_model(path, changed);
  AXON_REQUIRE_THROWS_WITH(load_model(path), "\"relu_0\" was given another forward function (map_nodes)");
  std::filesystem::remove(path);
}

namespace {

// A model file whose metadata is given as is.
std::string write_file(const std::string& name, const std::string& version, const std::string& graph,
                       const TensorMap& tensors = {}) {
  const std::string path = test::temp_path(name);
  save_safetensors(path, tensors, {{"axon.format_version", version}, {"axon.model", graph}});
  return path;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("hostile model files give axon::Error", "[model][model_file]") {
  Model m = input("x", {-1, 3}) | dense(2) | relu();
  const std::string good = test::temp_path("good.safetensors");
  save_model(good, m, init(m));
  const std::string graph = load_safetensors_metadata(good).at("axon.model");
  CHECK(load_model(write_file("same.safetensors", "1", graph)).model.layers().size() == 3);

  // Each: the file's version, its graph, and what the error must say.
  struct Case {
    const char* version;
    std::string graph, expect;
  };
  const std::vector<Case> cases = {
      {"2", graph, "newer than this build"},
      {"x1", graph, "not a positive integer"},
      {"1", graph.substr(0, graph.size() / 2), "not valid JSON"},
      {"1", replaced(graph, "\"op\": \"dense\"", "\"op\": \"densest\""), "unknown op \"densest\""},
      {"1", replaced(graph, "\"units\": 2", "\"units\": \"2\""), "argument \"units\": expected a number, got a string"},
      {"1", replaced(graph, "\"units\": 2", "\"units\": -2"), "units must be positive"},
      {"1", replaced(graph, "\"units\": 2", "\"unitz\": 2"), "unknown argument \"unitz\""},
      {"1", replaced(graph, "\"units\": 2", "\"units\": 4294967296"), "out of range"},
      {"1", replaced(graph, "\"units\": 2", "\"units\": 2.5"), "expected a 64-bit integer, got 2.5"},
      {"1", replaced(graph, "\"inputs\": [0]", "\"inputs\": [2]"), "not an earlier node"},   // a cycle
      {"1", replaced(graph, "\"inputs\": [0]", "\"inputs\": [-7]"), "not an earlier node"},  // dangling
      {"1", replaced(graph, "[-1, 2]", "[-1, 5]"), "rebuilds with"},
      {"1", "{\"nodes\": []}", "no nodes"},
      {"1", "[1, 2]", "must be a JSON object"},
  };
  const std::string hostile = test::temp_path("hostile.safetensors");
  for (const auto& c : cases) {
    INFO(c.graph);
    save_safetensors(hostile, {}, {{"axon.format_version", c.version}, {"axon.model", c.graph}});
    AXON_REQUIRE_THROWS_WITH(load_model(hostile), c.expect);
  }

  // Parameters that do not fit the graph.
  TensorMap tensors = load_safetensors(good);
  tensors.erase("dense_0/bias");
  AXON_REQUIRE_THROWS_WITH(load_model(write_file("missing.safetensors", "1", graph, tensors)), "bias");
  // A parameter file is not a model file.
  const std::string plain = test::temp_path("plain.safetensors");
  save_params(plain, init(m));
  AXON_REQUIRE_THROWS_WITH(load_model(plain), "not an axon model file");
  AXON_REQUIRE_THROWS_WITH(load_model(test::temp_path("nonexistent.safetensors")), "nonexistent");

  for (const char* f : {"good", "same", "hostile", "missing", "plain"})
    std::filesystem::remove(test::temp_path(std::string(f) + ".safetensors"));
}
