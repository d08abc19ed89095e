// A model file: build a small CNN, save its graph and parameters in one file, load it back and check
// that the loaded model predicts the same values bit for bit. `example_model_file PATH` writes PATH
// (CI then reads the weights with Python's safetensors: .ci/model-file).
#include <axon/axon.hpp>

#include <cstring>
#include <iostream>

using namespace axon;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "cnn.safetensors";
  Model model = input("images", {-1, 28, 28, 1}) |
                conv(8, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
                batch_norm() | max_pool({.kernel_size = {2}}) | flatten() | dropout({.rate = 0.5}) | dense(10);
  Params params = init(model, {.seed = 42});
  Tensor x = randn({4, 28, 28, 1}, DType::f32, Device::cpu());
  // snippet-begin: save-load
  save_model(path, model, params);
  LoadedModel m = load_model(path);                 // in another process as well
  Tensor y = predict(m.model, m.params, x);         // bit for bit the original's predictions
  // snippet-end: save-load
  std::cout << summary(m.model);
  Tensor a = predict(model, params, x).contiguous(), b = y.contiguous();
  const bool same = a.shape() == b.shape() && std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
  std::cout << path << ": " << m.model << ", predictions " << (same ? "identical" : "DIFFER") << "\n";
  return same ? 0 : 1;
}
