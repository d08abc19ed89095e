// The README's functional-API example (the README shows this file; CI builds and runs it).
#include <axon/axon.hpp>

#include <iostream>

using namespace axon;

int main() {
  Device dev = default_device();  // the GPU when there is one, else the CPU
  Tensor x = randn({128, 784}, DType::f32, dev);
  Tensor y = randint(0, 10, {128}, DType::i64, dev);
  Params params{{"dense", {{"kernel", initializers::glorot_uniform({784, 10}, {.device = dev, .seed = 1})},
                           {"bias", zeros({10}, DType::f32, dev)}}}};

  auto optimizer = optim::adamw(1e-3);
  optim::State state = optimizer.init(params);
  for (int step = 0; step < 100; ++step) {
    auto [loss, grads] = value_and_grad([&](const Params& p) {
      Tensor logits = layers::dense(x, p.at("dense").at("kernel"), p.at("dense").at("bias"));
      return losses::categorical_cross_entropy(
          y, logits, {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
    }, params);
    auto [updates, next] = optimizer.update(grads, state, params);
    params = optim::apply_updates(params, updates);
    state = std::move(next);
  }
  std::cout << "trained dense layer: " << describe(params.at("dense").at("kernel")) << "\n";
  return 0;
}
