#pragma once
// safetensors files built byte by byte, for the io tests.
#include <cstdint>
#include <string>

namespace axon::test {
inline std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xFF);
  return s;
}
// A file from a header and a data section, the header padded to 8 bytes as the reference writer does.
inline std::string st_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return u64le(header.size()) + header + data;
}
}  // namespace axon::test
