#pragma once
// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed (read through zlib, which
// also reads uncompressed files transparently).
#include <string>

#include <axon/tensor.hpp>

namespace axon::data {

// Reads an IDX file of unsigned bytes (type code 0x08) into a u8 tensor with the file's dims
// (e.g. [60000, 28, 28] for images, [60000] for labels) on the CPU. Throws axon::Error naming the
// file for a missing file, a short file, a bad magic number or an unsupported element type.
Tensor read_idx(const std::string& path);

}  // namespace axon::data
