// The model-creation API on the seed MLP: shapes, names, parameters, summary, predict against a
// float64 hand computation, dropout, batch_norm state, init determinism.
#include <cmath>
#include <sstream>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::random_values;

namespace {

Model seed_mlp() {
  return input("input", {-1, 784}) | dense(128, {.activation = "relu"}) | dropout({.rate = 0.5}) |
         dense(10, {.activation = "softmax"});
}

std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to_vector<double>(); }

// y[b, o] = sum_i x[b, i] w[i, o] + bias[o], in float64.
std::vector<double> ref_dense(const std::vector<double>& x, const std::vector<double>& w,
                              const std::vector<double>& bias, int64_t batch, int64_t in, int64_t out) {
  std::vector<double> y(batch * out);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < out; ++o) {
      double s = bias[o];
      for (int64_t i = 0; i < in; ++i) s += x[b * in + i] * w[i * out + o];
      y[b * out + o] = s;
    }
  return y;
}

}  // namespace

TEST_CASE("seed MLP: names, shapes, parameters and count", "[model]") {
  Model m = seed_mlp();
  CHECK(m.name() == "softmax_0");
  CHECK(m.output_shape() == Shape{-1, 10});
  CHECK(m.input_names() == std::vector<std::string>{"input"});
  std::vector<std::string> names, ops;
  for (const auto& l : m.layers()) {
    names.push_back(l.name);
    ops.push_back(l.op);
  }
  CHECK(names == std::vector<std::string>{"input", "dense_0", "relu_0", "dropout_0", "dense_1", "softmax_0"});
  CHECK(m.layers()[3].output_shape == Shape{-1, 128});
  CHECK(m.layers()[3].inputs == std::vector<std::string>{"relu_0"});

  Params p = init(m);
  REQUIRE(p.size() == 2);
  CHECK(p.at("dense_0").at("kernel").shape() == Shape{784, 128});
  CHECK(p.at("dense_0").at("bias").shape() == Shape{128});
  CHECK(p.at("dense_1").at("kernel").shape() == Shape{128, 10});
  CHECK(p.at("dense_1").at("bias").shape() == Shape{10});
  int64_t total = 0;
  for (const auto& [layer, entries] : p)
    for (const auto& [name, t] : entries) total += t.numel();
  CHECK(total == 101770);
  CHECK(parameter_count(m) == 101770);
  CHECK(state_params(m, p).empty());
  CHECK(trainable_params(m, p).size() == 2);

  // Names number per op in creation order; a user name is kept and still counts for its op.
  Model n = input("x", {-1, 4}) | dense(3, {.name = "fc"}) | dense(2) | dense(1, {.name = "out_{n}"});
  std::vector<std::string> got;
  for (const auto& l : n.layers()) got.push_back(l.name);
  CHECK(got == std::vector<std::string>{"x", "fc", "dense_1", "out_2"});

  std::ostringstream os;
  os << m;
  CHECK(os.str() == "Model(inputs={\"input\": [-1, 784]}, output=\"softmax_0\", nodes=6)");
}

TEST_CASE("summary prints a table of the layers and Keras' parameter counts", "[model]") {
  // Character for character: -1 for the unknown batch, options as name=value, Keras' three counts.
  Model m = input("input", {-1, 784}) | dense(128) | dense(10, {.activation = "softmax"});
  const std::string expected =
      "+----------------------------------------------------------------------------------------+\n"
      "|                                         Model                                          |\n"
      "+=====================+=========+==============+=================+=======================+\n"
      "| Layer               | Inputs  | Output Shape | Options         | Parameters            |\n"
      "+=====================+=========+==============+=================+=======================+\n"
      "| input (input)       |         | f32[-1, 784] | shape=[-1, 784] |                       |\n"
      "|                     |         |              | optional=false  |                       |\n"
      "+---------------------+---------+--------------+-----------------+-----------------------+\n"
      "| dense_0 (dense)     | input   | f32[-1, 128] |                 | kernel: f32[784, 128] |\n"
      "|                     |         |              |                 | bias: f32[128]        |\n"
      "+---------------------+---------+--------------+-----------------+-----------------------+\n"
      "| dense_1 (dense)     | dense_0 | f32[-1, 10]  |                 | kernel: f32[128, 10]  |\n"
      "|                     |         |              |                 | bias: f32[10]         |\n"
      "+---------------------+---------+--------------+-----------------+-----------------------+\n"
      "| softmax_0 (softmax) | dense_1 | f32[-1, 10]  |                 |                       |\n"
      "+---------------------+---------+--------------+-----------------+-----------------------+\n"
      "Total params: 101,770 (397.54 KiB)\n"
      "Trainable params: 101,770 (397.54 KiB)\n"
      "Non-trainable params: 0 (0 B)\n";
  CHECK(summary(m) == expected);

  // State entries (batch_norm's mean and var) are the non-trainable ones.
  Model s = input("x", {-1, 3}) | batch_norm() | dropout({.rate = 0.25});
  const std::string rows =
      "| batch_norm_0 (batch_norm) | x            | f32[-1, 3]   | epsilon=1e-05    | gamma: f32[3] |\n"
      "|                           |              |              | channel_index=-1 | beta: f32[3]  |\n"
      "|                           |              |              | momentum=0.1     | mean: f32[3]  |\n"
      "|                           |              |              |                  | var: f32[3]   |\n"
      "+---------------------------+--------------+--------------+------------------+---------------+\n"
      "| dropout_0 (dropout)       | batch_norm_0 | f32[-1, 3]   | rate=0.25        |               |\n"
      "+---------------------------+--------------+--------------+------------------+---------------+\n"
      "Total params: 12 (48 B)\n"
      "Trainable params: 6 (24 B)\n"
      "Non-trainable params: 6 (24 B)\n";
  const std::string text = summary(s);
  INFO(text);
  CHECK(text.size() > rows.size());
  CHECK(text.substr(text.size() - rows.size()) == rows);
  CHECK(summary(s, DType::f64).find("gamma: f64[3]") != std::string::npos);

  // No Elixir syntax in the options: atoms, tuples, nil.
  Model c = input("img", {-1, 8, 8, 1}) | conv(2, {.kernel_size = {3}, .padding = Padding({{1, 1}, {0, 2}})}) |
            resize({4, 4}, {.method = layers::ResizeMethod::bilinear}) |
            rms_norm({.upcast = layers::RmsUpcast::all});
  const std::string cs = summary(c);
  INFO(cs);
  CHECK(cs.find("padding=[(1, 1), (0, 2)]") != std::string::npos);
  CHECK(cs.find("method=bilinear") != std::string::npos);
  CHECK(cs.find("size=[4, 4]") != std::string::npos);
  CHECK(cs.find("upcast=all") != std::string::npos);
  CHECK(cs.find("channels=last") != std::string::npos);
  for (const char* elixir : {"=:", "nil", "%{", "=>", "{"}) CHECK(cs.find(elixir) == std::string::npos);
}

TEST_CASE("predict equals a float64 hand computation of the MLP", "[model]") {
  Model m = seed_mlp();
  const int64_t B = 3;
  auto xv = random_values(B * 784, -1, 1, 5);
  for (Device d : test::devices()) {
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(d.str() << " " << dtype_name(dt));
      Params p = init(m, {.device = d, .dtype = dt, .seed = 42});
      CHECK(p.at("dense_0").at("kernel").device() == d);
      CHECK(p.at("dense_0").at("kernel").dtype() == dt);
      Tensor x = from_vector(xv, {B, 784}).to(dt).to(d);
      Tensor y = predict(m, p, x);
      auto h = ref_dense(host(x), host(p["dense_0"]["kernel"]), host(p["dense_0"]["bias"]), B, 784, 128);
      for (auto& v : h) v = std::max(v, 0.0);
      auto z = ref_dense(h, host(p["dense_1"]["kernel"]), host(p["dense_1"]["bias"]), B, 128, 10);
      for (int64_t b = 0; b < B; ++b) {
        double mx = -1e300, s = 0;
        for (int o = 0; o < 10; ++o) mx = std::max(mx, z[b * 10 + o]);
        for (int o = 0; o < 10; ++o) s += std::exp(z[b * 10 + o] - mx);
        for (int o = 0; o < 10; ++o) z[b * 10 + o] = std::exp(z[b * 10 + o] - mx) / s;
      }
      check_close(y.to(Device::cpu()), z, {B, 10}, dt == DType::f64 ? test::Tol{1e-12, 1e-14} : test::Tol{1e-4, 1e-6});
      // apply in inference mode is the same and returns no state.
      auto r = apply(m, p, x);
      check_close(r.output.to(Device::cpu()), z, {B, 10}, dt == DType::f64 ? test::Tol{1e-12, 1e-14} : test::Tol{1e-4, 1e-6});
      CHECK(r.state.empty());
    }
  }
}

TEST_CASE("dropout is the identity at inference and active in train mode", "[model]") {
  Model m = input("x", {-1, 1000}) | dropout({.rate = 0.5});
  Params p = init(m);
  CHECK(p.empty());
  for (Device d : test::devices()) {
    Tensor x = full({4, 1000}, 3.0, DType::f32, d);
    check_close(predict(m, p, x).to(Device::cpu()), std::vector<double>(4000, 3.0), {4, 1000}, {0, 0});
    Generator g1(9), g2(9), g3(10);
    auto a = host(apply(m, p, x, {.mode = Mode::train, .generator = &g1}).output);
    auto b = host(apply(m, p, x, {.mode = Mode::train, .generator = &g2}).output);
    auto c = host(apply(m, p, x, {.mode = Mode::train, .generator = &g3}).output);
    int64_t zeros = 0;
    for (double v : a) {
      CHECK((v == 0.0 || std::abs(v - 6.0) < 1e-6));
      zeros += v == 0.0;
    }
    CHECK(std::abs(zeros / 4000.0 - 0.5) < 0.05);
    CHECK(a == b);  // same generator state, same mask
    CHECK(a != c);
  }
}

TEST_CASE("batch_norm: state entries, train-mode update, inference with running stats", "[model]") {
  Model m = input("x", {-1, 3}) | batch_norm();
  Params p = init(m);
  auto bn = p.at("batch_norm_0");
  check_close(bn.at("gamma"), {1, 1, 1}, {3}, {0, 0});  // ones (PyTorch's choice, not Axon's glorot)
  check_close(bn.at("beta"), {0, 0, 0}, {3}, {0, 0});
  check_close(bn.at("mean"), {0, 0, 0}, {3}, {0, 0});
  check_close(bn.at("var"), {1, 1, 1}, {3}, {0, 0});
  CHECK(is_state(m, "batch_norm_0", "mean"));
  CHECK(is_state(m, "batch_norm_0", "var"));
  CHECK_FALSE(is_state(m, "batch_norm_0", "gamma"));
  CHECK_FALSE(is_state(m, "nope", "mean"));
  CHECK(trainable_params(m, p).at("batch_norm_0").size() == 2);
  CHECK(state_params(m, p).at("batch_norm_0").size() == 2);
  CHECK(merge_params(trainable_params(m, p), state_params(m, p)).at("batch_norm_0").size() == 4);

  const std::vector<double> xv = {1, 2, 3, 4, 0, -1, 2, 2, 5, -3, 6, 1};  // [4, 3]
  for (Device d : test::devices()) {
    Tensor x = from_vector(xv, {4, 3}).to(d);
    Params pd = init(m, {.device = d, .dtype = DType::f64});
    auto r = apply(m, pd, x, {.mode = Mode::train});
    std::vector<double> out(12), mean(3), var_b(3), var_u(3);
    for (int c = 0; c < 3; ++c) {
      for (int b = 0; b < 4; ++b) mean[c] += xv[b * 3 + c] / 4;
      double q = 0;
      for (int b = 0; b < 4; ++b) q += (xv[b * 3 + c] - mean[c]) * (xv[b * 3 + c] - mean[c]);
      var_b[c] = q / 4;
      var_u[c] = q / 3;
      for (int b = 0; b < 4; ++b) out[b * 3 + c] = (xv[b * 3 + c] - mean[c]) / std::sqrt(var_b[c] + 1e-5);
    }
    check_close(r.output.to(Device::cpu()), out, {4, 3}, {1e-10, 1e-12});
    REQUIRE(r.state.count("batch_norm_0"));
    std::vector<double> rm(3), rv(3);
    for (int c = 0; c < 3; ++c) {
      rm[c] = 0.1 * mean[c];
      rv[c] = 0.9 + 0.1 * var_u[c];
    }
    check_close(r.state["batch_norm_0"]["mean"].to(Device::cpu()), rm, {3}, {1e-12, 1e-14});
    check_close(r.state["batch_norm_0"]["var"].to(Device::cpu()), rv, {3}, {1e-12, 1e-14});
    // Inference uses the running statistics it is given.
    Params updated = merge_params(pd, r.state);
    std::vector<double> inf(12);
    for (int b = 0; b < 4; ++b)
      for (int c = 0; c < 3; ++c) inf[b * 3 + c] = (xv[b * 3 + c] - rm[c]) / std::sqrt(rv[c] + 1e-5);
    check_close(predict(m, updated, x).to(Device::cpu()), inf, {4, 3}, {1e-10, 1e-12});
  }
  // Axon's gamma initializer is an option.
  Model axon_bn = input("x", {-1, 64}) | batch_norm({.gamma_initializer = "glorot_uniform"});
  auto g = host(init(axon_bn).at("batch_norm_0").at("gamma"));
  CHECK(std::any_of(g.begin(), g.end(), [](double v) { return v != 1.0; }));
}

TEST_CASE("init is deterministic from the seed, per layer and parameter", "[model]") {
  Model m = seed_mlp();
  Params a = init(m, {.seed = 7}), b = init(m, {.seed = 7}), c = init(m, {.seed = 8});
  CHECK(host(a["dense_0"]["kernel"]) == host(b["dense_0"]["kernel"]));
  CHECK(host(a["dense_1"]["kernel"]) == host(b["dense_1"]["kernel"]));
  CHECK(host(a["dense_0"]["kernel"]) != host(c["dense_0"]["kernel"]));
  // Defaults: glorot_uniform kernels within sqrt(6 / (fan_in + fan_out)), zero biases.
  auto k = host(a["dense_0"]["kernel"]);
  const double limit = std::sqrt(6.0 / (784 + 128));
  double mx = 0;
  for (double v : k) mx = std::max(mx, std::abs(v));
  CHECK(mx <= limit);
  CHECK(mx > 0.9 * limit);
  for (double v : host(a["dense_0"]["bias"])) CHECK(v == 0.0);
  // Two layers of one shape draw different streams; a layer's values do not depend on the others.
  Model two = input("x", {-1, 8}) | dense(8) | dense(8);
  Params t = init(two, {.seed = 3});
  CHECK(host(t["dense_0"]["kernel"]) != host(t["dense_1"]["kernel"]));
  Params one = init(input("x", {-1, 8}) | dense(8), {.seed = 3});
  CHECK(host(t["dense_0"]["kernel"]) == host(one["dense_0"]["kernel"]));
  // Initializers by name, or a function.
  Model named = input("x", {-1, 4}) | dense(3, {.kernel_initializer = "ones", .bias_initializer = "normal"});
  Params pn = init(named);
  for (double v : host(pn["dense_0"]["kernel"])) CHECK(v == 1.0);
  Model fn = input("x", {-1, 4}) |
             dense(3, {.kernel_initializer = [](const Shape& s, DType dt, Device d, Generator&) {
                         return full(s, 0.5, dt, d);
                       }});
  for (double v : host(init(fn)["dense_0"]["kernel"])) CHECK(v == 0.5);
  Model bad = input("x", {-1, 4}) | dense(3, {.kernel_initializer = "glorot"});
  AXON_REQUIRE_THROWS_WITH(init(bad), "unknown initializer \"glorot\"");
  AXON_REQUIRE_THROWS_WITH(init(bad), "dense_0");
}
