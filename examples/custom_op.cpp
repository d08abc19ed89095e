// A user-defined differentiable op: the forward is your own code (here a plain loop; in practice
// often your own CUDA kernel launched on axon::cuda::stream(device.index)), the backward is written
// with axon ops so that it runs on any device and can itself be differentiated.
#include <axon/axon.hpp>

#include <iostream>

using namespace axon;

// softsign(x) = x / (1 + |x|), derivative 1 / (1 + |x|)^2.
Tensor my_softsign(const Tensor& x_in) {
  Tensor x = x_in.to(DType::f32).contiguous().to(Device::cpu());
  Tensor y = empty_like(x);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] / (1.0f + std::abs(px[i]));
  // One tape entry: inputs, outputs, and the vector-Jacobian product of the op.
  autograd::record("my_softsign", {x}, {y}, [x](const autograd::Grads& g) {
    Tensor d = 1.0 + abs(x);
    return autograd::Grads{g[0] / (d * d)};
  });
  return y;
}

int main() {
  Tensor x = tensor({-2.f, 0.f, 3.f});
  auto [value, g] = value_and_grad([](const Tensor& t) { return sum(my_softsign(t)); }, x);
  std::cout << "value " << value << "\ngrad  " << g << "\n";  // 1/9, 1, 1/16
  return 0;
}
