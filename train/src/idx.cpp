#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <vector>

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
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  GzFile f(gzopen(path.c_str(), "rb"));
  AXON_CHECK(f != nullptr && !ec, "read_idx", "{}: cannot open file ({})", path,
             ec ? ec.message() : std::strerror(errno));
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
  for (int d = 0; d < rank; ++d) {
    unsigned char b[4];
    read_exact(f.get(), path, b, 4, "the dimensions");
    shape.push_back((int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]));
  }
  // Dims are at most 2^32 - 1 each, so their product is checked before anything is sized by it.
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    zero = zero || d == 0;
    AXON_CHECK(d == 0 || !__builtin_mul_overflow(n, d, &n), "read_idx",
               "{}: dims {} describe more bytes than any file can hold", path, to_string(shape));
    AXON_CHECK(n <= kMaxElements, "read_idx", "{}: dims {} describe more bytes than any file can hold", path,
               to_string(shape));
  }
  if (zero) n = 0;
  checked_numel(shape, "read_idx");  // the same bound on the shape as a tensor (zero-sized axes as 1)

  // Nothing is allocated by the header's word alone: an uncompressed file must hold exactly the
  // declared bytes, and a gzip stream is read in chunks, so memory grows only with data that exists.
  const std::size_t header = 4 + 4 * std::size_t(rank);
  const std::size_t want = static_cast<std::size_t>(n);
  if (gzdirect(f.get())) {
    AXON_CHECK(file_bytes >= header && file_bytes - header == want, "read_idx",
               "{}: dims {} describe {} bytes of data but the file holds {}", path, to_string(shape), want,
               file_bytes >= header ? file_bytes - header : 0);
    Tensor out = empty(shape, DType::u8, Device::cpu());
    if (want > 0) read_exact(f.get(), path, out.data_ptr(), want, "the data");
    return out;
  }
  // deflate expands at most ~1032:1, so a small compressed file cannot hold a large declared size.
  AXON_CHECK(want / 1032 <= file_bytes, "read_idx",
             "{}: dims {} describe {} bytes of data, more than a {}-byte gzip file can hold", path, to_string(shape),
             want, file_bytes);
  std::vector<unsigned char> staged;
  try {
    constexpr std::size_t kChunk = std::size_t(1) << 20;
    while (staged.size() < want) {
      std::size_t at = staged.size();
      staged.resize(at + std::min(kChunk, want - at));
      int r = gzread(f.get(), staged.data() + at, unsigned(staged.size() - at));
      AXON_CHECK(r >= 0, "read_idx", "{}: cannot read the data ({})", path, gzerror(f.get(), nullptr));
      AXON_CHECK(r > 0, "read_idx", "{}: file is too short: dims {} describe {} bytes of data, the stream holds {}",
                 path, to_string(shape), want, at);
      staged.resize(at + std::size_t(r));
    }
  } catch (const std::bad_alloc&) {
    AXON_FAIL("read_idx", "{}: out of host memory reading {} bytes of data", path, want);
  }
  unsigned char extra;
  AXON_CHECK(gzread(f.get(), &extra, 1) == 0, "read_idx", "{}: file holds more data than its dims {} describe",
             path, to_string(shape));
  Tensor out = empty(shape, DType::u8, Device::cpu());
  if (want > 0) std::memcpy(out.data_ptr(), staged.data(), want);
  return out;
}

}  // namespace axon::data
