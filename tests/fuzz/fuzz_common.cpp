#include "fuzz_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace axon::fuzz {

void seed_mode(int* argc, char*** argv, const std::function<void(const std::string&)>& write) {
  for (int i = 1; i + 1 < *argc; ++i) {
    if (std::strcmp((*argv)[i], "-seed") != 0) continue;
    std::string dir = (*argv)[i + 1];
    std::filesystem::create_directories(dir);
    write(dir);
    std::printf("seed corpus written to %s\n", dir.c_str());
    std::exit(0);
  }
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f.good()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

TensorMap sample_tensors() {
  TensorMap m;
  m["f32"] = arange(0, 6, 1, DType::f32).reshape({2, 3});
  m["f64"] = full({3}, -2.5, DType::f64);
  m["bf16"] = ones({2}, DType::bf16);
  m["f16"] = full({2, 1}, 0.5, DType::f16);
  m["i32"] = full({2}, -7, DType::i32);
  m["i64"] = arange(0, 3, 1, DType::i64);
  m["u8"] = full({4}, 200, DType::u8);
  m["bool"] = ones({3}, DType::boolean);
  m["scalar"] = scalar_tensor(1.5, DType::f32);
  m["empty"] = zeros({0, 3}, DType::f32);
  m["layer/\xc3\xa9t\xc3\xa9"] = ones({1}, DType::f32);  // "layer/été"
  return m;
}

Metadata sample_metadata() { return {{"format", "pt"}, {"note", "quote \" backslash \\ tab \t"}}; }

const std::string& scratch_path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("axon_fuzz_" + std::to_string(::getpid()))).string();
  return path;
}

void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

}  // namespace axon::fuzz
