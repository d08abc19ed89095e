#pragma once
// Tensor files in the safetensors format (https://github.com/huggingface/safetensors), so that what
// axon saves loads in PyTorch, JAX or Candle and back:
//   8 bytes      little-endian u64 N, the header's length
//   N bytes      a JSON object: {"__metadata__": {"key": "value", ...},
//                               "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//                padded with spaces so that the data starts at a multiple of 8
//   the rest     every tensor's bytes, little-endian, row-major; offsets are relative to this section
// dtypes: F32 F64 BF16 F16 I32 I64 U8 BOOL. Tensors are written in order of decreasing element size,
// then name (so each is aligned to its element size, as the reference writer does).
//
// Saving copies each tensor to the CPU and makes it contiguous; loading puts the tensors on the
// requested device. Files are written to a temporary name and renamed, so a crash mid-save leaves
// any previous file intact. Errors name the file: missing, truncated or corrupt files, unknown
// dtypes, offsets out of range.
#include <map>
#include <string>
#include <string_view>

#include <axon/autograd.hpp>
#include <axon/tensor.hpp>

namespace axon {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
// Reads every tensor onto `device`; the header's "__metadata__" goes to *metadata when given.
TensorMap load_safetensors(const std::string& path, Device device = Device::cpu(), Metadata* metadata = nullptr);
// Only the "__metadata__" map (reads the header, not the data).
Metadata load_safetensors_metadata(const std::string& path);

// The same format in memory. `name` stands for the file in error messages.
std::string to_safetensors(const TensorMap& tensors, const Metadata& metadata = {});
TensorMap from_safetensors(std::string_view bytes, Device device = Device::cpu(), Metadata* metadata = nullptr,
                           const std::string& name = "<memory>");

// Params <-> flat "layer/name" keys (each under "<prefix>/" when a prefix is given). unflatten
// takes only the keys under the prefix and splits the rest at its last '/', so layer names may
// contain '/' but parameter names may not.
TensorMap flatten_params(const Params& params, const std::string& prefix = "");
Params unflatten_params(const TensorMap& tensors, const std::string& prefix = "");

// Model parameters as a safetensors file of "layer/name" tensors (readable elsewhere as a flat
// state dict).
void save_params(const std::string& path, const Params& params, const Metadata& metadata = {});
Params load_params(const std::string& path, Device device = Device::cpu());

}  // namespace axon
