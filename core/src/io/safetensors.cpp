// safetensors reading and writing (format notes in <axon/io.hpp>).
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <unistd.h>

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

Header parse_header(std::string_view text, uint64_t data_size, const std::string& file) {
  AXON_CHECK(!text.empty() && text[0] == '{', kLoad, "{}: not a safetensors file (the header does not start with '{{')",
             file);
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const json::ParseError& e) {
    AXON_FAIL(kLoad, "{}: corrupt header: {}", file, e.what());
  }
  AXON_CHECK(root.kind == json::Value::Kind::object, kLoad, "{}: the header must be a JSON object", file);
  Header h;
  std::vector<std::string> seen;
  for (const auto& [name, v] : root.object) {
    AXON_CHECK(std::find(seen.begin(), seen.end(), name) == seen.end(), kLoad, "{}: tensor '{}' appears twice", file,
               name);
    seen.push_back(name);
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
    uint64_t count = 1;
    bool overflow = false;
    for (const auto& d : shape->array) {
      uint64_t n = as_u64(d, file, "a dimension of '" + name + "'");
      AXON_CHECK(n <= uint64_t(std::numeric_limits<int64_t>::max()), kLoad, "{}: dimension {} of '{}' is too large", file,
                 n, name);
      if (n != 0 && count > std::numeric_limits<uint64_t>::max() / n) overflow = true;
      count *= n;
      e.shape.push_back(int64_t(n));
    }
    AXON_CHECK(offsets->kind == json::Value::Kind::array && offsets->array.size() == 2, kLoad,
               "{}: data_offsets of '{}' must be [begin, end]", file, name);
    e.begin = as_u64(offsets->array[0], file, "data_offsets of '" + name + "'");
    e.end = as_u64(offsets->array[1], file, "data_offsets of '" + name + "'");
    AXON_CHECK(e.begin <= e.end && e.end <= data_size, kLoad,
               "{}: data_offsets [{}, {}] of '{}' are out of range (the data section holds {} bytes)", file, e.begin,
               e.end, name, data_size);
    uint64_t need = count * itemsize(e.dtype);
    AXON_CHECK(!overflow && count <= std::numeric_limits<uint64_t>::max() / itemsize(e.dtype) && need == e.end - e.begin,
               kLoad, "{}: tensor '{}' ({} {}) needs {} bytes but data_offsets [{}, {}] give {}", file, name, dt->text,
               to_string(e.shape), need, e.begin, e.end, e.end - e.begin);
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

Prepared prepare(const TensorMap& tensors, const Metadata& metadata, const std::string& file) {
  NoGrad no_grad;
  Prepared p;
  for (const auto& [name, t] : tensors) {
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
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    AXON_CHECK(f.good(), kSave, "{}: cannot open for writing ({})", path, errno_text());
    std::string prefix = length_prefix(p.header.size());
    f.write(prefix.data(), std::streamsize(prefix.size()));
    f.write(p.header.data(), std::streamsize(p.header.size()));
    for (const auto& [name, t] : p.tensors) f.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.nbytes()));
    f.flush();
    if (!f.good()) {
      std::string why = errno_text();
      f.close();
      std::remove(tmp.c_str());
      AXON_FAIL(kSave, "{}: write failed ({})", path, why);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    AXON_FAIL(kSave, "{}: cannot move the written file into place ({})", path, ec.message());
  }
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
