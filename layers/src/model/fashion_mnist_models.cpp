#include <axon/model/fashion_mnist_models.hpp>

namespace axon {

Model fashion_mnist_mlp() {
  return input("images", {-1, 28, 28, 1}) | flatten() | dense(128, {.activation = "relu"}) |
         dropout({.rate = 0.5}) | dense(10);
}

Model fashion_mnist_cnn() {
  return input("images", {-1, 28, 28, 1}) |
         conv(32, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) |
         conv(64, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) | flatten() | dense(128, {.activation = "relu"}) | dense(10);
}

}  // namespace axon
