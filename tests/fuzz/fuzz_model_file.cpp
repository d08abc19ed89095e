// Model files from hostile graph JSON: the bytes become the "axon.model" metadata of a model file,
// and load_model either fails with axon::Error or gives a model that saves and loads again to the
// same summary.
#include <axon/axon.hpp>

#include "fuzz_common.hpp"

using namespace axon;

namespace {

void write_model_file(const std::string& path, std::string_view graph) {
  save_safetensors(path, {}, {{"axon.format_version", "1"}, {"axon.model", std::string(graph)}});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    // Our writer's graphs: an MLP with options and a policy, a CNN, a block with a tie.
    Model mlp = input("x", {-1, 8}) | dense(16, {.activation = "relu"}) | batch_norm() | dropout({.rate = 0.25}) |
                dense(3, {.use_bias = false, .name = "head"});
    Model cnn = input("img", {-1, 8, 8, 1}) | conv(4, {.kernel_size = {3}, .padding = PaddingMode::same}) |
                max_pool({.kernel_size = {2}}) | flatten() | dense(2);
    Block b = block([](const Model& m) { return m | dense(4) | tanh(); });
    Model tied = input("ids", {-1, 3}) | embedding(10, 4, {.name = "emb"}) | b | dense(10, {.name = "out"});
    tied = tie(b(tied | dense(4)), "out", "kernel", "emb", "kernel", {.transpose = true});
    int k = 0;
    for (const Model& m : {mlp, cnn, tied}) {
      save_model(fuzz::scratch_path(), m);
      fuzz::write_file(dir + "/graph" + std::to_string(k++) + ".json",
                       load_safetensors_metadata(fuzz::scratch_path()).at("axon.model"));
    }
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_path();
  LoadedModel loaded;
  try {
    write_model_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
    loaded = load_model(path);
  } catch (const Error&) {
    return 0;
  }
  std::string text;
  try {
    text = summary(loaded.model);  // may say that a huge model's parameter count overflows
  } catch (const Error&) {
    return 0;
  }
  try {
    save_model(path, loaded.model);
  } catch (const Error&) {
    fuzz::invariant_failed("a loaded model does not save");
  }
  std::string again;
  try {
    again = summary(load_model(path).model);
  } catch (const Error&) {
    fuzz::invariant_failed("a loaded model, saved, does not load");
  }
  if (again != text) fuzz::invariant_failed("a loaded model, saved and loaded, prints another summary");
  return 0;
}
