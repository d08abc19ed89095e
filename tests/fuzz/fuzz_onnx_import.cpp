// onnx::import_model from hostile bytes: it fails with axon::Error or gives a model that runs (or
// fails with axon::Error) on zeros of its declared input shape. Seeds: axon's own exports.
#include <axon/model.hpp>
#include <axon/onnx.hpp>

#include "fuzz_common.hpp"

using namespace axon;

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    auto write = [&](const std::string& name, const Model& m) {
      onnx::export_model(m, init(m), dir + "/" + name + ".onnx");
    };
    write("dense", input("x", {-1, 6}) | dense(4, {.activation = "relu"}) | softmax());
    write("conv", input("x", {-1, 6, 6, 2}) | conv(3, {.kernel_size = {3}, .padding = PaddingMode::same}) |
                      batch_norm() | max_pool({.kernel_size = {2}}) | flatten() | dense(2));
    write("lstm", input("x", {-1, 4, 3}) | lstm(5) | gru(3, {.return_sequences = false}));
    write("attention", input("x", {-1, 4, 8}) | multi_head_attention({.num_heads = 2, .causal = true}) | layer_norm());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::write_file(fuzz::scratch_path(), std::string_view(reinterpret_cast<const char*>(data), size));
  onnx::Imported m;
  try {
    m = onnx::import_model(fuzz::scratch_path());
  } catch (const Error&) {
    return 0;
  }
  std::map<std::string, Tensor> inputs;
  for (const auto& [name, shape] : m.model.input_shapes()) {
    Shape concrete = shape;
    for (int64_t& d : concrete)
      if (d < 0) d = 2;
    if (numel(concrete) > (int64_t{1} << 20)) return 0;
    inputs[name] = zeros(concrete);
  }
  try {
    (void)predict(m.model, m.params, inputs);
  } catch (const Error&) {
  }
  return 0;
}
