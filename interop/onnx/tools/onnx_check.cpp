// axon-onnx-check: the C++ half of the ONNX / PyTorch proof run by .ci/onnx.
//   axon-onnx-check export DIR   exports every reference model to DIR/<name>.onnx and writes its input
//                                and axon's output to DIR/<name>.safetensors ("input", "output"), for
//                                onnxruntime to compare (.ci/onnx_compare.py)
//   axon-onnx-check torch DIR    maps the state_dicts .ci/onnx_torch_weights.py wrote (torchvision's
//                                ResNet-18, an LSTM / GRU stack, a transformer encoder layer, a
//                                ConvTranspose decoder) with
//                                from_torch_state_dict onto the same models built with the model API and
//                                compares the outputs with PyTorch's (tolerance 1e-4)
#include <axon/io.hpp>
#include <axon/onnx.hpp>
#include <axon/ops.hpp>
#include <axon/torch_weights.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

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

// Ids in [1, 50) with padding (0): a leading one in row 0 (its first query sees only padding under a
// causal mask) and a padded tail in row 1.
Tensor padded_ids(const Shape& shape, Generator& gen) {
  auto v = randint(1, 50, shape, gen, DType::i64).to_vector<int64_t>();
  const int64_t t = shape[1];
  v[0] = 0;
  for (int64_t j = t / 2; j < t; ++j) v[static_cast<size_t>(t + j)] = 0;
  return from_vector(v, shape);
}

int export_all(const std::string& dir) {
  for (const auto& c : onnx::reference::cases()) {
    Generator gen(42);
    const Tensor x = c.ids ? padded_ids(c.input, gen) : randn(c.input, gen);
    const Params params = random_params(c.model, 7);
    const Tensor y = predict(c.model, params, x);
    // snippet-begin: export
    onnx::export_model(c.model, params, dir + "/" + c.name + ".onnx");
    // snippet-end: export
    save_safetensors(dir + "/" + c.name + ".safetensors", {{"input", x}, {"output", y}});
    std::cout << "exported " << c.name << ": input " << to_string(x.shape()) << " -> " << to_string(y.shape()) << "\n";
  }
  return 0;
}

// One PyTorch model of .ci/onnx_torch_weights.py against the same model built with the model API.
bool torch_case(const std::string& dir, const std::string& name, const Model& model,
                const std::map<std::string, std::string>& names, bool nchw) {
  // snippet-begin: torch
  const TensorMap sd = load_safetensors(dir + "/torch_" + name + ".safetensors");
  const TensorMap io = load_safetensors(dir + "/torch_" + name + "_io.safetensors");
  const Params params = from_torch_state_dict(model, sd, names);
  // snippet-end: torch
  Tensor x = io.at("input");
  if (nchw) x = x.permute({0, 2, 3, 1}).contiguous();  // PyTorch's images are NCHW, axon's NHWC
  const Tensor y = predict(model, params, x);
  const double diff = abs(sub(y, io.at("output"))).max().item<float>();
  const double scale = abs(io.at("output")).max().item<float>();
  const bool ok = diff <= 1e-4;
  std::printf("%s torch %-12s -> from_torch_state_dict: max |axon - torch| = %.3g (outputs up to %.3g)\n",
              ok ? "ok  " : "FAIL", name.c_str(), diff, scale);
  return ok;
}

int torch_models(const std::string& dir) {
  const onnx::reference::ResNet18 resnet(10, 64);
  bool ok = torch_case(dir, "resnet18", resnet.model, resnet.names, true);
  ok &= torch_case(dir, "recurrent", onnx::reference::recurrent(),
                   {{"lstm_0", "lstm"}, {"gru_0", "gru"}, {"dense_0", "fc"}}, false);
  ok &= torch_case(dir, "transformer", onnx::reference::transformer_block(),
                   {{"multi_head_attention_0", "self_attn"},
                    {"layer_norm_0", "norm1"},
                    {"dense_0", "linear1"},
                    {"dense_1", "linear2"},
                    {"layer_norm_1", "norm2"}},
                   false);
  const Model decoder = input("maps", {-1, 5, 5, 4}) |
                        conv_transpose(6, {.kernel_size = {3}, .strides = {2}, .padding = Padding{{1, 2}, {1, 2}}}) |
                        relu() | depthwise_conv(1, {.kernel_size = {3}, .padding = PaddingMode::same}) | group_norm(2);
  ok &= torch_case(dir, "decoder", decoder,
                   {{"conv_transpose_0", "0"}, {"depthwise_conv_0", "2"}, {"group_norm_0", "3"}}, true);
  return ok ? 0 : 1;
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
    if (cmd == "torch") return torch_models(argv[2]);
    std::fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
