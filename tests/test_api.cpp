// One consistent API (issue 15): the default device, the namespace rule, options structs.
#include <filesystem>
#include <sstream>

#include <axon/axon.hpp>

#include "harness.hpp"

using namespace axon;

namespace {
// Restores the process-wide default when a case ends, whatever it set.
struct DefaultDeviceGuard {
  Device saved = default_device();
  ~DefaultDeviceGuard() { set_default_device(saved); }
};
}  // namespace

TEST_CASE("default_device is the GPU when one is visible, else the CPU", "[api][device]") {
  DefaultDeviceGuard guard;
  CHECK(default_device() == (cuda_available() ? Device::cuda() : Device::cpu()));
  set_default_device(Device::cpu());
  CHECK(default_device() == Device::cpu());
  CHECK(data::FashionMnistOptions{}.device == Device::cpu());
}

TEST_CASE("set_default_device rejects a GPU that is not there", "[api][device]") {
  DefaultDeviceGuard guard;
  Device before = default_device();
  AXON_REQUIRE_THROWS_WITH(set_default_device(Device::cuda(cuda_device_count())),
                           fmt::format("set_default_device: cuda:{} requested but", cuda_device_count()));
  CHECK(default_device() == before);
  AXON_REQUIRE_THROWS_WITH(set_default_device(Device{DeviceType::cpu, -1}), "device index -1 is negative");
}

TEST_CASE("trainer moves CPU batches to the device it is told", "[api][device]") {
  // Told the CPU explicitly: the parameters live where the batches were sent.
  Model model = input("x", {-1, 3}) | dense(2);
  Tensor x = randn({8, 3});
  Tensor y = randint(0, 2, {8});
  Loop loop = trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, "sgd",
                      {.log = 0, .device = Device::cpu()});
  LoopState state = loop.run(tensor_dataset(x, y, {.batch_size = 4}), {}, {.epochs = 1});
  CHECK(model_state(state).at("dense_0").at("kernel").device() == Device::cpu());
}

TEST_CASE("trainer and train put CPU data on default_device()", "[api][device][cuda]") {
  AXON_REQUIRE_CUDA();
  DefaultDeviceGuard guard;
  set_default_device(Device::cuda());
  Model model = input("x", {-1, 3}) | dense(2);
  Params p = train(train_step(model, "mean_squared_error", "sgd"), randn({8, 3}), randn({8, 2}),
                   {.epochs = 1, .batch_size = 4, .log = 0});
  CHECK(p.at("dense_0").at("kernel").device() == Device::cuda());
}

TEST_CASE("namespace rule: sub-namespaces only group", "[api]") {
  // axon::training and axon::data are re-exported into axon: the same entities.
  STATIC_REQUIRE(std::is_same_v<axon::Event, axon::training::Event>);
  STATIC_REQUIRE(std::is_same_v<axon::Loop, axon::training::Loop>);
  STATIC_REQUIRE(std::is_same_v<axon::ImageSet, axon::data::ImageSet>);
  using DatasetFn = training::Dataset (*)(const Tensor&, const Tensor&, training::BatchOptions);
  CHECK(static_cast<DatasetFn>(&axon::tensor_dataset) == static_cast<DatasetFn>(&axon::training::tensor_dataset));
  using FindFn = std::string (*)(const std::string&);
  CHECK(static_cast<FindFn>(&axon::find_fashion_mnist) == static_cast<FindFn>(&axon::data::find_fashion_mnist));
  // A family name the core also has is the core's function.
  using Unary = Tensor (*)(const Tensor&);
  CHECK(static_cast<Unary>(&axon::relu) == static_cast<Unary>(&axon::activations::relu));
  CHECK(static_cast<Unary>(&axon::sigmoid) == static_cast<Unary>(&axon::activations::sigmoid));
  CHECK(static_cast<Unary>(&axon::silu) == static_cast<Unary>(&axon::activations::silu));
  using Elu = Tensor (*)(const Tensor&, double);
  CHECK(static_cast<Elu>(&axon::elu) == static_cast<Elu>(&axon::activations::elu));
  // ... and its options overload agrees with the positional one.
  Tensor x = from_vector(std::vector<double>{-2, -0.5, 0, 1.5}, {4});
  test::check_close(activations::elu(x, {.alpha = 2}), axon::elu(x, 2.0), {0, 0});
  test::check_close(activations::leaky_relu(x), axon::leaky_relu(x, 0.01), {0, 0});
  test::check_close(activations::softmax(x, {.axis = 0}), axon::softmax(x, 0), {0, 0});
}

TEST_CASE("the old spellings still compile and agree", "[api]") {
  // training::X and data::X as before the rule; trainer's using-declarations.
  Model model = input("x", {-1, 3}) | dense(2);
  training::Loop a = training::trainer(model, "mean_squared_error", "sgd", {.log = 0});
  Loop b = trainer(model, "mean_squared_error", "sgd", {.log = 0});
  training::Dataset d = training::tensor_dataset(randn({4, 3}), randn({4, 2}), {.batch_size = 2});
  CHECK(tensor_dataset(randn({4, 3}), randn({4, 2}), {.batch_size = 2}).num_batches() == d.num_batches());
  CHECK(model_state(a.run(d, {}, {.epochs = 1})).size() == model_state(b.run(d, {}, {.epochs = 1})).size());
}

TEST_CASE("conv options take one value for every spatial axis", "[api][model]") {
  Model scalar = input("x", {-1, 9, 9, 2}) | conv(4, {.kernel_size = 3, .strides = 2, .kernel_dilation = 1});
  Model listed = input("x", {-1, 9, 9, 2}) | conv(4, {.kernel_size = {3, 3}, .strides = {2, 2}});
  CHECK(scalar.output_shape() == listed.output_shape());
  CHECK(scalar.output_shape() == Shape{-1, 4, 4, 4});
  Params p = init(scalar, {.seed = 3});
  CHECK(p.at("conv_0").at("kernel").shape() == Shape{3, 3, 2, 4});
  Model mixed = input("x", {-1, 9, 7, 2}) | conv(4, {.kernel_size = {3, 1}});
  CHECK(mixed.output_shape() == Shape{-1, 7, 7, 4});
  Model pooled = input("x", {-1, 8, 8, 2}) | max_pool({.kernel_size = 2});
  CHECK(pooled.output_shape() == Shape{-1, 4, 4, 2});
}

TEST_CASE("an activation option is a name or a function", "[api][model]") {
  Tensor x = randn({5, 3}, DType::f32);
  Model named = input("x", {-1, 3}) | dense(4, {.activation = "silu"});
  Model fn = input("x", {-1, 3}) | dense(4, {.activation = activations::silu});
  Model lambda = input("x", {-1, 3}) | dense(4, {.activation = [](const Tensor& t) { return mul(silu(t), 1.0); }});
  Params p = init(named, {.seed = 7});
  Tensor want = predict(named, p, x);
  test::check_close(predict(fn, p, x), want, {1e-6, 1e-6});
  test::check_close(predict(lambda, p, x), want, {1e-6, 1e-6});
  CHECK(max(abs(sub(want, predict(input("x", {-1, 3}) | dense(4), p, x)))).item<float>() > 1e-3);
  Model convolved = input("x", {-1, 6, 6, 1}) | conv(2, {.kernel_size = 3, .activation = activations::relu});
  CHECK(min(predict(convolved, init(convolved), randn({2, 6, 6, 1}))).item<float>() >= 0.0f);
  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 3}) | dense(4, {.activation = "swishy"}), "unknown activation \"swishy\"");
}

TEST_CASE("recurrent layers take their activation and gate as a name or a function", "[api][recurrent]") {
  Model by_name = input("x", {-1, 4, 3}) | lstm(5, {.activation = "tanh", .gate = "sigmoid", .return_sequences = false});
  Model by_fn = input("x", {-1, 4, 3}) |
                lstm(5, {.activation = [](const Tensor& t) { return tanh(t); }, .gate = [](const Tensor& t) { return sigmoid(t); },
                         .return_sequences = false});
  Params p = init(by_name, {.seed = 4});
  Tensor x = test::random_tensor({2, 4, 3}, DType::f32, -1, 1, 5);
  const std::vector<float> a = predict(by_name, p, x).to_vector<float>(), b = predict(by_fn, p, x).to_vector<float>();
  // By name the fused LSTM op runs, by function the composed steps: the same math up to rounding.
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Catch::Approx(b[i]).epsilon(1e-5).margin(1e-6));
  // A different function gives a different result: the function is the one used.
  Model hard = input("x", {-1, 4, 3}) | gru(5, {.activation = [](const Tensor& t) { return clamp(t, -0.1, 0.1); },
                                                  .return_sequences = false});
  Model soft = input("x", {-1, 4, 3}) | gru(5, {.return_sequences = false});
  Params q = init(soft, {.seed = 6});
  CHECK(predict(hard, q, x).to_vector<float>() != predict(soft, q, x).to_vector<float>());
  // A function cannot be stored in a model file: the load says so, naming the option.
  const std::string path = test::temp_path("rnn_fn.safetensors");
  save_model(path, by_fn, p);
  AXON_REQUIRE_THROWS_WITH(load_model(path), "a function cannot be stored in a model file");
  std::filesystem::remove(path);
  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 4, 3}) | lstm(5, {.gate = "nope"}), "nope");
}
