// safetensors from hostile bytes: loading fails with axon::Error or yields tensors that write and
// load back unchanged (so the reader accepts nothing the writer refuses, e.g. a non-UTF-8 name).
#include <cstring>

#include "fuzz_common.hpp"

using namespace axon;

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    fuzz::write_file(dir + "/every_dtype.safetensors", to_safetensors(fuzz::sample_tensors(), fuzz::sample_metadata()));
    fuzz::write_file(dir + "/one.safetensors", to_safetensors({{"w", ones({2, 2})}}));
    fuzz::write_file(dir + "/nothing.safetensors", to_safetensors({}));
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Metadata meta;
  TensorMap loaded;
  try {
    loaded = from_safetensors(bytes, Device::cpu(), &meta, "fuzz.safetensors");
  } catch (const Error&) {
    return 0;
  }
  Metadata meta2;
  TensorMap again = from_safetensors(to_safetensors(loaded, meta), Device::cpu(), &meta2);
  if (meta2 != meta || again.size() != loaded.size()) fuzz::invariant_failed("safetensors round trip changed the file");
  for (const auto& [name, t] : loaded) {
    auto it = again.find(name);
    if (it == again.end()) fuzz::invariant_failed("a tensor went missing in the round trip");
    const Tensor& u = it->second;
    if (u.dtype() != t.dtype() || u.shape() != t.shape() || u.nbytes() != t.nbytes() ||
        (t.nbytes() && std::memcmp(u.data_ptr(), t.data_ptr(), t.nbytes()) != 0))
      fuzz::invariant_failed("a tensor changed in the round trip");
  }
  return 0;
}
