// safetensors under hostile input and concurrent writers: shapes whose strides overflow, names that
// are not UTF-8, duplicate header keys, headers with very many tensors, several threads saving to
// one path and the temporary files a killed writer leaves behind.
#include <axon/io.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "harness.hpp"
#include "safetensors_bytes.hpp"

using namespace axon;

namespace {
using test::st_file;
std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("safetensors rejects shapes whose sizes or strides overflow, zero dims included", "[io]") {
  const std::string huge = "4611686018427387904";  // 2^62
  // The zero makes the tensor empty, but the strides of the other dims would still be 2^62 * 2^62.
  AXON_REQUIRE_THROWS_WITH(
      from_safetensors(st_file(R"({"z":{"dtype":"F32","shape":[0,)" + huge + "," + huge + R"(],"data_offsets":[0,0]}})", "")),
      "tensor 'z' (F32 [0, 4611686018427387904, 4611686018427387904]) is too large");
  AXON_REQUIRE_THROWS_WITH(
      from_safetensors(st_file(R"({"z":{"dtype":"F32","shape":[)" + huge + R"(,0],"data_offsets":[0,0]}})", "")),
      "is too large");  // 2^62 elements of 4 bytes: the byte stride overflows
  AXON_REQUIRE_THROWS_WITH(
      from_safetensors(st_file(R"({"b":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "")),
      "tensor 'b' (U8 [4294967296, 4294967296]) is too large");
  // Empty tensors with sizes that fit are fine.
  TensorMap ok = from_safetensors(st_file(R"({"e":{"dtype":"F64","shape":[0,1000000,1000],"data_offsets":[0,0]}})", ""));
  CHECK(ok.at("e").shape() == Shape{0, 1000000, 1000});
  CHECK(ok.at("e").numel() == 0);
}

TEST_CASE("safetensors rejects names and metadata that are not UTF-8, reading and writing", "[io]") {
  const std::string data(4, '\0');
  for (std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"),  // overlong '/'
                          std::string("\xed\xa0\x80"),                                         // a surrogate
                          std::string("\xf4\x90\x80\x80")}) {                                  // past U+10FFFF
    INFO("name bytes " << bad.size());
    AXON_REQUIRE_THROWS_WITH(
        from_safetensors(st_file("{\"" + bad + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data), Device::cpu(),
                         nullptr, "bad.safetensors"),
        "bad.safetensors: corrupt header: string is not valid UTF-8");
    AXON_REQUIRE_THROWS_WITH(to_safetensors({{bad, ones({1})}}), "is not valid UTF-8");
    AXON_REQUIRE_THROWS_WITH(to_safetensors({{"ok", ones({1})}}, {{bad, "v"}}), "metadata key");
    AXON_REQUIRE_THROWS_WITH(to_safetensors({{"ok", ones({1})}}, {{"k", bad}}), "the value of metadata key");
  }
  std::string path = (std::filesystem::path(test::empty_dir("utf8")) / "x.safetensors").string();
  AXON_REQUIRE_THROWS_WITH(save_safetensors(path, {{"w\xff", ones({1})}}), path + ": tensor name 'w\\xFF' is not valid UTF-8");
  CHECK_FALSE(std::filesystem::exists(path));
  // Well-formed multi-byte names, written raw or as \u escapes (a surrogate pair included), round-trip.
  const std::string name = "\xc3\xb1/\xe2\x82\xac/\xf0\x9f\x98\x80";  // ñ/€/😀
  TensorMap back = from_safetensors(to_safetensors({{name, ones({1})}}, {{name, name}}));
  CHECK(back.count(name) == 1);
  TensorMap esc = from_safetensors(st_file(R"({"\u00f1/\u20ac/\ud83d\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data));
  CHECK(esc.count(name) == 1);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("safetensors rejects a key given twice anywhere in the header, naming the file and the key", "[io]") {
  const std::string t = R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  auto bad = [](const std::string& header, const std::string& expect) {
    INFO(header);
    AXON_REQUIRE_THROWS_WITH(from_safetensors(st_file(header, "x"), Device::cpu(), nullptr, "dup.safetensors"), expect);
  };
  bad("{" + t + "," + t + "}", "dup.safetensors: key 'a' appears twice in the header");
  bad(R"({"__metadata__":{"k":"1"},)" + t + R"(,"__metadata__":{"k":"2"}})", "key '__metadata__' appears twice");
  bad(R"({"__metadata__":{"k":"1","j":"0","k":"2"},)" + t + "}", "dup.safetensors: key 'k' appears twice");
  bad(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype":"F32"}})", "key 'dtype' appears twice");
  // Keys that differ only after an escape are different keys.
  TensorMap two = from_safetensors(st_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}})", "x"));
  CHECK(two.size() == 2);
}

TEST_CASE("safetensors headers with 200k tensors load, and a duplicate among them is found", "[io]") {
  constexpr int n = 200'000;
  std::string header = "{";
  for (int i = 0; i < n; ++i) {
    if (i) header += ',';
    header += "\"t" + std::to_string(i) + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" + std::to_string(i) + "," +
              std::to_string(i + 1) + "]}";
  }
  std::string data(n, '\x07');
  auto start = std::chrono::steady_clock::now();
  TensorMap all = from_safetensors(st_file(header + "}", data));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("200k-entry safetensors header loaded in " << seconds << " s");
  CHECK(all.size() == size_t(n));
  CHECK(all.at("t199999").item<uint8_t>() == 7);
  std::string dup = header + ",\"t123456\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" + std::to_string(n) + "," +
                    std::to_string(n + 1) + "]}}";
  AXON_REQUIRE_THROWS_WITH(from_safetensors(st_file(dup, data + "x")), "key 't123456' appears twice");
}

TEST_CASE("threads saving to one path all succeed and the file is always one of the versions written", "[io]") {
  auto dir = std::filesystem::path(test::empty_dir("concurrent"));
  std::string path = (dir / "model.safetensors").string();
  constexpr int kThreads = 4, kSaves = 100;
  // Version v is a tensor of 64 copies of v with metadata "version" = v: a file mixing two saves fails the check.
  auto check_version = [&](const std::string& p) {
    Metadata meta;
    TensorMap m = load_safetensors(p, Device::cpu(), &meta);
    double v = std::stod(meta.at("version"));
    std::vector<double> values = m.at("w").to_vector<double>();
    REQUIRE(values.size() == 64);
    for (double x : values) REQUIRE(x == v);
  };
  std::atomic<int> failures{0}, done{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kSaves; ++i) {
        int v = t * 1000 + i;
        try {
          save_safetensors(path, {{"w", full({64}, double(v), DType::f64)}}, {{"version", std::to_string(v)}});
        } catch (const std::exception& e) {
          ++failures;
        }
      }
      ++done;
    });
  int reads = 0;
  while (done < kThreads) {
    if (std::filesystem::exists(path)) {
      check_version(path);
      ++reads;
    }
  }
  for (auto& w : writers) w.join();
  CHECK(failures == 0);
  check_version(path);
  CHECK(names_in(dir) == std::vector<std::string>{"model.safetensors"});  // no temporary file left
  INFO("concurrent reads checked: " << reads);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a save removes the temporary files that dead writers left in its directory", "[io]") {
  auto dir = std::filesystem::path(test::empty_dir("stale"));
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  REQUIRE(dead > 0);
  ::waitpid(dead, nullptr, 0);  // reaped: the pid names no process now
  std::string mine = std::to_string(::getpid());
  for (const std::string& name : {"old.safetensors.axon-tmp-" + std::to_string(dead) + "-3",  // a dead writer's
                                  "model.safetensors.axon-tmp-" + mine + "-99",               // this process's: maybe in use
                                  std::string("notes.axon-tmp-x-1"), std::string("keep.txt")})  // not ours
    std::ofstream(dir / name) << "partial";
  save_safetensors((dir / "model.safetensors").string(), {{"a", ones({2})}});
  CHECK(names_in(dir) == std::vector<std::string>{"keep.txt", "model.safetensors", "model.safetensors.axon-tmp-" + mine + "-99",
                                                  "notes.axon-tmp-x-1"});
  CHECK(load_safetensors((dir / "model.safetensors").string()).at("a").numel() == 2);
  std::filesystem::remove_all(dir);
}
