// The IDX reader on small gzip'd (and plain) files the test writes itself, and its errors.
// The gzip files are written by hand with stored (uncompressed) deflate blocks, so the test needs
// no zlib of its own: the reader must still inflate them and check their CRC like any gzip file.
#include <axon/data/fashion_mnist.hpp>
#include <axon/data/idx.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;

namespace {
std::vector<unsigned char> idx_bytes(unsigned char type, const std::vector<uint32_t>& dims,
                                     const std::vector<unsigned char>& data) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>((d >> s) & 0xff));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}
uint32_t crc32(const std::vector<unsigned char>& b) {
  uint32_t c = 0xffffffffu;
  for (unsigned char x : b) {
    c ^= x;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}
void put32le(std::vector<unsigned char>& o, uint32_t v) {
  for (int s = 0; s < 32; s += 8) o.push_back(static_cast<unsigned char>((v >> s) & 0xff));
}
std::vector<unsigned char> gzip_stored(const std::vector<unsigned char>& bytes) {
  std::vector<unsigned char> o{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};  // magic, deflate, no flags, unix
  size_t i = 0;
  do {
    size_t n = std::min<size_t>(65535, bytes.size() - i);
    bool last = i + n == bytes.size();
    o.push_back(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    o.push_back(static_cast<unsigned char>(n & 0xff));
    o.push_back(static_cast<unsigned char>(n >> 8));
    o.push_back(static_cast<unsigned char>(~n & 0xff));
    o.push_back(static_cast<unsigned char>((~n >> 8) & 0xff));
    o.insert(o.end(), bytes.begin() + long(i), bytes.begin() + long(i + n));
    i += n;
  } while (i < bytes.size());
  put32le(o, crc32(bytes));
  put32le(o, uint32_t(bytes.size()));
  return o;
}
std::string write_plain(const std::string& name, const std::vector<unsigned char>& bytes);
std::string write_gz(const std::string& name, const std::vector<unsigned char>& bytes) {
  return write_plain(name, gzip_stored(bytes));
}
std::string write_plain(const std::string& name, const std::vector<unsigned char>& bytes) {
  std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}
}  // namespace

TEST_CASE("read_idx reads gzip'd images and labels with their dims", "[optim][idx]") {
  std::vector<unsigned char> pixels;
  for (int i = 0; i < 2 * 3 * 4; ++i) pixels.push_back(static_cast<unsigned char>(i * 10 + 3));
  auto path = write_gz("images.gz", idx_bytes(0x08, {2, 3, 4}, pixels));
  Tensor t = data::read_idx(path);
  CHECK(t.dtype() == DType::u8);
  CHECK(t.shape() == Shape{2, 3, 4});
  CHECK(t.device() == Device::cpu());
  std::vector<double> expect(pixels.begin(), pixels.end());
  test::check_equal(t, expect, {2, 3, 4});
  std::remove(path.c_str());

  auto lpath = write_gz("labels.gz", idx_bytes(0x08, {5}, {9, 0, 255, 1, 7}));
  test::check_equal(data::read_idx(lpath), {9, 0, 255, 1, 7}, {5});
  std::remove(lpath.c_str());

  // dims above 2^16 are read big-endian; an uncompressed file reads the same
  std::vector<unsigned char> many(70000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<unsigned char>(i % 251);
  auto ppath = write_plain("plain", idx_bytes(0x08, {70000}, many));
  Tensor big = data::read_idx(ppath);
  CHECK(big.shape() == Shape{70000});
  CHECK(big.to_vector<double>()[69999] == double(69999 % 251));
  std::remove(ppath.c_str());

  // a gzip'd file bigger than one stored block
  auto gpath = write_gz("big.gz", idx_bytes(0x08, {70000}, many));
  test::check_close(data::read_idx(gpath), big, {0, 0});
  std::remove(gpath.c_str());

  auto epath = write_gz("empty.gz", idx_bytes(0x08, {0, 28}, {}));
  CHECK(data::read_idx(epath).shape() == Shape{0, 28});
  std::remove(epath.c_str());
}

TEST_CASE("read_idx errors name the file and the problem", "[optim][idx][errors]") {
  std::string missing = test::temp_path("does-not-exist.gz");
  AXON_REQUIRE_THROWS_WITH(data::read_idx(missing), "read_idx: " + missing + ": cannot open file");

  auto p1 = write_gz("short.gz", idx_bytes(0x08, {2, 3}, {1, 2, 3}));
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p1), p1 + ": file is too short: dims [2, 3] describe 6 bytes of data, the stream holds 3");
  auto p2 = write_gz("magic.gz", {0x1f, 0x00, 0x08, 0x01, 0, 0, 0, 1, 5});
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p2), p2 + ": not an IDX file (magic bytes 1f 00 08 01");
  auto p3 = write_gz("type.gz", idx_bytes(0x0d, {1}, {0, 0, 0, 0}));
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p3), p3 + ": element type 0x0d is not supported");
  auto p4 = write_gz("trailing.gz", idx_bytes(0x08, {2}, {1, 2, 3}));
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p4), p4 + ": file holds more data than its dims [2] describe");
  auto p5 = write_gz("header.gz", {0, 0, 8, 3, 0, 0});
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p5), p5 + ": file is too short: expected 4 bytes of the dimensions, got 2");
  auto p6 = write_gz("nothing.gz", {});
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p6), p6 + ": file is too short: expected 4 bytes of the magic number, got 0");
  // a damaged gzip stream (wrong CRC) is a read error, not silently wrong data
  auto bytes = gzip_stored(idx_bytes(0x08, {3}, {1, 2, 3}));
  bytes[bytes.size() - 8] ^= 0xff;
  auto p7 = write_plain("crc.gz", bytes);
  AXON_REQUIRE_THROWS_WITH(data::read_idx(p7), p7 + ": cannot read");
  for (const auto& p : {p1, p2, p3, p4, p5, p6, p7}) std::remove(p.c_str());
}

TEST_CASE("load_fashion_mnist scales images to [0, 1] and checks images against labels", "[train][idx]") {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_path("fmnist_dir");
  fs::create_directories(dir);
  auto put = [&](const std::string& name, const std::vector<unsigned char>& bytes) {
    std::ofstream((dir / name).string(), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  };
  const auto g = [](const std::vector<unsigned char>& b) { return gzip_stored(b); };
  // Two 2x3 training images, one test image.
  put("train-images-idx3-ubyte.gz", g(idx_bytes(0x08, {2, 2, 3}, {0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 51})));
  put("train-labels-idx1-ubyte.gz", g(idx_bytes(0x08, {2}, {7, 3})));
  put("t10k-images-idx3-ubyte.gz", g(idx_bytes(0x08, {1, 2, 3}, {1, 2, 3, 4, 5, 6})));
  put("t10k-labels-idx1-ubyte.gz", g(idx_bytes(0x08, {1}, {9})));

  data::ImageSet s = data::load_fashion_mnist(data::find_fashion_mnist(dir.string()));
  CHECK(s.train_images.shape() == Shape{2, 2, 3, 1});
  CHECK(s.train_images.dtype() == DType::f32);
  std::vector<float> v = s.train_images.to_vector<float>();
  CHECK(v[0] == 0.0f);
  CHECK(v[1] == Catch::Approx(0.2).epsilon(1e-6));
  CHECK(v[5] == 1.0f);
  CHECK(s.train_labels.dtype() == DType::i64);
  CHECK(s.train_labels.to_vector<int64_t>() == std::vector<int64_t>{7, 3});
  CHECK(s.test_labels.to_vector<int64_t>() == std::vector<int64_t>{9});
  CHECK(data::load_fashion_mnist(dir.string(), {.flatten = true}).test_images.shape() == Shape{1, 6});

  // Three labels for two images: the folder is named in the error.
  put("train-labels-idx1-ubyte.gz", g(idx_bytes(0x08, {3}, {7, 3, 1})));
  AXON_REQUIRE_THROWS_WITH(data::load_fashion_mnist(dir.string()), "counts disagree");
  put("train-labels-idx1-ubyte.gz", g(idx_bytes(0x08, {2}, {7, 3})));
  fs::remove(dir / "t10k-images-idx3-ubyte.gz");
  AXON_REQUIRE_THROWS_WITH(data::load_fashion_mnist(dir.string()), "t10k-images-idx3-ubyte.gz");
  fs::remove_all(dir);
}
