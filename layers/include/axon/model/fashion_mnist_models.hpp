#pragma once
// The two Fashion-MNIST models of docs/workloads.md, ready made (as Keras' applications or
// torchvision's models): the examples and axon-bench train these, and a user can start from them.
// Both take images [-1, 28, 28, 1] (channels last) named "images" and give 10 logits (the softmax is
// left to the loss).
#include <axon/model.hpp>

namespace axon {

// W1: flatten 784 -> dense 128 relu -> dropout 0.5 -> dense 10.
Model fashion_mnist_mlp();
// W2: conv 32 3x3 same relu -> max_pool 2 -> conv 64 3x3 same relu -> max_pool 2 -> flatten ->
// dense 128 relu -> dense 10.
Model fashion_mnist_cnn();

}  // namespace axon
