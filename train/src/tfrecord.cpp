// TensorBoard event files: CRC-32C, the record framing and the few Event fields, by hand.
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <axon/error.hpp>
#include <axon/train/loggers.hpp>

namespace axon::training {
namespace {

std::array<uint32_t, 256> crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli polynomial
    t[i] = c;
  }
  return t;
}

// Protocol-buffer wire format: a key is (field << 3) | wire type (0 varint, 1 fixed64, 2 bytes, 5 fixed32).
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(uint8_t(v)));
}
template <class T>
void fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only, as the rest of axon's file formats
  out.append(b, sizeof(T));
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  varint(out, uint64_t(field) << 3 | 2);
  varint(out, bytes.size());
  out += bytes;
}

// Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }
std::string event(int64_t step, int field, const std::string& payload) {
  double wall = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string e;
  varint(e, 1 << 3 | 1);
  fixed(e, wall);
  varint(e, 2 << 3 | 0);
  varint(e, uint64_t(step));
  bytes_field(e, field, payload);
  return e;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& logdir) {
  static std::atomic<int> files{0};
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  AXON_CHECK(!ec, "tensorboard", "cannot create directory {}: {}", logdir, ec.message());
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  path_ = (std::filesystem::path(logdir) /
           fmt::format("events.out.tfevents.{}.{}.{}.{}", now.count(), host_name(), ::getpid(), files++))
              .string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  AXON_CHECK(out_.good(), "tensorboard", "cannot open {} for writing", path_);
  write_event(event(0, 3, "brain.Event:2"));
  flush();
}

void EventWriter::write_event(const std::string& data) {
  std::string rec;
  fixed(rec, uint64_t(data.size()));
  fixed(rec, masked_crc32c(rec.data(), 8));
  rec += data;
  fixed(rec, masked_crc32c(data.data(), data.size()));
  out_.write(rec.data(), std::streamsize(rec.size()));
  AXON_CHECK(out_.good(), "tensorboard", "cannot write to {}", path_);
}

void EventWriter::scalar(const std::string& tag, double value, int64_t step) {
  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  std::string v;
  bytes_field(v, 1, tag);
  varint(v, 2 << 3 | 5);
  fixed(v, float(value));
  std::string summary;
  bytes_field(summary, 1, v);
  write_event(event(step, 5, summary));
}

void EventWriter::flush() { out_.flush(); }

}  // namespace axon::training
