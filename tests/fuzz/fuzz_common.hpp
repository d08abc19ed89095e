#pragma once
// What the fuzz targets share: seed-corpus writing from our own writers, and a scratch file for
// loaders that read only from paths.
#include <functional>
#include <string>
#include <string_view>

#include <axon/io.hpp>

namespace axon::fuzz {

// With "-seed DIR" among the arguments, runs write(DIR) (DIR created) and exits before libFuzzer
// starts. Call from LLVMFuzzerInitialize, which libFuzzer runs before it reads its own flags.
void seed_mode(int* argc, char*** argv, const std::function<void(const std::string& dir)>& write);
void write_file(const std::string& path, std::string_view bytes);
// Every dtype, 0-d and empty tensors and non-ASCII names: what the safetensors writer produces.
TensorMap sample_tensors();
Metadata sample_metadata();
// A path private to this process (under TMPDIR) for loaders that take a file name.
const std::string& scratch_path();

// A fuzzer's own invariant broke: report and abort so that libFuzzer saves the input.
[[noreturn]] void invariant_failed(const char* what);

}  // namespace axon::fuzz
