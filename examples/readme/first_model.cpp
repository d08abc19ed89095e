// An MLP on Fashion-MNIST with the model-creation and training APIs, on default_device(): the GPU
// when there is one, else the CPU. The README shows this file; CI builds and runs it.
#include <axon/axon.hpp>

#include <iostream>

using namespace axon;

int main() {
  Model model = input("images", {-1, 28, 28, 1}) | flatten()
              | dense(128, {.activation = "relu"}) | dropout({.rate = 0.5}) | dense(10);
  std::cout << summary(model);

  auto data = load_fashion_mnist(find_fashion_mnist());  // on default_device()
  Loop loop = trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}},
                      optim::adam(1e-3));
  metric(loop, "accuracy", {.sparse = true});
  validate(loop, model, tensor_dataset(data.test_images, data.test_labels, {.batch_size = 1000}));
  LoopState state = loop.run(tensor_dataset(data.train_images, data.train_labels,
                                            {.batch_size = 128, .shuffle = true}), {}, {.epochs = 10});

  Params params = model_state(state);  // layer -> name -> tensor
  Tensor probs = activations::softmax(predict(model, params, data.test_images));
  std::cout << "test accuracy: " << metrics::accuracy(data.test_labels, probs, {.sparse = true}).item<float>() << "\n";
  save_params("mlp.safetensors", params);  // safetensors: loadable from Python too
}
