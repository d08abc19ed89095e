// Fashion-MNIST with the model-creation and training APIs: the W1 MLP or the W2 CNN of
// docs/workloads.md, built with builders, trained by trainer() with an accuracy metric
// and validation on the test set after every epoch.
//
//   example_fashion_mnist [--model mlp|cnn] [--device cpu|cuda] [--epochs N] [--data DIR]
//                         [--limit-steps N] [--save FILE] [--compile]
//
// Exits non-zero below 84% final test accuracy (unless --limit-steps cut the epochs short).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <axon/axon.hpp>

using namespace axon;

namespace {

struct Args {
  std::string model = "mlp";
  Device device = default_device();  // --device overrides
  int epochs = 2;
  std::string data;  // default: data/fashion-mnist, then /usr/share/datasets/fashion-mnist
  int64_t limit_steps = -1;
  std::string save;
  bool compile = false;  // CUDA: each train step replayed as a CUDA graph
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("fashion_mnist: " + k + " needs a value");
      return argv[++i];
    };
    if (k == "--model") a.model = value();
    else if (k == "--device") a.device = Device::parse(value());
    else if (k == "--epochs") a.epochs = std::stoi(value());
    else if (k == "--data") a.data = value();
    else if (k == "--limit-steps") a.limit_steps = std::stoll(value());
    else if (k == "--save") a.save = value();
    else if (k == "--compile") a.compile = true;
    else
      throw Error("fashion_mnist: unknown argument " + k +
                  " (usage: --model mlp|cnn --device cpu|cuda --epochs N --data DIR --limit-steps N --save FILE --compile)");
  }
  if (a.model != "mlp" && a.model != "cnn") throw Error("fashion_mnist: --model must be mlp or cnn, got " + a.model);
  return a;
}

Tensor loss(const Tensor& labels, const Tensor& logits) {
  return losses::categorical_cross_entropy(
      labels, logits, {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
}
Tensor accuracy(const Tensor& labels, const Tensor& logits) {
  return metrics::accuracy(labels, logits, {.sparse = true});
}

int run(const Args& a) {
  const data::ImageSet d = data::load_fashion_mnist(data::find_fashion_mnist(a.data), {.device = a.device});

  // W1 (784 -> dense 128 relu -> dropout 0.5 -> dense 10) or W2 (two conv 3x3 + max_pool 2 stages ->
  // dense 128 relu -> dense 10), written out in layers/src/model/fashion_mnist_models.cpp; both give
  // logits, the softmax being folded into the loss.
  Model model = a.model == "mlp" ? fashion_mnist_mlp() : fashion_mnist_cnn();
  std::cout << summary(model) << "\n";

  Loop loop = trainer(model, loss, optim::adam(1e-3), {.log = 50, .compile = a.compile});
  training::metric(loop, "accuracy", accuracy);
  training::validate(loop, model, training::tensor_dataset(d.test_images, d.test_labels, {.batch_size = 1000}));
  // trainer's progress report prints each epoch's time and validation metrics on its last line.
  LoopState state = loop.run(training::tensor_dataset(d.train_images, d.train_labels, {.batch_size = 128, .shuffle = true}),
                             {}, {.epochs = a.epochs, .iterations = a.limit_steps});

  Params params = model_state(state);
  if (!a.save.empty()) save_params(a.save, params);
  const auto& last = state.epoch_metrics.rbegin()->second;
  double acc = last.at("validation_accuracy").item<double>();
  std::printf("final test accuracy %.4f\n", acc);
  if (a.limit_steps < 0 && acc < 0.84) {
    std::fprintf(stderr, "final test accuracy %.4f is below 0.84\n", acc);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
