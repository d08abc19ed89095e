// axon-onnx-check: the C++ half of the ONNX / PyTorch proof run by .ci/onnx.
//   axon-onnx-check export DIR   exports every reference model to DIR/<name>.onnx and writes its input
//                                and axon's output to DIR/<name>.safetensors ("input", "output"), for
//                                onnxruntime to compare (.ci/onnx_compare.py)
//   axon-onnx-check torch DIR    loads torchvision's ResNet-18 state_dict (DIR/resnet18_torch.safetensors)
//                                and its input / logits (DIR/resnet18_torch_io.safetensors) written by
//                                .ci/onnx_torch_resnet.py, maps it with from_torch_state_dict onto the model
//                                API's ResNet-18 and compares the logits (tolerance 1e-4)
#include <cmath>
#include <cstdio>
#include <iostream>

#include <axon/io.hpp>
#include <axon/onnx.hpp>
#include <axon/ops.hpp>
#include <axon/torch_weights.hpp>

#include "../tests/reference_models.hpp"

namespace {

using namespace axon;

// Non-trivial values for every parameter, statistics included (positive variances), so that a wrong
// mapping of any of them shows.
Params random_params(const Model& model, uint64_t seed) {
  Params p = init(model, {.seed = seed});
  Generator gen(seed + 1);
  for (auto& [layer, map] : p)
    for (auto& [name, t] : map) {
      if (name == "var")
        t = uniform(t.shape(), 0.5, 1.5, gen);
      else if (name == "mean" || name == "beta" || name == "gamma" || name.rfind("bias", 0) == 0 || name[0] == 'b')
        t = add(mul(randn(t.shape(), gen), 0.2), name == "gamma" ? 1.0 : 0.0);
    }
  return p;
}

int export_all(const std::string& dir) {
  for (const auto& c : onnx::reference::cases()) {
    Generator gen(42);
    const Tensor x = c.ids ? randint(0, 50, c.input, gen, DType::i64) : randn(c.input, gen);
    const Params params = random_params(c.model, 7);
    const Tensor y = predict(c.model, params, x);
    onnx::export_model(c.model, params, dir + "/" + c.name + ".onnx");
    save_safetensors(dir + "/" + c.name + ".safetensors", {{"input", x}, {"output", y}});
    std::cout << "exported " << c.name << ": input " << to_string(x.shape()) << " -> " << to_string(y.shape()) << "\n";
  }
  return 0;
}

int torch_resnet(const std::string& dir) {
  onnx::reference::ResNet18 net(10, 64);
  const TensorMap sd = load_safetensors(dir + "/resnet18_torch.safetensors");
  const TensorMap io = load_safetensors(dir + "/resnet18_torch_io.safetensors");
  const Params params = from_torch_state_dict(net.model, sd, net.names);
  const Tensor images = io.at("input").permute({0, 2, 3, 1}).contiguous();  // NCHW -> NHWC
  const Tensor logits = predict(net.model, params, images);
  const double diff = abs(sub(logits, io.at("logits"))).max().item<float>();
  const double scale = abs(io.at("logits")).max().item<float>();
  std::printf("torchvision resnet18 -> from_torch_state_dict: max |axon - torch| = %.3g (logits up to %.3g)\n", diff,
              scale);
  if (!(diff <= 1e-4)) {
    std::printf("FAIL: above 1e-4\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s export|torch DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    if (cmd == "export") return export_all(argv[2]);
    if (cmd == "torch") return torch_resnet(argv[2]);
    std::fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
