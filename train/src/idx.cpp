#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <axon/data/idx.hpp>

namespace axon::data {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads exactly n bytes or throws naming the file and what was being read.
void read_exact(gzFile f, const std::string& path, void* out, size_t n, const char* what) {
  auto* p = static_cast<unsigned char*>(out);
  size_t got = 0;
  while (got < n) {
    unsigned chunk = unsigned(std::min<size_t>(n - got, size_t(1) << 30));
    int r = gzread(f, p + got, chunk);
    if (r < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      AXON_FAIL("read_idx", "{}: cannot read {} ({})", path, what, msg ? msg : "zlib error");
    }
    if (r == 0) break;
    got += size_t(r);
  }
  AXON_CHECK(got == n, "read_idx", "{}: file is too short: expected {} bytes of {}, got {}", path, n, what, got);
}

}  // namespace

Tensor read_idx(const std::string& path) {
  GzFile f(gzopen(path.c_str(), "rb"));
  AXON_CHECK(f != nullptr, "read_idx", "{}: cannot open file ({})", path, std::strerror(errno));
  unsigned char magic[4];
  read_exact(f.get(), path, magic, 4, "the magic number");
  AXON_CHECK(magic[0] == 0 && magic[1] == 0, "read_idx",
             "{}: not an IDX file (magic bytes {:02x} {:02x} {:02x} {:02x}; expected 00 00 <type> <rank>)", path,
             magic[0], magic[1], magic[2], magic[3]);
  AXON_CHECK(magic[2] == 0x08, "read_idx", "{}: element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
             path, magic[2]);
  int rank = magic[3];
  AXON_CHECK(rank >= 1, "read_idx", "{}: rank 0 is not supported", path);
  Shape shape;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    unsigned char b[4];
    read_exact(f.get(), path, b, 4, "the dimensions");
    int64_t dim = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    shape.push_back(dim);
    n *= dim;
  }
  Tensor out = empty(shape, DType::u8, Device::cpu());
  if (n > 0) read_exact(f.get(), path, out.data_ptr(), size_t(n), "the data");
  // Trailing bytes mean the header and the data disagree.
  unsigned char extra;
  AXON_CHECK(gzread(f.get(), &extra, 1) == 0, "read_idx", "{}: file holds more data than its dims {} describe",
             path, to_string(shape));
  return out;
}

}  // namespace axon::data
