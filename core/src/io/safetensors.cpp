// safetensors reading and writing (format notes in <axon/io.hpp>).
#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <axon/io.hpp>

#include "json.hpp"

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

namespace axon {
namespace {

constexpr const char* kLoad = "load_safetensors";
constexpr const char* kSave = "save_safetensors";
constexpr uint64_t kMaxHeader = 100'000'000;  // the reference reader's limit

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
  }
  return "?";
}

bool parse_st_dtype(const std::string& s, DType& out) {
  for (int i = 0; i < kNumDTypes; ++i) {
    auto t = static_cast<DType>(i);
    if (s == st_dtype(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;  // in document order
  Metadata metadata;
};

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative JSON integer that fits in u64.
uint64_t as_u64(const json::Value& v, const std::string& file, const std::string& what) {
  AXON_CHECK(v.kind == json::Value::Kind::number, kLoad, "{}: {} must be a number, got {}", file, what,
             json::kind_name(v.kind));
  const std::string& t = v.text;
  bool digits = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  AXON_CHECK(digits, kLoad, "{}: {} must be a non-negative integer, got {}", file, what, t);
  uint64_t r = 0;
  for (char c : t) {
    AXON_CHECK(r <= (std::numeric_limits<uint64_t>::max() - uint64_t(c - '0')) / 10, kLoad, "{}: {} is too large ({})",
               file, what, t);
    r = r * 10 + uint64_t(c - '0');
  }
  return r;
}

// The bytes of a tensor of `shape` with `item`-byte elements, false when that or any partial
// product (a stride, in elements or bytes) leaves int64: a zero dim makes the tensor empty but
// leaves the strides of the others to compute, so it does not excuse huge neighbours.
bool checked_nbytes(const Shape& shape, uint64_t item, uint64_t& bytes) {
  int64_t product = int64_t(item);
  bool empty = false;
  for (int64_t d : shape) {
    if (d == 0) empty = true;
    else if (__builtin_mul_overflow(product, d, &product)) return false;
  }
  bytes = empty ? 0 : uint64_t(product);
  return true;
}

Header parse_header(std::string_view text, uint64_t data_size, const std::string& file) {
  AXON_CHECK(!text.empty() && text[0] == '{', kLoad, "{}: not a safetensors file (the header does not start with '{{')",
             file);
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const json::DuplicateKeyError& e) {
    AXON_FAIL(kLoad, "{}: key '{}' appears twice in the header ({})", file, e.key, e.what());
  } catch (const json::ParseError& e) {
    AXON_FAIL(kLoad, "{}: corrupt header: {}", file, e.what());
  }
  AXON_CHECK(root.kind == json::Value::Kind::object, kLoad, "{}: the header must be a JSON object", file);
  Header h;
  for (const auto& [name, v] : root.object) {
    if (name == "__metadata__") {
      AXON_CHECK(v.kind == json::Value::Kind::object, kLoad, "{}: __metadata__ must be an object of strings", file);
      for (const auto& [k, s] : v.object) {
        AXON_CHECK(s.kind == json::Value::Kind::string, kLoad, "{}: __metadata__ value of '{}' must be a string, got {}",
                   file, k, json::kind_name(s.kind));
        h.metadata[k] = s.text;
      }
      continue;
    }
    AXON_CHECK(v.kind == json::Value::Kind::object, kLoad, "{}: tensor '{}' must be described by an object", file, name);
    const json::Value* dt = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offsets = v.find("data_offsets");
    AXON_CHECK(dt && shape && offsets, kLoad, "{}: tensor '{}' lacks dtype, shape or data_offsets", file, name);
    AXON_CHECK(dt->kind == json::Value::Kind::string, kLoad, "{}: dtype of '{}' must be a string", file, name);
    Entry e{name, DType::f32, {}, 0, 0};
    AXON_CHECK(parse_st_dtype(dt->text, e.dtype), kLoad,
               "{}: tensor '{}' has dtype {}, which axon does not support (F32 F64 BF16 F16 I32 I64 U8 BOOL)", file, name,
               dt->text);
    AXON_CHECK(shape->kind == json::Value::Kind::array, kLoad, "{}: shape of '{}' must be an array", file, name);
    for (const auto& d : shape->array) {
      uint64_t n = as_u64(d, file, "a dimension of '" + name + "'");
      AXON_CHECK(n <= uint64_t(std::numeric_limits<int64_t>::max()), kLoad, "{}: dimension {} of '{}' is too large", file,
                 n, name);
      e.shape.push_back(int64_t(n));
    }
    uint64_t need = 0;
    AXON_CHECK(checked_nbytes(e.shape, itemsize(e.dtype), need), kLoad,
               "{}: tensor '{}' ({} {}) is too large: its sizes, strides or bytes overflow 64 bits", file, name, dt->text,
               to_string(e.shape));
    AXON_CHECK(offsets->kind == json::Value::Kind::array && offsets->array.size() == 2, kLoad,
               "{}: data_offsets of '{}' must be [begin, end]", file, name);
    e.begin = as_u64(offsets->array[0], file, "data_offsets of '" + name + "'");
    e.end = as_u64(offsets->array[1], file, "data_offsets of '" + name + "'");
    AXON_CHECK(e.begin <= e.end && e.end <= data_size, kLoad,
               "{}: data_offsets [{}, {}] of '{}' are out of range (the data section holds {} bytes)", file, e.begin,
               e.end, name, data_size);
    AXON_CHECK(need == e.end - e.begin, kLoad, "{}: tensor '{}' ({} {}) needs {} bytes but data_offsets [{}, {}] give {}",
               file, name, dt->text, to_string(e.shape), need, e.begin, e.end, e.end - e.begin);
    h.entries.push_back(std::move(e));
  }
  // The data section must be exactly the tensors' bytes, without gaps or overlaps (as the
  // reference reader demands).
  std::vector<const Entry*> order;
  for (const auto& e : h.entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  for (const Entry* e : order) {
    AXON_CHECK(e->begin == at, kLoad, "{}: data of '{}' starts at byte {} where {} was expected (overlap or gap)", file,
               e->name, e->begin, at);
    at = e->end;
  }
  AXON_CHECK(at == data_size, kLoad, "{}: the tensors cover {} bytes but the data section holds {}", file, at, data_size);
  return h;
}

// Builds the tensors of a parsed header; read(offset, n, dst) copies n bytes of the data section.
TensorMap materialize(const Header& h, Device device,
                      const std::function<void(uint64_t, uint64_t, void*)>& read) {
  NoGrad no_grad;
  TensorMap out;
  for (const auto& e : h.entries) {
    Tensor t = empty(e.shape, e.dtype, Device::cpu());
    uint64_t n = e.end - e.begin;
    if (n > 0) read(e.begin, n, t.data_ptr());
    if (e.dtype == DType::boolean) {  // any nonzero byte is true; a C++ bool must hold 0 or 1
      auto* p = static_cast<unsigned char*>(t.data_ptr());
      for (uint64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
    }
    out.emplace(e.name, device.is_cpu() ? t : t.to(device));
  }
  return out;
}

struct Prepared {
  std::string header;  // padded
  std::vector<std::pair<std::string, Tensor>> tensors;  // host, contiguous, in data order
};

// s with its bytes outside printable ASCII as \xNN, for an error message about them.
std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += c >= 0x20 && c < 0x7F ? std::string(1, char(c)) : fmt::format("\\x{:02X}", c);
  return out;
}

// Other readers (the reference one, Python's json) refuse a header that is not UTF-8: never write one.
void check_utf8(std::string_view s, const std::string& file, const char* what) {
  AXON_CHECK(json::valid_utf8(s), kSave, "{}: {} '{}' is not valid UTF-8, which safetensors headers must be", file, what,
             escaped(s));
}

Prepared prepare(const TensorMap& tensors, const Metadata& metadata, const std::string& file) {
  NoGrad no_grad;
  Prepared p;
  for (const auto& [k, v] : metadata) {
    check_utf8(k, file, "metadata key");
    check_utf8(v, file, "the value of metadata key");
  }
  for (const auto& [name, t] : tensors) {
    check_utf8(name, file, "tensor name");
    AXON_CHECK(t.defined(), kSave, "{}: tensor '{}' is undefined", file, name);
    AXON_CHECK(name != "__metadata__", kSave, "{}: '__metadata__' is reserved and cannot name a tensor", file);
    Tensor host = t.to(Device::cpu()).contiguous();
    p.tensors.emplace_back(name, host);
  }
  std::stable_sort(p.tensors.begin(), p.tensors.end(), [](const auto& a, const auto& b) {
    return a.second.itemsize() > b.second.itemsize();  // names already sorted (std::map)
  });
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      h += json::quote(k) + ":" + json::quote(v);
    }
    h += "}";
    first = false;
  }
  uint64_t at = 0;
  for (const auto& [name, t] : p.tensors) {
    if (!first) h += ',';
    first = false;
    h += json::quote(name) + ":{\"dtype\":\"" + st_dtype(t.dtype()) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i) {
      if (i) h += ',';
      h += std::to_string(t.shape()[i]);
    }
    h += "],\"data_offsets\":[" + std::to_string(at) + "," + std::to_string(at + t.nbytes()) + "]}";
    at += t.nbytes();
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  p.header = std::move(h);
  return p;
}

std::string length_prefix(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

std::string errno_text() { return std::strerror(errno); }

// Temporary files are "<target>.axon-tmp-<pid>-<n>": unique per save (the pid across processes, n
// across threads), so concurrent saves to one path never share one, and a crashed writer's are
// recognisable by the pid.
constexpr std::string_view kTempTag = ".axon-tmp-";
std::atomic<uint64_t> temp_counter{0};

// The pid of a temporary file of ours, or 0.
pid_t temp_owner(const std::string& filename) {
  auto at = filename.rfind(kTempTag);
  if (at == std::string::npos) return 0;
  std::string_view rest = std::string_view(filename).substr(at + kTempTag.size());
  auto dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == rest.size()) return 0;
  auto all_digits = [](std::string_view d) { return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  if (!all_digits(rest.substr(0, dash)) || !all_digits(rest.substr(dash + 1)) || dash > 9) return 0;
  return pid_t(std::stol(std::string(rest.substr(0, dash))));
}

// Removes the temporary files that writers killed mid-save left in `dir` (their process is gone);
// a live process's, this one's included, may still be written and stay.
void remove_stale_temps(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    pid_t owner = temp_owner(it->path().filename().string());
    if (owner > 0 && owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
    }
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }
  int get() const { return fd_; }
  int close() {
    int r = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), std::min<size_t>(bytes.size(), size_t(1) << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

// Writes `parts` to `path` atomically and durably: into a new temporary file beside it, flushed to
// disk (fsync), renamed over `path`, and the directory flushed so that the rename survives a power
// loss. Readers see the old file or the new one, never a mixture, and a crash leaves at worst a
// temporary file, removed by the next save into that directory.
void write_file_durably(const std::string& path, const std::vector<std::string_view>& parts, const char* op) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  remove_stale_temps(dir);
  std::string tmp;
  int raw = -1;
  for (int attempt = 0; raw < 0 && attempt < 100; ++attempt) {  // a stale name of a reused pid: try the next n
    tmp = path + std::string(kTempTag) + std::to_string(::getpid()) + "-" + std::to_string(temp_counter++);
    raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw < 0 && errno != EEXIST) break;
  }
  AXON_CHECK(raw >= 0, op, "{}: cannot open for writing ({})", path, errno_text());
  Fd fd(raw);
  auto fail = [&](const char* what) {
    std::string why = errno_text();
    fd.close();
    ::unlink(tmp.c_str());
    AXON_FAIL(op, "{}: {} ({})", path, what, why);
  };
  for (std::string_view part : parts)
    if (!write_all(fd.get(), part)) fail("write failed");
  if (::fsync(fd.get()) != 0) fail("cannot flush the written file to disk");
  if (fd.close() != 0) fail("write failed");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot move the written file into place");
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Some file systems cannot flush a directory (EINVAL): the file itself is safe, so go on.
  AXON_CHECK(d.get() >= 0 && (::fsync(d.get()) == 0 || errno == EINVAL), op,
             "{}: written, but its directory cannot be flushed to disk ({})", path, errno_text());
}

}  // namespace

// ---- writing

std::string to_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  Prepared p = prepare(tensors, metadata, "<memory>");
  std::string out = length_prefix(p.header.size()) + p.header;
  for (const auto& [name, t] : p.tensors) out.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  Prepared p = prepare(tensors, metadata, path);
  std::string prefix = length_prefix(p.header.size());
  std::vector<std::string_view> parts{prefix, p.header};
  for (const auto& [name, t] : p.tensors) parts.emplace_back(static_cast<const char*>(t.data_ptr()), t.nbytes());
  write_file_durably(path, parts, kSave);
}

// ---- reading

namespace {

struct OpenFile {
  std::ifstream f;
  uint64_t size = 0;
  uint64_t header_len = 0;
  std::string header;
};

OpenFile open_and_read_header(const std::string& path) {
  OpenFile o;
  std::error_code ec;
  AXON_CHECK(std::filesystem::exists(path, ec), kLoad, "{}: no such file", path);
  AXON_CHECK(!std::filesystem::is_directory(path, ec), kLoad, "{}: is a directory, not a file", path);
  o.f.open(path, std::ios::binary);
  AXON_CHECK(o.f.good(), kLoad, "{}: cannot open ({})", path, errno_text());
  o.f.seekg(0, std::ios::end);
  o.size = uint64_t(o.f.tellg());
  o.f.seekg(0);
  AXON_CHECK(o.size >= 8, kLoad, "{}: truncated: {} bytes, too short for the 8-byte header length", path, o.size);
  unsigned char len[8];
  o.f.read(reinterpret_cast<char*>(len), 8);
  o.header_len = read_u64_le(len);
  AXON_CHECK(o.header_len <= o.size - 8, kLoad, "{}: truncated or corrupt: the header claims {} bytes but only {} follow",
             path, o.header_len, o.size - 8);
  AXON_CHECK(o.header_len <= kMaxHeader, kLoad, "{}: header of {} bytes is larger than the {} allowed", path,
             o.header_len, kMaxHeader);
  o.header.resize(o.header_len);
  o.f.read(o.header.data(), std::streamsize(o.header_len));
  AXON_CHECK(o.f.good(), kLoad, "{}: cannot read the header ({})", path, errno_text());
  return o;
}

}  // namespace

TensorMap load_safetensors(const std::string& path, Device device, Metadata* metadata) {
  OpenFile o = open_and_read_header(path);
  uint64_t data_start = 8 + o.header_len;
  Header h = parse_header(o.header, o.size - data_start, path);
  TensorMap out = materialize(h, device, [&](uint64_t off, uint64_t n, void* dst) {
    o.f.seekg(std::streamoff(data_start + off));
    o.f.read(static_cast<char*>(dst), std::streamsize(n));
    AXON_CHECK(o.f.good(), kLoad, "{}: cannot read {} bytes at offset {} ({})", path, n, data_start + off, errno_text());
  });
  if (metadata) *metadata = std::move(h.metadata);
  return out;
}

Metadata load_safetensors_metadata(const std::string& path) {
  OpenFile o = open_and_read_header(path);
  return parse_header(o.header, o.size - 8 - o.header_len, path).metadata;
}

TensorMap from_safetensors(std::string_view bytes, Device device, Metadata* metadata, const std::string& name) {
  AXON_CHECK(bytes.size() >= 8, kLoad, "{}: truncated: {} bytes, too short for the 8-byte header length", name,
             bytes.size());
  uint64_t n = read_u64_le(reinterpret_cast<const unsigned char*>(bytes.data()));
  AXON_CHECK(n <= bytes.size() - 8, kLoad, "{}: truncated or corrupt: the header claims {} bytes but only {} follow",
             name, n, bytes.size() - 8);
  AXON_CHECK(n <= kMaxHeader, kLoad, "{}: header of {} bytes is larger than the {} allowed", name, n, kMaxHeader);
  std::string_view data = bytes.substr(8 + n);
  Header h = parse_header(bytes.substr(8, n), data.size(), name);
  TensorMap out =
      materialize(h, device, [&](uint64_t off, uint64_t len, void* dst) { std::memcpy(dst, data.data() + off, len); });
  if (metadata) *metadata = std::move(h.metadata);
  return out;
}

// ---- Params

TensorMap flatten_params(const Params& params, const std::string& prefix) {
  TensorMap out;
  std::string pre = prefix.empty() ? "" : prefix + "/";
  for (const auto& [layer, m] : params)
    for (const auto& [name, t] : m) {
      AXON_CHECK(name.find('/') == std::string::npos, "flatten_params",
                 "parameter name '{}' of layer '{}' contains '/', which separates layer and parameter", name, layer);
      out.emplace(pre + layer + "/" + name, t);
    }
  return out;
}

Params unflatten_params(const TensorMap& tensors, const std::string& prefix) {
  Params out;
  std::string pre = prefix.empty() ? "" : prefix + "/";
  for (auto it = tensors.lower_bound(pre); it != tensors.end() && it->first.compare(0, pre.size(), pre) == 0; ++it) {
    std::string rest = it->first.substr(pre.size());
    auto slash = rest.rfind('/');
    AXON_CHECK(slash != std::string::npos, "unflatten_params", "key '{}' is not of the form '{}layer/name'", it->first,
               pre);
    out[rest.substr(0, slash)].emplace(rest.substr(slash + 1), it->second);
  }
  return out;
}

void save_params(const std::string& path, const Params& params, const Metadata& metadata) {
  save_safetensors(path, flatten_params(params), metadata);
}

Params load_params(const std::string& path, Device device) {
  return unflatten_params(load_safetensors(path, device));
}

}  // namespace axon
