// IDX files (plain and gzip) from hostile bytes. The first input byte picks the form: even, the
// rest is the file as it is (a corrupt gzip stream included); odd, the rest is gzip-compressed here
// first, so that the fuzzer explores IDX headers behind a valid gzip stream. read_idx fails with
// axon::Error or returns a u8 tensor no larger than the IDX bytes it read.
#include <zlib.h>

#include <axon/data/idx.hpp>

#include "fuzz_common.hpp"

using namespace axon;

namespace {

std::string gzip(std::string_view raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) fuzz::invariant_failed("deflateInit2");
  std::string out(deflateBound(&z, uLong(raw.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = uInt(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) fuzz::invariant_failed("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string idx_file(const std::vector<uint32_t>& dims) {
  std::string b{0, 0, 8, char(dims.size())};
  uint64_t n = 1;
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b += char((d >> s) & 0xff);
    n *= d;
  }
  for (uint64_t i = 0; i < n; ++i) b += char(i * 37);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    std::string images = idx_file({3, 4, 5}), labels = idx_file({6});
    const std::string plain(1, '\0'), gzip_here(1, '\1');
    fuzz::write_file(dir + "/images_plain", plain + images);
    fuzz::write_file(dir + "/labels_plain", plain + labels);
    fuzz::write_file(dir + "/images_gzip_here", gzip_here + images);
    fuzz::write_file(dir + "/images_gzip_stream", plain + gzip(images));
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool compress_here = data[0] & 1;
  fuzz::write_file(fuzz::scratch_path(), compress_here ? gzip(rest) : std::string(rest));
  Tensor t;
  try {
    t = data::read_idx(fuzz::scratch_path());
  } catch (const Error&) {
    return 0;
  }
  // zlib reads a plain file as it is, so either way the IDX bytes are at most `rest` or its inflation;
  // a gzip stream inflates to at most ~1032x its size.
  uint64_t bound = compress_here ? rest.size() : rest.size() * 1032 + 64;
  if (t.dtype() != DType::u8 || uint64_t(t.numel()) > bound) fuzz::invariant_failed("read_idx returned more than the file holds");
  return 0;
}
