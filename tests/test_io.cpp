// Tensor files in the safetensors format: round trips of every dtype and device, a byte-exact file
// written by hand (so the format really is safetensors), files in other writers' layouts, and the
// errors for missing, truncated and corrupt files.
#include <axon/io.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "harness.hpp"
#include "safetensors_bytes.hpp"

using namespace axon;

namespace {
std::string write_bytes(const std::string& name, const std::string& bytes) {
  std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}
std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
using test::st_file;
using test::u64le;
// Same dtype, shape and bytes (a is read back on `device`).
void check_identical(const Tensor& a, const Tensor& b, Device device) {
  REQUIRE(a.defined());
  CHECK(a.dtype() == b.dtype());
  CHECK(a.shape() == b.shape());
  CHECK(a.device() == device);
  Tensor ha = a.to(Device::cpu()).contiguous(), hb = b.to(Device::cpu()).contiguous();
  REQUIRE(ha.nbytes() == hb.nbytes());
  if (ha.nbytes() > 0) CHECK(std::memcmp(ha.data_ptr(), hb.data_ptr(), ha.nbytes()) == 0);
}
TensorMap every_dtype(Device d) {
  TensorMap m;
  m["f32"] = test::random_tensor({3, 4}, DType::f32, -5, 5, 1, d);
  m["f64"] = test::random_tensor({2, 3, 2}, DType::f64, -5, 5, 2, d);
  m["bf16"] = test::random_tensor({5}, DType::bf16, -5, 5, 3, d);
  m["f16"] = test::random_tensor({2, 2}, DType::f16, -5, 5, 4, d);
  m["i32"] = from_vector(std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -1, 0, 7,
                                              std::numeric_limits<int32_t>::max()}, {5}, d);
  m["i64"] = from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -3, 1ll << 53 | 1,
                                              std::numeric_limits<int64_t>::max()}, {2, 2}, d);
  m["u8"] = from_vector(std::vector<uint8_t>{0, 1, 128, 255}, {4}, d);
  m["bool"] = from_vector(std::vector<bool>{true, false, false, true, true, false}, {2, 3}, d);
  m["scalar"] = scalar_tensor(3.25, DType::f64, d);              // 0-d
  m["scalar_i64"] = scalar_tensor(-42, DType::i64, d);           // 0-d integer
  m["empty"] = zeros({0, 3}, DType::f32, d);                     // no elements
  m["empty_u8"] = zeros({2, 0}, DType::u8, d);
  return m;
}
}  // namespace

TEST_CASE("safetensors round-trips every dtype, 0-d and empty tensors on every device", "[io]") {
  for (Device d : test::devices()) {
    INFO("device " << d.str());
    TensorMap m = every_dtype(d);
    std::string path = test::temp_path("all_" + d.str() + ".safetensors");
    save_safetensors(path, m, {{"format", "pt"}});
    TensorMap back = load_safetensors(path, d);
    REQUIRE(back.size() == m.size());
    for (const auto& [name, t] : m) {
      INFO("tensor " << name);
      REQUIRE(back.count(name));
      check_identical(back.at(name), t, d);
    }
    // Loading onto the CPU works wherever the file came from.
    TensorMap host = load_safetensors(path, Device::cpu());
    check_identical(host.at("i64"), m.at("i64"), Device::cpu());
    CHECK(host.at("i64").to_vector<int64_t>()[0] == std::numeric_limits<int64_t>::min());
    // And the in-memory form holds exactly the file's bytes.
    CHECK(to_safetensors(m, {{"format", "pt"}}) == read_bytes(path));
    TensorMap mem = from_safetensors(read_bytes(path), d);
    check_identical(mem.at("bf16"), m.at("bf16"), d);
    std::remove(path.c_str());
  }
}

TEST_CASE("safetensors writes non-contiguous tensors as their row-major values", "[io]") {
  for (Device d : test::devices()) {
    Tensor base = arange(0, 24, 1, DType::f32, d).reshape({4, 6});
    Tensor view = base.transpose(0, 1).slice(0, 1, 6, 2);  // [3, 4], strided
    REQUIRE_FALSE(view.is_contiguous());
    std::string path = test::temp_path("view.safetensors");
    save_safetensors(path, {{"v", view}});
    Tensor back = load_safetensors(path, d).at("v");
    CHECK(back.shape() == Shape{3, 4});
    // view[i][j] = base[j][1 + 2i] = 6j + 1 + 2i
    std::vector<double> expect;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) expect.push_back(6 * j + 1 + 2 * i);
    test::check_equal(back, expect, {3, 4});
    std::remove(path.c_str());
  }
}

TEST_CASE("safetensors metadata round-trips, escapes included, and reads without the data", "[io]") {
  Metadata meta{{"format", "pt"}, {"quote\"back\\slash", "line\nbreak\ttab"}, {"unicode", "µ→✓"}, {"empty", ""}};
  std::string path = test::temp_path("meta.safetensors");
  save_safetensors(path, {{"x", ones({2})}}, meta);
  Metadata got;
  load_safetensors(path, Device::cpu(), &got);
  CHECK(got == meta);
  CHECK(load_safetensors_metadata(path) == meta);
  // No metadata: no "__metadata__" entry at all.
  save_safetensors(path, {{"x", ones({2})}});
  CHECK(read_bytes(path).find("__metadata__") == std::string::npos);
  CHECK(load_safetensors_metadata(path).empty());
  // An empty map is a valid file too.
  save_safetensors(path, {});
  CHECK(load_safetensors(path).empty());
  std::remove(path.c_str());
}

TEST_CASE("safetensors files are byte-exact: header length, JSON header, padding, little-endian data", "[io]") {
  // Written by hand from the format's description: u64 LE header length (138 bytes of JSON plus 6
  // spaces of padding = 144 = 0x90), the header, then F32 1.0 and -2.5 little-endian, then U8 1 2 3.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
  REQUIRE(header.size() == 138);
  std::string expect = std::string("\x90\0\0\0\0\0\0\0", 8) + header + "      " +
                       std::string("\x00\x00\x80\x3f\x00\x00\x20\xc0\x01\x02\x03", 11);
  TensorMap m{{"a", tensor({1.0f, -2.5f})}, {"b", from_vector(std::vector<uint8_t>{1, 2, 3})}};
  std::string path = test::temp_path("exact.safetensors");
  save_safetensors(path, m, {{"format", "pt"}});
  std::string got = read_bytes(path);
  CHECK(got.size() == 163);
  CHECK(got == expect);
  // Larger elements come first in the data, whatever the names (alignment, as the reference writer).
  std::string got2 = to_safetensors({{"a_u8", from_vector(std::vector<uint8_t>{9})}, {"z_f64", scalar_tensor(1.0, DType::f64)}});
  CHECK(got2.find(R"("z_f64":{"dtype":"F64","shape":[],"data_offsets":[0,8]})") != std::string::npos);
  CHECK(got2.find(R"("a_u8":{"dtype":"U8","shape":[1],"data_offsets":[8,9]})") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("safetensors reads other writers' layouts: any key order, whitespace, escapes, data order", "[io]") {
  // Data of "b" before "a", keys in another order, spaces and newlines, an escaped name.
  std::string header =
      "{ \"b\" : {\"data_offsets\": [0, 3], \"shape\": [3], \"dtype\": \"BOOL\"},\n"
      "  \"a\\u00e9\\n\": {\"shape\": [1, 2], \"dtype\": \"I32\", \"data_offsets\": [3, 11]},"
      "  \"__metadata__\": {\"k\": \"v\\u2713\"} }";
  std::string data = std::string("\x01\x00\x07", 3) + std::string("\x05\x00\x00\x00\xfe\xff\xff\xff", 8);
  std::string path = write_bytes("foreign.safetensors", st_file(header, data));
  Metadata meta;
  TensorMap m = load_safetensors(path, Device::cpu(), &meta);
  CHECK(meta.at("k") == "v\xe2\x9c\x93");
  REQUIRE(m.count("a\xc3\xa9\n"));
  test::check_equal(m.at("a\xc3\xa9\n"), {5, -2}, {1, 2});
  CHECK(m.at("a\xc3\xa9\n").dtype() == DType::i32);
  CHECK(m.at("b").dtype() == DType::boolean);
  test::check_equal(m.at("b"), {1, 0, 1}, {3});  // any nonzero byte reads as true
  std::remove(path.c_str());
}

TEST_CASE("safetensors errors name the file and the problem", "[io]") {
  std::string missing = test::temp_path("does_not_exist.safetensors");
  AXON_REQUIRE_THROWS_WITH(load_safetensors(missing), missing + ": no such file");

  auto bad = [](const std::string& name, const std::string& bytes, const std::string& expect) {
    std::string path = write_bytes(name, bytes);
    INFO("case " << name);
    AXON_REQUIRE_THROWS_WITH(load_safetensors(path), path + ": ");
    AXON_REQUIRE_THROWS_WITH(load_safetensors(path), expect);
    AXON_REQUIRE_THROWS_WITH(from_safetensors(bytes), expect);
    std::remove(path.c_str());
  };
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string ok_data(8, '\0');
  REQUIRE(load_safetensors(write_bytes("ok.safetensors", st_file(ok_header, ok_data))).at("a").numel() == 2);
  std::remove(test::temp_path("ok.safetensors").c_str());

  bad("short", "abc", "too short for the 8-byte header length");
  bad("hugelen", u64le(1000) + "{}", "the header claims 1000 bytes but only 2 follow");
  std::string whole = st_file(ok_header, ok_data);
  bad("truncated", whole.substr(0, whole.size() - 3), "data_offsets [0, 8] of 'a' are out of range (the data section holds 5 bytes)");
  bad("notjson", st_file("{\"a\": [1, 2", ""), "corrupt header");
  bad("notobject", st_file("[1, 2]", ""), "header does not start with '{'");
  bad("dtype", st_file(R"({"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0')),
      "has dtype I8, which axon does not support");
  bad("range", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", ok_data),
      "data_offsets [0, 16] of 'a' are out of range");
  bad("size", st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", ok_data),
      "needs 12 bytes but data_offsets [0, 8] give 8");
  bad("gap", st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data),
      "starts at byte 4 where 0 was expected");
  bad("overlap",
      st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
              ok_data),
      "where 8 was expected");
  bad("trailing", st_file(ok_header, ok_data + "xx"), "the tensors cover 8 bytes but the data section holds 10");
  bad("fields", st_file(R"({"a":{"dtype":"F32","shape":[2]}})", ok_data), "lacks dtype, shape or data_offsets");
  bad("negative", st_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", ok_data),
      "must be a non-negative integer");
  bad("dup", st_file(ok_header.substr(0, ok_header.size() - 1) + R"(,"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                     ok_data),
      "key 'a' appears twice in the header");
  bad("meta", st_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__ value of 'k' must be a string");

  AXON_REQUIRE_THROWS_WITH(save_safetensors(test::temp_path("u.safetensors"), {{"u", Tensor()}}), "tensor 'u' is undefined");
  std::string nodir = test::temp_path("no_such_dir") + "/x.safetensors";
  AXON_REQUIRE_THROWS_WITH(save_safetensors(nodir, {{"a", ones({1})}}), nodir + ": cannot open for writing");
}

TEST_CASE("Params flatten to layer/name keys and back, and save as safetensors", "[io]") {
  for (Device d : test::devices()) {
    Params p{{"dense_0", {{"kernel", test::random_tensor({3, 2}, DType::f32, -1, 1, 7, d)}, {"bias", zeros({2}, DType::f32, d)}}},
             {"batch_norm_0", {{"mean", ones({2}, DType::f32, d)}, {"var", full({2}, 2.0, DType::f32, d)}}},
             {"block/dense", {{"kernel", ones({1, 1}, DType::f64, d)}}}};
    TensorMap flat = flatten_params(p);
    CHECK(flat.size() == 5);
    CHECK(flat.count("dense_0/kernel"));
    CHECK(flat.count("block/dense/kernel"));
    TensorMap pre = flatten_params(p, "model_state");
    CHECK(pre.count("model_state/batch_norm_0/var"));
    pre["other/x/y"] = ones({1});  // not under the prefix: ignored
    Params back = unflatten_params(pre, "model_state");
    REQUIRE(back.size() == 3);
    CHECK(back.at("block/dense").count("kernel"));
    check_identical(back.at("dense_0").at("kernel"), p.at("dense_0").at("kernel"), d);

    std::string path = test::temp_path("params.safetensors");
    save_params(path, p);
    Params loaded = load_params(path, d);
    for (const auto& [layer, m] : p)
      for (const auto& [name, t] : m) check_identical(loaded.at(layer).at(name), t, d);
    std::remove(path.c_str());
  }
  AXON_REQUIRE_THROWS_WITH(unflatten_params({{"noslash", ones({1})}}), "key 'noslash' is not of the form 'layer/name'");
  AXON_REQUIRE_THROWS_WITH(flatten_params(Params{{"l", {{"a/b", ones({1})}}}}), "parameter name 'a/b' of layer 'l'");
}
