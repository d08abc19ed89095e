// The data pipeline end to end: Fashion-MNIST read from its IDX files, each training image randomly
// cropped (zero padding 2) and flipped on two background threads four batches ahead, delivered on the
// GPU when one is present, and the small CNN trained on it for a few hundred steps.
//
//   example_data_pipeline [--steps N]   (default 300; exits non-zero below 70% test accuracy)
#include <cstdlib>
#include <iostream>
#include <string>

#include <axon/axon.hpp>
#include <axon/data/pipeline.hpp>

using namespace axon;

int main(int argc, char** argv) {
  int64_t steps = 300;
  if (argc == 3 && std::string(argv[1]) == "--steps") steps = std::atoll(argv[2]);
  const Device device = cuda_available() ? Device::cuda() : Device::cpu();
  const std::string dir = data::find_fashion_mnist();

  // snippet-begin: pipeline
  training::Dataset train =
      data::Pipeline(data::from_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"))
          .map(data::random_crop(28, 28, 2))  // zero-pad 2, crop 28x28 at random
          .map(data::random_flip())           // mirror W with probability 0.5
          .shuffle(42)
          .batch(128, /*drop_last=*/true)
          .prefetch(4, /*threads=*/2)         // 4 batches ahead on 2 threads
          .to(device)                         // pinned host batches, non-blocking copies
          .dataset();
  // snippet-end: pipeline
  auto test = data::load_fashion_mnist(dir, {.device = device, .split = data::Split::test});

  Model model = input("images", {-1, 28, 28, 1}) |
                conv(16, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
                max_pool({.kernel_size = {2}}) | flatten() | dense(10);
  auto loss = [](const Tensor& y, const Tensor& logits) {
    return losses::categorical_cross_entropy(y, logits,
                                             {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
  };
  Loop loop = trainer(model, loss, optim::adam(1e-3), {.log = 0});
  training::metric(loop, "accuracy", [](const Tensor& y, const Tensor& p) { return metrics::accuracy(y, p, {.sparse = true}); });
  training::validate(loop, model, training::tensor_dataset(test.test_images, test.test_labels, {.batch_size = 1000}));
  LoopState state = loop.run(train, {}, {.epochs = 1, .iterations = steps});
  const double acc = state.epoch_metrics.rbegin()->second.at("validation_accuracy").item<double>();
  std::cout << "data_pipeline: " << steps << " steps on " << device.str() << ", test accuracy " << acc << "\n";
  return acc >= 0.70 ? EXIT_SUCCESS : EXIT_FAILURE;
}
