// Graph manipulation, blocks, ties, freezing and checked parameter files (<axon/model/graph_api.hpp>):
// each against hand-computed values (float64 loops over the parameters), finite differences, or the
// same computation built without the feature.
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;

namespace {

using Mat = std::vector<double>;  // row-major

Mat host(const Tensor& t) { return t.to(Device::cpu()).to_vector<double>(); }

// [n, k] x [k, m] (+ bias [m]).
Mat matmul(const Mat& a, const Mat& b, int64_t n, int64_t k, int64_t m, const Mat& bias = {}) {
  Mat out(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = bias.empty() ? 0 : bias[j];
      for (int64_t l = 0; l < k; ++l) s += a[i * k + l] * b[l * m + j];
      out[i * m + j] = s;
    }
  return out;
}

Mat map(Mat v, double (*f)(double)) {
  for (auto& x : v) x = f(x);
  return v;
}
double relu(double x) { return x > 0 ? x : 0; }
double softplus(double x) { return std::log1p(std::exp(x)); }
double tanh_(double x) { return std::tanh(x); }

std::vector<std::string> keys(const ParamMap& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

Model cnn() {
  return input("image", {-1, 8, 8, 2}) |
         conv(4, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) | batch_norm() |
         max_pool({.kernel_size = {2}}) | flatten() | dense(5, {.activation = "softmax"});
}

}  // namespace

TEST_CASE("inspection: get_inputs, get_output_shape, get_op_counts, properties, get_parameters, get_options",
          "[model]") {
  Model m = input("image", {-1, 28, 28, 1}) |
            conv(8, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
            max_pool({.kernel_size = {2}}) | flatten() | dense(10, {.activation = "softmax"});
  CHECK(get_inputs(m) == std::map<std::string, Shape>{{"image", {-1, 28, 28, 1}}});
  CHECK(get_output_shape(m, Shape{3, 28, 28, 1}) == Shape{3, 10});
  CHECK(get_op_counts(m) == std::map<std::string, int64_t>{{"conv", 1}, {"dense", 1}, {"flatten", 1}, {"input", 1},
                                                           {"max_pool", 1}, {"relu", 1}, {"softmax", 1}});
  CHECK(properties(m) == std::map<std::string, std::string>{{"image", "input"}, {"conv_0", "conv"},
                                                            {"relu_0", "relu"}, {"max_pool_0", "max_pool"},
                                                            {"flatten_0", "flatten"}, {"dense_0", "dense"},
                                                            {"softmax_0", "softmax"}});
  CHECK(get_parameters(m).empty());  // the output node, softmax_0
  auto ps = get_parameters(m, "dense_0");
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].name == "kernel");
  CHECK(ps[0].shape == Shape{1568, 10});
  CHECK(ps[0].initializer.name == "glorot_uniform");
  CHECK(ps[1].name == "bias");
  CHECK(ps[1].shape == Shape{10});
  CHECK(ps[1].initializer.name == "zeros");
  using Opts = std::vector<std::pair<std::string, std::string>>;
  CHECK(get_options(m, "conv_0") == Opts{{"strides", "[1, 1]"},         {"padding", "same"},
                                         {"input_dilation", "[1, 1]"},  {"kernel_dilation", "[1, 1]"},
                                         {"feature_group_size", "1"},   {"channels", "last"}});
  CHECK(get_options(m).empty());

  // Unknown dims other than the batch: the build-time shape has -1 where the concrete run does not.
  Model a = input("a", {-1, -1, 3}), b = input("b", {-1, -1, 3});
  Model cat = concatenate(a, b, {.axis = 1}) | dense(2);
  CHECK(cat.output_shape() == Shape{-1, -1, 2});
  CHECK(get_output_shape(cat, {{"a", {2, 5, 3}}, {"b", {2, 4, 3}}}) == Shape{2, 9, 2});
  // An input feeding an embedding gets integer zeros.
  Model tokens = input("tokens", {-1, -1}) | embedding(10, 4) | dense(2);
  CHECK(get_output_shape(tokens, Shape{2, 7}) == Shape{2, 7, 2});

  AXON_REQUIRE_THROWS_WITH(get_output_shape(m, Shape{3, 27, 28, 1}), "does not fit");
  AXON_REQUIRE_THROWS_WITH(get_output_shape(m, Shape{-1, 28, 28, 1}), "unknown dims");
  AXON_REQUIRE_THROWS_WITH(get_output_shape(cat, {{"a", {2, 5, 3}}}), "missing input \"b\"");
  AXON_REQUIRE_THROWS_WITH(get_output_shape(cat, Shape{2, 5, 3}), "the model has 2 inputs");
  AXON_REQUIRE_THROWS_WITH(get_parameters(m, "dense_9"), "the model has no layer \"dense_9\"");
}

TEST_CASE("map_nodes: a new op and forward, a renamed layer, a new initializer; inputs and shapes fixed",
          "[model]") {
  Model m = input("x", {-1, 3}) | dense(4, {.activation = "relu"}) | dense(2);
  Model soft = map_nodes(m, [](NodeView v) {
    if (v.op == "relu") {
      v.op = "softplus";
      v.forward = [](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
        return activations::softplus(in[0]);
      };
    }
    return v;
  });
  // The op changes, the name stays (and so the parameters' names).
  CHECK(properties(soft) == std::map<std::string, std::string>{{"x", "input"}, {"dense_0", "dense"},
                                                               {"relu_0", "softplus"}, {"dense_1", "dense"}});
  Params p = init(m, {.dtype = DType::f64, .seed = 3});
  Tensor x = random_tensor({5, 3}, DType::f64, -2, 2, 4);
  const Mat xv = host(x), k0 = host(p["dense_0"]["kernel"]), b0 = host(p["dense_0"]["bias"]),
            k1 = host(p["dense_1"]["kernel"]), b1 = host(p["dense_1"]["bias"]);
  const Mat pre = matmul(xv, k0, 5, 3, 4, b0);
  check_close(predict(soft, p, x), matmul(map(pre, softplus), k1, 5, 4, 2, b1), {5, 2}, {1e-12, 1e-12});
  check_close(predict(m, p, x), matmul(map(pre, relu), k1, 5, 4, 2, b1), {5, 2}, {1e-12, 1e-12});  // untouched

  // Renaming a layer renames its parameters; a new initializer reaches init().
  Model renamed = map_nodes(m, [](NodeView v) {
    if (v.name == "dense_0") v.name = "hidden";
    if (v.name == "dense_1") v.params[0].initializer = "zeros";
    if (v.name == "x") v.name = "features";
    return v;
  });
  CHECK(renamed.input_names() == std::vector<std::string>{"features"});
  Params q = init(renamed, {.dtype = DType::f64, .seed = 3});
  CHECK(keys(q.at("hidden")) == std::vector<std::string>{"bias", "kernel"});
  CHECK(q.count("dense_0") == 0);
  for (double v : host(q["dense_1"]["kernel"])) CHECK(v == 0);
  Params moved = p;
  moved["hidden"] = moved["dense_0"];
  moved.erase("dense_0");
  check_close(predict(renamed, moved, x), predict(m, p, x), {0, 0});
  AXON_REQUIRE_THROWS_WITH(predict(renamed, p, x), "no parameters for layer \"hidden\"");

  // A mixed precision policy survives the map.
  Model mp = apply_policy(m, create_policy({.compute = DType::bf16}));
  Model mapped = map_nodes(mp, [](NodeView v) { return v; });
  REQUIRE(policy_of(mapped, "dense_1").has_value());
  CHECK(*policy_of(mapped, "dense_1") == create_policy({.compute = DType::bf16}));

  AXON_REQUIRE_THROWS_WITH(map_nodes(m,
                                     [](NodeView v) {
                                       if (v.name == "dense_1") v.output_shape = {-1, 3};
                                       return v;
                                     }),
                           "the output shape cannot change");
  AXON_REQUIRE_THROWS_WITH(map_nodes(m,
                                     [](NodeView v) {
                                       if (v.name == "dense_1") v.inputs = {"x"};
                                       return v;
                                     }),
                           "inputs cannot change");
  AXON_REQUIRE_THROWS_WITH(map_nodes(m,
                                     [](NodeView v) {
                                       if (v.name == "relu_0") v.name = "dense_1";
                                       return v;
                                     }),
                           "two layers are named \"dense_1\"");
}

TEST_CASE("rewrite_nodes: every dense wrapped in a LoRA adapter equals the original at init", "[model]") {
  Model m = input("x", {-1, 6}) | dense(5, {.activation = "tanh"}) | dense(3);
  const int64_t rank = 2;
  auto lora = [&](bool named) {
    return rewrite_nodes(m, [=](const NodeView& v) -> std::optional<Rewriter> {
      if (v.op != "dense") return std::nullopt;
      const int64_t units = v.output_shape.back();
      const std::string n = named ? v.name + "_lora" : "";
      return [=](const std::vector<Model>& in, const Model& out) {
        Model a = dense(in[0], rank, {.use_bias = false, .name = named ? n + "_a" : ""});
        Model b = dense(a, units, {.use_bias = false, .kernel_initializer = "zeros", .name = named ? n + "_b" : ""});
        return add(out, b, {.name = named ? n + "_add" : ""});
      };
    });
  };
  Model l = lora(true);
  std::vector<std::string> names;
  for (const auto& info : l.layers()) names.push_back(info.name);
  CHECK(names == std::vector<std::string>{"x", "dense_0", "dense_0_lora_a", "dense_0_lora_b", "dense_0_lora_add",
                                          "tanh_0", "dense_1", "dense_1_lora_a", "dense_1_lora_b",
                                          "dense_1_lora_add"});
  // Default names: the kept layers keep theirs, the new ones are numbered after them.
  names.clear();
  for (const auto& info : lora(false).layers()) names.push_back(info.name);
  CHECK(names == std::vector<std::string>{"x", "dense_0", "dense_2", "dense_3", "add_0", "tanh_0", "dense_1",
                                          "dense_4", "dense_5", "add_1"});
  CHECK(get_op_counts(l) == std::map<std::string, int64_t>{{"add", 2}, {"dense", 6}, {"input", 1}, {"tanh", 1}});
  CHECK(get_parameters(l, "dense_1_lora_a")[0].shape == Shape{5, 2});
  CHECK(get_parameters(l, "dense_1_lora_b")[0].shape == Shape{2, 3});

  for (Device d : test::devices()) {
    Params pm = init(m, {.device = d, .dtype = DType::f64, .seed = 3});
    Params pl = init(l, {.device = d, .dtype = DType::f64, .seed = 3});
    // The kept layers' parameters are the same tensors init gives the original (same names, same seed).
    check_close(pl["dense_0"]["kernel"].to(Device::cpu()), pm["dense_0"]["kernel"].to(Device::cpu()), {0, 0});
    Tensor x = random_tensor({4, 6}, DType::f64, -1, 1, 5, d);
    check_close(predict(l, pl, x).to(Device::cpu()), predict(m, pm, x).to(Device::cpu()), {0, 0});
    // The original's parameters work for the kept layers of the rewritten model.
    check_close(predict(l, merge_params(pl, pm), x).to(Device::cpu()), predict(m, pm, x).to(Device::cpu()), {0, 0});

    // With a trained-looking B: y = (h + tanh-free LoRA terms) by hand.
    pl["dense_0_lora_b"]["kernel"] = random_tensor({2, 5}, DType::f64, -1, 1, 6, d);
    pl["dense_1_lora_b"]["kernel"] = random_tensor({2, 3}, DType::f64, -1, 1, 7, d);
    const Mat xv = host(x);
    Mat h = matmul(xv, host(pl["dense_0"]["kernel"]), 4, 6, 5, host(pl["dense_0"]["bias"]));
    const Mat h_lora = matmul(matmul(xv, host(pl["dense_0_lora_a"]["kernel"]), 4, 6, 2),
                              host(pl["dense_0_lora_b"]["kernel"]), 4, 2, 5);
    for (size_t i = 0; i < h.size(); ++i) h[i] = std::tanh(h[i] + h_lora[i]);
    Mat y = matmul(h, host(pl["dense_1"]["kernel"]), 4, 5, 3, host(pl["dense_1"]["bias"]));
    const Mat y_lora = matmul(matmul(h, host(pl["dense_1_lora_a"]["kernel"]), 4, 5, 2),
                              host(pl["dense_1_lora_b"]["kernel"]), 4, 2, 3);
    for (size_t i = 0; i < y.size(); ++i) y[i] += y_lora[i];
    check_close(predict(l, pl, x).to(Device::cpu()), y, {4, 3}, {1e-12, 1e-12});
  }

  // Dropping a node (the rewrite returns its input) and a replacement of the wrong shape.
  Model no_tanh = rewrite_nodes(m, [](const NodeView& v) -> std::optional<Rewriter> {
    if (v.op != "tanh") return std::nullopt;
    return [](const std::vector<Model>& in, const Model&) { return in[0]; };
  });
  CHECK(get_op_counts(no_tanh).count("tanh") == 0);
  CHECK(no_tanh.layers().size() == 3);
  AXON_REQUIRE_THROWS_WITH(rewrite_nodes(m,
                                         [](const NodeView& v) -> std::optional<Rewriter> {
                                           if (v.name != "dense_0") return std::nullopt;
                                           return [](const std::vector<Model>&, const Model& out) {
                                             return dense(out, 7);
                                           };
                                         }),
                           "does not fit the node's [-1, 5]");
}

TEST_CASE("pop_node: the output node and the models ending at its inputs", "[model]") {
  Model m = input("x", {-1, 3}) | dense(4) | relu() | dense(2);
  PoppedNode pop = pop_node(m);
  CHECK(pop.node.name == "dense_1");
  CHECK(pop.node.op == "dense");
  CHECK(pop.node.inputs == std::vector<std::string>{"relu_0"});
  CHECK(pop.node.output_shape == Shape{-1, 2});
  REQUIRE(pop.node.params.size() == 2);
  CHECK(pop.node.params[0].shape == Shape{4, 2});
  REQUIRE(pop.parents.size() == 1);
  CHECK(pop.parents[0].name() == "relu_0");
  CHECK(pop.parents[0].output_shape() == Shape{-1, 4});
  Params p = init(m, {.dtype = DType::f64, .seed = 1});
  Tensor x = random_tensor({3, 3}, DType::f64, -1, 1, 2);
  check_close(predict(pop.parents[0], p, x),
              map(matmul(host(x), host(p["dense_0"]["kernel"]), 3, 3, 4, host(p["dense_0"]["bias"])), relu), {3, 4},
              {1e-12, 1e-12});
  // The popped node's forward applied to the parent's output gives the model's output.
  ForwardContext ctx;
  Generator gen(0);
  ctx.generator = &gen;
  check_close(pop.node.forward({predict(pop.parents[0], p, x)}, p["dense_1"], ctx), predict(m, p, x), {0, 0});

  Model a = input("a", {-1, 2}), b = input("b", {-1, 2});
  PoppedNode two = pop_node(add(a, b));
  REQUIRE(two.parents.size() == 2);
  CHECK(two.parents[0].name() == "a");
  CHECK(two.parents[1].name() == "b");
  AXON_REQUIRE_THROWS_WITH(pop_node(a), "no node to pop");
}

TEST_CASE("capture: the sub-model up to a layer runs on the original parameters", "[model]") {
  // Without fixed names, b's dense would be dense_0 in a graph of its own.
  Model a = input("a", {-1, 3}), b = input("b", {-1, 3});
  Model ha = a | dense(4, {.activation = "relu"});
  Model hb = b | dense(4);
  Model out = concatenate(ha, hb) | dense(2);
  Params p = init(out, {.dtype = DType::f64, .seed = 8});
  Model cap = capture(out, "dense_1");
  CHECK(cap.name() == "dense_1");
  CHECK(cap.input_names() == std::vector<std::string>{"b"});
  CHECK(cap.layers().size() == 2);
  Tensor tb = random_tensor({3, 3}, DType::f64, -1, 1, 9), ta = random_tensor({3, 3}, DType::f64, -1, 1, 10);
  check_close(predict(cap, p, tb), matmul(host(tb), host(p["dense_1"]["kernel"]), 3, 3, 4, host(p["dense_1"]["bias"])),
              {3, 4}, {1e-12, 1e-12});
  check_params(cap, p, {.allow_extra = true});
  CHECK(keys(select_params(cap, p).at("dense_1")) == std::vector<std::string>{"bias", "kernel"});
  CHECK(select_params(cap, p).size() == 1);

  // Transfer learning: the captured backbone, a new head, the pretrained entries where they exist.
  Model backbone = capture(out, "relu_0");
  Model head = backbone | dense(5, {.name = "head"});
  Params tuned = merge_params(init(head, {.dtype = DType::f64}), select_params(head, p));
  check_close(tuned.at("dense_0").at("kernel"), p.at("dense_0").at("kernel"), {0, 0});
  const Mat h = map(matmul(host(ta), host(p["dense_0"]["kernel"]), 3, 3, 4, host(p["dense_0"]["bias"])), relu);
  check_close(predict(head, tuned, ta), matmul(h, host(tuned["head"]["kernel"]), 3, 4, 5, host(tuned["head"]["bias"])),
              {3, 5}, {1e-12, 1e-12});

  // New inputs: a preprocessing model plugged in where "a" was.
  Model pixels = input("pixels", {-1, 6});
  Model rewired = capture(out, "relu_0", {{"a", pixels | dense(3, {.name = "adapter"})}});
  CHECK(rewired.input_names() == std::vector<std::string>{"pixels"});
  Params pr = merge_params(p, init(rewired, {.dtype = DType::f64, .seed = 1}));
  pr["dense_0"] = p["dense_0"];
  Tensor px = random_tensor({3, 6}, DType::f64, -1, 1, 11);
  const Mat adapted = matmul(host(px), host(pr["adapter"]["kernel"]), 3, 6, 3, host(pr["adapter"]["bias"]));
  check_close(predict(rewired, pr, px),
              map(matmul(adapted, host(p["dense_0"]["kernel"]), 3, 3, 4, host(p["dense_0"]["bias"])), relu), {3, 4},
              {1e-12, 1e-12});

  AXON_REQUIRE_THROWS_WITH(capture(out, "nope"), "the model has no layer \"nope\"");
  AXON_REQUIRE_THROWS_WITH(capture(out, "relu_0", {{"b", pixels}}), "\"b\" is not an input");
  AXON_REQUIRE_THROWS_WITH(capture(out, "relu_0", {{"a", pixels}}), "is declared with shape [-1, 3]");
}

TEST_CASE("block: a Siamese encoder with one parameter set whose gradient sums both branches", "[model]") {
  Block enc = block([](const Model& x) { return x | dense(4, {.activation = "tanh"}) | dense(3); });
  Model a = input("a", {-1, 5}), b = input("b", {-1, 5});
  Model ea = enc(a), eb = enc(b);
  Model out = multiply(ea, eb);
  CHECK(ea.name() == "block_0");
  CHECK(eb.name() == "block_0");
  CHECK(properties(out) == std::map<std::string, std::string>{{"a", "input"}, {"b", "input"},
                                                              {"block_0", "block"}, {"multiply_0", "multiply"}});
  CHECK(get_op_counts(out).at("block") == 2);
  REQUIRE(enc.inner().defined());
  CHECK(enc.inner().input_names() == std::vector<std::string>{"subgraph0"});
  // One parameter set, under the block's name, counted once.
  Params p = init(out, {.dtype = DType::f64, .seed = 2});
  REQUIRE(p.size() == 1);
  CHECK(keys(p.at("block_0")) ==
        std::vector<std::string>{"dense_0.bias", "dense_0.kernel", "dense_1.bias", "dense_1.kernel"});
  CHECK(p["block_0"]["dense_0.kernel"].shape() == Shape{5, 4});
  CHECK(parameter_count(out) == 5 * 4 + 4 + 4 * 3 + 3);
  CHECK(summary(out).find("Total params: 39 (156 B)\n") != std::string::npos);

  const Mat k0 = host(p["block_0"]["dense_0.kernel"]), b0 = host(p["block_0"]["dense_0.bias"]),
            k1 = host(p["block_0"]["dense_1.kernel"]), b1 = host(p["block_0"]["dense_1.bias"]);
  auto f = [&](const Mat& x) { return matmul(map(matmul(x, k0, 2, 5, 4, b0), tanh_), k1, 2, 4, 3, b1); };
  for (Device d : test::devices()) {
    Params pd = init(out, {.device = d, .dtype = DType::f64, .seed = 2});
    Tensor ta = random_tensor({2, 5}, DType::f64, -1, 1, 3, d), tb = random_tensor({2, 5}, DType::f64, -1, 1, 4, d);
    Mat fa = f(host(ta)), fb = f(host(tb)), ref(6);
    for (size_t i = 0; i < 6; ++i) ref[i] = fa[i] * fb[i];
    check_close(predict(out, pd, {{"a", ta}, {"b", tb}}).to(Device::cpu()), ref, {2, 3}, {1e-12, 1e-12});
    // A third call through `|` shares the parameters too.
    check_close(predict(a | enc, pd, ta).to(Device::cpu()), fa, {2, 3}, {1e-12, 1e-12});
  }

  // The gradient of the shared parameters is the sum of the two branches': the same computation
  // with two separately named encoders holding copies of the parameters.
  auto separate = [](const Model& x, const std::string& pre) {
    return x | dense(4, {.activation = "tanh", .name = pre + "0"}) | dense(3, {.name = pre + "1"});
  };
  Model twin = multiply(separate(a, "a"), separate(b, "b"));
  Params pt;
  for (const std::string pre : {"a", "b"}) {  // copies, so that each gets its own gradient
    pt[pre + "0"] = {{"kernel", p["block_0"]["dense_0.kernel"].clone()}, {"bias", p["block_0"]["dense_0.bias"].clone()}};
    pt[pre + "1"] = {{"kernel", p["block_0"]["dense_1.kernel"].clone()}, {"bias", p["block_0"]["dense_1.bias"].clone()}};
  }
  Tensor ta = random_tensor({3, 5}, DType::f64, -1, 1, 5), tb = random_tensor({3, 5}, DType::f64, -1, 1, 6);
  Tensor w = random_tensor({3, 3}, DType::f64, -1, 1, 7);
  auto loss = [&](const Model& model) {
    return [&, model](const Params& q) { return (apply(model, q, {{"a", ta}, {"b", tb}}).output * w).sum(); };
  };
  Params g = grad(loss(out), p), gt = grad(loss(twin), pt);
  for (const auto& [inner, param] : std::vector<std::pair<std::string, std::string>>{
           {"0", "kernel"}, {"0", "bias"}, {"1", "kernel"}, {"1", "bias"}}) {
    INFO("dense_" << inner << "." << param);
    check_close(g["block_0"]["dense_" + inner + "." + param], add(gt["a" + inner][param], gt["b" + inner][param]),
                {1e-12, 1e-12});
  }
  // And against central differences.
  check_grad(
      [out](const std::vector<Tensor>& in) {
        Params q{{"block_0",
                  {{"dense_0.kernel", in[2]}, {"dense_0.bias", in[3]}, {"dense_1.kernel", in[4]}, {"dense_1.bias", in[5]}}}};
        return apply(out, q, {{"a", in[0]}, {"b", in[1]}}).output;
      },
      {ta, tb, p["block_0"]["dense_0.kernel"], p["block_0"]["dense_0.bias"], p["block_0"]["dense_1.kernel"],
       p["block_0"]["dense_1.bias"]});

  // State inside a block: batch_norm's running statistics, flattened under the block.
  Block normed = block([](const Model& x) { return x | dense(3) | batch_norm(); }, {.name = "shared"});
  Model two = add(normed(a), normed(b));
  Params pn = init(two, {.dtype = DType::f64});
  CHECK(is_state(two, "shared", "batch_norm_0.mean"));
  CHECK_FALSE(is_state(two, "shared", "batch_norm_0.gamma"));
  CHECK(trainable_params(two, pn).at("shared").count("batch_norm_0.var") == 0);
  Generator gen(1);
  auto r = apply(two, pn, {{"a", ta}, {"b", tb}}, {.mode = Mode::train, .generator = &gen});
  CHECK(keys(r.state.at("shared")) == std::vector<std::string>{"batch_norm_0.mean", "batch_norm_0.var"});

  AXON_REQUIRE_THROWS_WITH(enc(input("c", {-1, 6})), "was built for [-1, 5]");
  Block stray = block([](const Model&) { return input("other", {-1, 2}) | dense(2); });
  AXON_REQUIRE_THROWS_WITH(stray(a), "not one of the block's arguments");
}

TEST_CASE("tie: an output projection that is the transposed embedding", "[model]") {
  const int64_t vocab = 7, dim = 3;
  Model logits = input("ids", {-1, 4}) | embedding(vocab, dim) | dense(vocab, {.use_bias = false});
  Model tied = tie(logits, "dense_0", "kernel", "embedding_0", "kernel", {.transpose = true});
  Params p = init(tied, {.dtype = DType::f64, .seed = 4, });
  CHECK(p.count("dense_0") == 0);
  CHECK(parameter_count(tied) == vocab * dim);
  CHECK(get_parameters(tied, "dense_0").empty());
  auto opts = get_options(tied, "dense_0");
  REQUIRE(!opts.empty());
  CHECK(opts.back() == std::pair<std::string, std::string>{"tied", "kernel <- embedding_0.kernel (transposed)"});

  Tensor ids = from_vector<int64_t>({0, 3, 6, 2, 5, 5, 1, 4}, {2, 4});
  const Mat e = host(p["embedding_0"]["kernel"]);
  const std::vector<int64_t> idv = {0, 3, 6, 2, 5, 5, 1, 4};
  Mat ref;
  for (int64_t id : idv)
    for (int64_t v = 0; v < vocab; ++v) {
      double s = 0;
      for (int64_t k = 0; k < dim; ++k) s += e[id * dim + k] * e[v * dim + k];
      ref.push_back(s);
    }
  for (Device d : test::devices()) {
    Params pd = init(tied, {.device = d, .dtype = DType::f64, .seed = 4});
    check_close(predict(tied, pd, ids.to(d)).to(Device::cpu()), ref, {2, 4, vocab}, {1e-12, 1e-12});
  }

  // The gradient reaches the embedding from both uses: the untied model's two gradients, summed.
  Params untied = init(logits, {.dtype = DType::f64});
  untied["embedding_0"]["kernel"] = p["embedding_0"]["kernel"];
  untied["dense_0"]["kernel"] = p["embedding_0"]["kernel"].t().contiguous();
  Tensor w = random_tensor({2, 4, vocab}, DType::f64, -1, 1, 5);
  auto loss = [&](const Model& model) {
    return [&, model](const Params& q) { return (apply(model, q, ids).output * w).sum(); };
  };
  Params g = grad(loss(tied), p), gu = grad(loss(logits), untied);
  check_close(g["embedding_0"]["kernel"], add(gu["embedding_0"]["kernel"], gu["dense_0"]["kernel"].t()), {1e-12, 1e-12});
  check_grad(
      [tied, ids](const std::vector<Tensor>& in) {
        return apply(tied, Params{{"embedding_0", {{"kernel", in[0]}}}}, ids.to(in[0].device())).output;
      },
      {p["embedding_0"]["kernel"]});

  // Renaming the source keeps the tie; capture keeps it when the source is before the cut.
  Model renamed = map_nodes(tied, [](NodeView v) {
    if (v.name == "embedding_0") v.name = "tokens";
    return v;
  });
  check_close(predict(renamed, Params{{"tokens", p["embedding_0"]}}, ids), ref, {2, 4, vocab}, {1e-12, 1e-12});
  check_close(predict(capture(tied, "dense_0"), p, ids), ref, {2, 4, vocab}, {1e-12, 1e-12});

  AXON_REQUIRE_THROWS_WITH(tie(logits, "dense_0", "kernel", "embedding_0", "kernel"),
                           "dense_0.kernel has shape [3, 7] but embedding_0.kernel gives [7, 3]");
  AXON_REQUIRE_THROWS_WITH(tie(logits, "dense_0", "bias", "embedding_0", "kernel"),
                           "layer \"dense_0\" (dense) has no parameter \"bias\"");
  AXON_REQUIRE_THROWS_WITH(tie(logits, "dense_9", "kernel", "embedding_0", "kernel"), "no layer \"dense_9\"");
  // Either direction: the embedding taking the projection's kernel, which apply reaches later.
  Model reversed = tie(logits, "embedding_0", "kernel", "dense_0", "kernel", {.transpose = true});
  Params pr = init(reversed, {.dtype = DType::f64});
  CHECK(pr.count("embedding_0") == 0);
  untied["dense_0"]["kernel"] = pr["dense_0"]["kernel"];
  untied["embedding_0"]["kernel"] = pr["dense_0"]["kernel"].t().contiguous();
  check_close(predict(reversed, pr, ids), predict(logits, untied, ids), {1e-12, 1e-12});
  AXON_REQUIRE_THROWS_WITH(predict(reversed, Params{{"dense_1", {}}}, ids),
                           "layer \"embedding_0\" (embedding) takes its \"kernel\" from layer \"dense_0\"");
  AXON_REQUIRE_THROWS_WITH(check_params(tied, Params{}), "no parameters for layer \"embedding_0\"");
}

TEST_CASE("freeze / unfreeze give the FrozenFn train_step takes", "[model]") {
  Model m = input("x", {-1, 3}) | dense(4, {.activation = "tanh"}) | batch_norm() | dense(2);
  Params p = init(m, {.seed = 1});
  FrozenParams first = freeze(p, [](const std::string& layer, const std::string&) { return layer == "dense_0"; });
  CHECK(first.entries() == std::set<std::pair<std::string, std::string>>{{"dense_0", "bias"}, {"dense_0", "kernel"}});
  CHECK(first("dense_0", "kernel"));
  CHECK_FALSE(first("dense_1", "kernel"));
  FrozenParams all = freeze(m);  // trainable parameters only: no running mean / var
  CHECK(all.size() == 6);
  CHECK_FALSE(all("batch_norm_0", "mean"));
  CHECK(unfreeze(all, [](const std::string& layer, const std::string&) { return layer != "dense_1"; }).entries() ==
        std::set<std::pair<std::string, std::string>>{{"dense_1", "bias"}, {"dense_1", "kernel"}});
  CHECK(unfreeze(all).empty());
  FrozenParams more = freeze(first, p, [](const std::string& l, const std::string& n) { return l == "dense_1" && n == "bias"; });
  CHECK(more.size() == 3);
  CHECK(keys(frozen_params(p, first).at("dense_0")) == std::vector<std::string>{"bias", "kernel"});
  CHECK(frozen_params(p, first).size() == 1);
  Params tp = trainable_params(m, p, first);
  CHECK(tp.count("dense_0") == 0);
  CHECK(keys(tp.at("batch_norm_0")) == std::vector<std::string>{"beta", "gamma"});
  CHECK(tp.at("dense_1").size() == 2);

  // One SGD step with the mask as train_step's `frozen`: frozen entries bitwise unchanged.
  Tensor x = random_tensor({8, 3}, DType::f32, -1, 1, 2), y = random_tensor({8, 2}, DType::f32, -1, 1, 3);
  training::Step step = train_step(m, "mean_squared_error", optim::sgd(0.5), {.frozen = more});
  training::Batch batch{x, y};
  training::StepState s = step.init(batch, training::initial_state(p));
  s = step.step(batch, s);
  Params after = s.params("model_state");
  check_close(after["dense_0"]["kernel"], p["dense_0"]["kernel"], {0, 0});
  check_close(after["dense_0"]["bias"], p["dense_0"]["bias"], {0, 0});
  check_close(after["dense_1"]["bias"], p["dense_1"]["bias"], {0, 0});
  CHECK(max(abs(sub(after["dense_1"]["kernel"], p["dense_1"]["kernel"]))).item<float>() > 1e-4f);
  CHECK(max(abs(sub(after["batch_norm_0"]["gamma"], p["batch_norm_0"]["gamma"]))).item<float>() > 1e-4f);
}

TEST_CASE("check_params names the first mismatching layer and parameter", "[model]") {
  Model m = input("x", {-1, 3}) | dense(4) | batch_norm() | dense(2);
  const Params p = init(m);
  check_params(m, p);
  auto broken = [&](auto change) {
    Params q = p;
    change(q);
    return q;
  };
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q.erase("dense_1"); })),
                           "no parameters for layer \"dense_1\" (dense), which has \"kernel\", \"bias\"");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q["batch_norm_0"].erase("var"); })),
                           "layer \"batch_norm_0\" (batch_norm) has no parameter \"var\"");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) {
                             q["dense_0"]["kernel"] = zeros({4, 4});
                             q["dense_1"]["kernel"] = zeros({4, 4});
                           })),
                           "parameter \"kernel\" of layer \"dense_0\" (dense) should have shape [3, 4]");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q["dense_1"]["bias"] = q["dense_1"]["bias"].to(DType::f64); })),
                           "parameter \"bias\" of layer \"dense_1\" (dense) is f64 but \"kernel\" of layer \"dense_0\" is f32");
  AXON_REQUIRE_THROWS_WITH(check_params(m, p, {.dtype = DType::f64}),
                           "parameter \"kernel\" of layer \"dense_0\" (dense) is f32 but the dtype asked for is f64");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q["dense_0"]["bias"] = zeros({4}, DType::i64); })),
                           "should be floating");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q["ghost"]["w"] = zeros({1}); })),
                           "entries for layer \"ghost\", which the model does not have");
  AXON_REQUIRE_THROWS_WITH(check_params(m, broken([](Params& q) { q["dense_0"]["scale"] = zeros({1}); })),
                           "an entry \"scale\" for layer \"dense_0\" (dense), which has no such parameter");
  check_params(m, broken([](Params& q) { q["ghost"]["w"] = zeros({1}); }), {.allow_extra = true});

  // A policy's `params` dtype is what its layers must have; the layers it leaves alone agree among themselves.
  Model mp = apply_policy(m, create_policy({.params = DType::bf16}));
  check_params(mp, init(mp));
  CHECK(init(mp)["batch_norm_0"]["gamma"].dtype() == DType::f32);
  AXON_REQUIRE_THROWS_WITH(check_params(mp, p), "should be bf16 (its mixed precision policy)");
}

TEST_CASE("save_params / load_params with a model: a CNN's round trip predicts the same", "[model]") {
  Model m = cnn();
  const std::string path = test::temp_path("cnn.safetensors");
  for (Device d : test::devices()) {
    Params p = init(m, {.device = d, .seed = 7});
    // Train-mode batch statistics so the state entries are not their initial values.
    Tensor x = random_tensor({3, 8, 8, 2}, DType::f32, -1, 1, 8, d);
    p = merge_params(p, apply(m, p, x, {.mode = Mode::train}).state);
    save_params(m, path, p, {{"model", "cnn"}});
    Params q = load_params(m, path, {.device = d});
    CHECK(q.size() == p.size());
    CHECK(q.at("conv_0").at("kernel").device() == d);
    CHECK(load_safetensors_metadata(path).at("model") == "cnn");
    check_close(q.at("batch_norm_0").at("mean").to(Device::cpu()), p.at("batch_norm_0").at("mean").to(Device::cpu()),
                {0, 0});
    check_close(predict(m, q, x).to(Device::cpu()), predict(m, p, x).to(Device::cpu()), {0, 0});

    // The captured backbone loads only its entries from the full file.
    Model backbone = capture(m, "flatten_0");
    AXON_REQUIRE_THROWS_WITH(load_params(backbone, path, {.device = d}), "entries for layer \"dense_0\"");
    Params bq = load_params(backbone, path, {.device = d, .allow_extra = true});
    CHECK(bq.count("dense_0") == 0);
    check_close(predict(backbone, bq, x).to(Device::cpu()), predict(backbone, p, x).to(Device::cpu()), {0, 0});
  }
  // Another model's file fails naming the layer and the file.
  Model other = input("image", {-1, 8, 8, 2}) | conv(4, {.kernel_size = {5}}) | flatten() | dense(5);
  save_params(other, path, init(other));
  AXON_REQUIRE_THROWS_WITH(load_params(m, path), "parameter \"kernel\" of layer \"conv_0\" (conv) should have shape [3, 3, 2, 4]");
  AXON_REQUIRE_THROWS_WITH(load_params(m, path), "[loading \"" + path + "\"]");
  AXON_REQUIRE_THROWS_WITH(save_params(m, path, init(other)), "check_params");
  std::filesystem::remove(path);
}
