#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <axon/data/npy.hpp>
#include <axon/ops.hpp>

namespace axon::data {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const std::string& path, const char* op, const char* mode = "rb") {
  File f(std::fopen(path.c_str(), mode));
  AXON_CHECK(f != nullptr, op, "{}: cannot open ({})", path, std::strerror(errno));
  return f;
}

uint64_t file_size(std::FILE* f, const std::string& path, const char* op) {
  AXON_CHECK(fseeko(f, 0, SEEK_END) == 0, op, "{}: cannot seek", path);
  off_t n = ftello(f);
  AXON_CHECK(n >= 0, op, "{}: cannot tell its size", path);
  return uint64_t(n);
}

// Bytes of one array: the whole .npy file, or one member of an .npz (stored or deflated). Every read
// is bounded by the member's declared length; a deflated member is checked against its CRC too.
class Reader {
 public:
  Reader(std::FILE* f, std::string name, uint64_t offset, uint64_t stored_len, uint64_t plain_len, bool deflated,
         uint32_t crc, bool check_crc)
      : f_(f), name_(std::move(name)), stored_left_(stored_len), plain_len_(plain_len), deflated_(deflated),
        crc_expected_(crc), check_crc_(check_crc) {
    AXON_CHECK(fseeko(f_, off_t(offset), SEEK_SET) == 0, "read_npy", "{}: cannot seek to the array", name_);
    if (deflated_) {
      std::memset(&z_, 0, sizeof z_);
      AXON_CHECK(inflateInit2(&z_, -MAX_WBITS) == Z_OK, "read_npz", "{}: zlib init failed", name_);
      z_open_ = true;
    }
  }
  ~Reader() {
    if (z_open_) inflateEnd(&z_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint64_t plain_len() const { return plain_len_; }
  uint64_t consumed() const { return consumed_; }
  const std::string& name() const { return name_; }

  void read(void* out, uint64_t n, const char* what) {
    AXON_CHECK(n <= plain_len_ - consumed_, "read_npy", "{}: file is too short: {} needs {} bytes, {} left", name_,
               what, n, plain_len_ - consumed_);
    auto* p = static_cast<unsigned char*>(out);
    uint64_t got = deflated_ ? inflate_into(p, n, what) : raw_into(p, n, what);
    AXON_CHECK(got == n, "read_npy", "{}: file is too short: {} needs {} bytes, got {}", name_, what, n, got);
    if (check_crc_) crc_ = crc32_z(crc_, p, size_t(n));
    consumed_ += n;
  }

  // At the end of the array: nothing may follow it, and a zip member's CRC must match.
  void finish() {
    AXON_CHECK(consumed_ == plain_len_, "read_npy", "{}: {} bytes follow the array's data", name_,
               plain_len_ - consumed_);
    AXON_CHECK(!check_crc_ || crc_ == crc_expected_, "read_npz", "{}: CRC-32 mismatch (stored {:08x}, data {:08x})",
               name_, crc_expected_, uint32_t(crc_));
  }

 private:
  uint64_t raw_into(unsigned char* p, uint64_t n, const char* what) {
    uint64_t got = 0;
    while (got < n) {
      size_t chunk = size_t(std::min<uint64_t>(n - got, 1u << 24));
      size_t r = std::fread(p + got, 1, chunk, f_);
      got += r;
      if (r < chunk) break;
    }
    return got;
  }
  uint64_t inflate_into(unsigned char* p, uint64_t n, const char* what) {
    uint64_t got = 0;
    while (got < n) {
      if (z_.avail_in == 0 && stored_left_ > 0) {
        size_t chunk = size_t(std::min<uint64_t>(stored_left_, in_.size()));
        size_t r = std::fread(in_.data(), 1, chunk, f_);
        AXON_CHECK(r == chunk, "read_npz", "{}: compressed data is truncated", name_);
        stored_left_ -= r;
        z_.next_in = in_.data();
        z_.avail_in = uInt(r);
      }
      uInt want = uInt(std::min<uint64_t>(n - got, 1u << 30));
      z_.next_out = p + got;
      z_.avail_out = want;
      int rc = inflate(&z_, Z_NO_FLUSH);
      got += want - z_.avail_out;
      if (rc == Z_STREAM_END) break;
      AXON_CHECK(rc == Z_OK || (rc == Z_BUF_ERROR && z_.avail_in == 0 && stored_left_ > 0), "read_npz",
                 "{}: corrupt deflate stream while reading {} ({})", name_, what, z_.msg ? z_.msg : "zlib error");
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && stored_left_ == 0) break;
    }
    return got;
  }

  std::FILE* f_;
  std::string name_;
  uint64_t stored_left_, plain_len_, consumed_ = 0;
  bool deflated_;
  uint32_t crc_expected_;
  bool check_crc_;
  uLong crc_ = crc32_z(0, nullptr, 0);
  z_stream z_{};
  bool z_open_ = false;
  std::vector<unsigned char> in_ = std::vector<unsigned char>(1 << 20);
};

// ---- the header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
struct Header {
  std::string descr;
  bool fortran = false;
  Shape shape;
  bool has_descr = false, has_order = false, has_shape = false;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}
  Header parse() {
    Header h;
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      if (key == "descr") {
        h.descr = quoted(), h.has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran = boolean(), h.has_order = true;
      } else if (key == "shape") {
        h.shape = tuple(), h.has_shape = true;
      } else {
        fail("unknown key '" + key + "'");
      }
      skip();
      if (peek() == ',') ++i_;
    }
    AXON_CHECK(h.has_descr && h.has_order && h.has_shape, "read_npy",
               "{}: header lacks 'descr', 'fortran_order' or 'shape': {}", name_, s_);
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    AXON_FAIL("read_npy", "{}: bad header ({}): {}", name_, why, s_.substr(0, 200));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  char peek() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string quoted() {
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip();
    if (s_.compare(i_, 4, "True") == 0) return i_ += 4, true;
    if (s_.compare(i_, 5, "False") == 0) return i_ += 5, false;
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      if (peek() == ')') break;
      int64_t v = 0;
      size_t start = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (v > (int64_t(1) << 59)) fail("dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ == start) fail("expected a dimension");
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2's long literals
      shape.push_back(v);
      if (shape.size() > 64) fail("too many dimensions");
      if (peek() == ',') ++i_;
    }
    ++i_;
    return shape;
  }
  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0;
};

struct Element {
  DType dtype;        // what the tensor holds
  int file_bytes;     // bytes per element in the file
  bool widen_signed;  // integers narrower than the tensor's dtype, sign- or zero-extended
};

Element element_of(const std::string& descr, const std::string& name) {
  AXON_CHECK(descr.size() >= 3, "read_npy", "{}: unsupported dtype '{}'", name, descr);
  char order = descr[0];
  std::string kind = descr.substr(1);
  AXON_CHECK(order == '<' || order == '|' || order == '=', "read_npy",
             "{}: dtype '{}' is not little-endian (only '<', '|' and '=' byte orders are read)", name, descr);
  if (kind == "f4") return {DType::f32, 4, false};
  if (kind == "f8") return {DType::f64, 8, false};
  if (kind == "f2") return {DType::f16, 2, false};
  if (kind == "i4") return {DType::i32, 4, false};
  if (kind == "i8") return {DType::i64, 8, false};
  if (kind == "u1") return {DType::u8, 1, false};
  if (kind == "b1") return {DType::boolean, 1, false};
  if (kind == "i1") return {DType::i32, 1, true};
  if (kind == "i2") return {DType::i32, 2, true};
  if (kind == "u2") return {DType::i32, 2, false};
  if (kind == "u4") return {DType::i64, 4, false};
  AXON_FAIL("read_npy", "{}: unsupported dtype '{}' (f2/f4/f8, i1/i2/i4/i8, u1/u2/u4 and b1 are read)", name, descr);
}

template <class To>
void widen(const unsigned char* in, To* out, int64_t n, int bytes, bool is_signed) {
  for (int64_t i = 0; i < n; ++i) {
    uint64_t u = 0;
    for (int b = 0; b < bytes; ++b) u |= uint64_t(in[i * bytes + b]) << (8 * b);
    if (is_signed && (u >> (8 * bytes - 1)) & 1) u |= ~uint64_t(0) << (8 * bytes);
    out[i] = To(int64_t(u));
  }
}

Tensor parse_array(Reader& r) {
  const std::string& name = r.name();
  unsigned char pre[10];
  r.read(pre, 8, "the magic string");
  AXON_CHECK(std::memcmp(pre, "\x93NUMPY", 6) == 0, "read_npy", "{}: not an .npy file (bad magic)", name);
  int major = pre[6];
  AXON_CHECK(major >= 1 && major <= 3, "read_npy", "{}: format version {}.{} is not supported (1.0 to 3.0 are)", name,
             major, int(pre[7]));
  uint64_t header_len = 0;
  if (major == 1) {
    r.read(pre + 8, 2, "the header length");
    header_len = uint64_t(pre[8]) | uint64_t(pre[9]) << 8;
  } else {
    unsigned char l[4];
    r.read(l, 4, "the header length");
    header_len = uint64_t(l[0]) | uint64_t(l[1]) << 8 | uint64_t(l[2]) << 16 | uint64_t(l[3]) << 24;
  }
  AXON_CHECK(header_len <= (1u << 20), "read_npy", "{}: header of {} bytes is implausible", name, header_len);
  std::string text(header_len, '\0');
  r.read(text.data(), header_len, "the header");
  Header h = HeaderParser(text, name).parse();
  Element el = element_of(h.descr, name);
  Shape file_shape = h.shape;
  if (h.fortran) std::reverse(file_shape.begin(), file_shape.end());
  int64_t n = checked_numel(file_shape, "read_npy");
  uint64_t data_bytes = uint64_t(n) * uint64_t(el.file_bytes);
  AXON_CHECK(data_bytes == r.plain_len() - r.consumed(), "read_npy",
             "{}: header declares {} {} ({} bytes of data) but the file holds {} bytes after the header", name,
             to_string(h.shape), h.descr, data_bytes, r.plain_len() - r.consumed());
  Tensor t = empty(file_shape, el.dtype);
  if (el.file_bytes == int(itemsize(el.dtype))) {
    r.read(t.data_ptr(), data_bytes, "the data");
    if (el.dtype == DType::boolean) {
      auto* b = static_cast<unsigned char*>(t.data_ptr());
      for (int64_t i = 0; i < n; ++i) b[i] = b[i] != 0;
    }
  } else {
    std::vector<unsigned char> raw(data_bytes);
    r.read(raw.data(), data_bytes, "the data");
    bool is_signed = el.widen_signed;
    if (el.dtype == DType::i32)
      widen(raw.data(), t.data<int32_t>(), n, el.file_bytes, is_signed);
    else
      widen(raw.data(), t.data<int64_t>(), n, el.file_bytes, is_signed);
  }
  r.finish();
  if (!h.fortran) return t;
  std::vector<int64_t> order(file_shape.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(order.size() - 1 - i);
  return contiguous(permute(t, order));
}

// ---- zip (the container of .npz)
uint32_t le32(const unsigned char* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }
uint64_t le64(const unsigned char* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

void read_at(std::FILE* f, const std::string& path, uint64_t offset, void* out, size_t n, const char* what) {
  AXON_CHECK(fseeko(f, off_t(offset), SEEK_SET) == 0 && std::fread(out, 1, n, f) == n, "read_npz",
             "{}: truncated archive while reading {}", path, what);
}

struct Member {
  std::string name;
  uint16_t method, flags;
  uint32_t crc;
  uint64_t stored, plain, local_offset;
};

std::vector<Member> central_directory(std::FILE* f, const std::string& path, uint64_t size) {
  AXON_CHECK(size >= 22, "read_npz", "{}: too short to be a zip archive", path);
  uint64_t tail = std::min<uint64_t>(size, 22 + 65535);
  std::vector<unsigned char> buf(tail);
  read_at(f, path, size - tail, buf.data(), tail, "the end of the archive");
  int64_t eocd = -1;
  for (int64_t i = int64_t(tail) - 22; i >= 0; --i)
    if (le32(&buf[i]) == 0x06054b50) {
      eocd = i;
      break;
    }
  AXON_CHECK(eocd >= 0, "read_npz", "{}: not a zip archive (no end-of-central-directory record)", path);
  const unsigned char* e = &buf[eocd];
  uint64_t count = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    AXON_CHECK(eocd >= 20 && le32(&buf[eocd - 20]) == 0x07064b50, "read_npz", "{}: zip64 locator missing", path);
    uint64_t z64 = le64(&buf[eocd - 20 + 8]);
    unsigned char r[56];
    AXON_CHECK(z64 <= size - 56, "read_npz", "{}: zip64 record outside the file", path);
    read_at(f, path, z64, r, 56, "the zip64 record");
    AXON_CHECK(le32(r) == 0x06064b50, "read_npz", "{}: bad zip64 record", path);
    count = le64(r + 32), cd_size = le64(r + 40), cd_offset = le64(r + 48);
  }
  AXON_CHECK(cd_offset <= size && cd_size <= size - cd_offset && count <= cd_size / 46, "read_npz",
             "{}: central directory ({} entries, {} bytes at {}) does not fit a file of {} bytes", path, count, cd_size,
             cd_offset, size);
  std::vector<unsigned char> cd(cd_size);
  read_at(f, path, cd_offset, cd.data(), cd_size, "the central directory");
  std::vector<Member> out;
  uint64_t pos = 0;
  for (uint64_t k = 0; k < count; ++k) {
    AXON_CHECK(pos + 46 <= cd_size && le32(&cd[pos]) == 0x02014b50, "read_npz", "{}: bad central directory entry {}",
               path, k);
    const unsigned char* c = &cd[pos];
    Member m;
    m.flags = le16(c + 8), m.method = le16(c + 10), m.crc = le32(c + 16);
    m.stored = le32(c + 20), m.plain = le32(c + 24), m.local_offset = le32(c + 42);
    uint64_t nlen = le16(c + 28), xlen = le16(c + 30), clen = le16(c + 32);
    AXON_CHECK(pos + 46 + nlen + xlen + clen <= cd_size, "read_npz", "{}: central directory entry {} overruns", path, k);
    m.name.assign(reinterpret_cast<const char*>(c + 46), nlen);
    // zip64 extended information: the fields whose 32-bit slot is saturated, in this order.
    for (uint64_t x = 0; x + 4 <= xlen;) {
      const unsigned char* xp = c + 46 + nlen + x;
      uint16_t id = le16(xp), len = le16(xp + 2);
      AXON_CHECK(x + 4 + len <= xlen, "read_npz", "{}: extra field of {} overruns", path, m.name);
      if (id == 0x0001) {
        const unsigned char* v = xp + 4;
        uint64_t left = len;
        for (uint64_t* field : {&m.plain, &m.stored, &m.local_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          AXON_CHECK(left >= 8, "read_npz", "{}: short zip64 field of {}", path, m.name);
          *field = le64(v), v += 8, left -= 8;
        }
      }
      x += 4 + len;
    }
    out.push_back(std::move(m));
    pos += 46 + nlen + xlen + clen;
  }
  return out;
}

}  // namespace

Tensor read_npy(const std::string& path) {
  File f = open_file(path, "read_npy");
  uint64_t size = file_size(f.get(), path, "read_npy");
  Reader r(f.get(), path, 0, size, size, false, 0, false);
  return parse_array(r);
}

std::map<std::string, Tensor> read_npz(const std::string& path) {
  File f = open_file(path, "read_npz");
  uint64_t size = file_size(f.get(), path, "read_npz");
  std::map<std::string, Tensor> out;
  for (const Member& m : central_directory(f.get(), path, size)) {
    std::string where = path + ":" + m.name;
    AXON_CHECK(!(m.flags & 1), "read_npz", "{}: encrypted members are not supported", where);
    AXON_CHECK(m.method == 0 || m.method == 8, "read_npz",
               "{}: compression method {} is not supported (stored and deflate are)", where, m.method);
    AXON_CHECK(m.method != 0 || m.stored == m.plain, "read_npz", "{}: stored member with sizes {} and {}", where,
               m.stored, m.plain);
    // Deflate expands at most 1032:1: a larger declared size is a lie, refused before allocating.
    AXON_CHECK(m.plain / 1032 <= m.stored, "read_npz", "{}: {} bytes cannot inflate to the declared {}", where,
               m.stored, m.plain);
    unsigned char local[30];
    AXON_CHECK(m.local_offset <= size - 30, "read_npz", "{}: local header outside the file", where);
    read_at(f.get(), path, m.local_offset, local, 30, "a local header");
    AXON_CHECK(le32(local) == 0x04034b50, "read_npz", "{}: bad local header", where);
    uint64_t data = m.local_offset + 30 + le16(local + 26) + le16(local + 28);
    AXON_CHECK(data <= size && m.stored <= size - data, "read_npz", "{}: member data ({} bytes) runs past the file",
               where, m.stored);
    std::string key = m.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    AXON_CHECK(!out.count(key), "read_npz", "{}: two members named '{}'", path, key);
    Reader r(f.get(), where, data, m.stored, m.plain, m.method == 8, m.crc, true);
    out.emplace(key, parse_array(r));
  }
  return out;
}

void write_npy(const std::string& path, const Tensor& x) {
  AXON_CHECK(x.defined(), "write_npy", "{}: the tensor is undefined", path);
  Tensor t = x.dtype() == DType::bf16 ? cast(x, DType::f32) : x;
  t = t.to(Device::cpu()).contiguous();
  const char* descr = nullptr;
  switch (t.dtype()) {
    case DType::f32: descr = "<f4"; break;
    case DType::f64: descr = "<f8"; break;
    case DType::f16: descr = "<f2"; break;
    case DType::i32: descr = "<i4"; break;
    case DType::i64: descr = "<i8"; break;
    case DType::u8: descr = "|u1"; break;
    case DType::boolean: descr = "|b1"; break;
    default: AXON_FAIL("write_npy", "{}: cannot write {}", path, describe(x));
  }
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ", ";
  if (t.dim() > 1) shape.resize(shape.size() - 1), shape.back() = ')';
  else shape += ")";
  if (t.dim() == 1) shape = "(" + std::to_string(t.size(0)) + ",)";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // The data starts on a 64-byte boundary; the header ends with a newline.
  bool v2 = header.size() + 11 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  File f = open_file(path, "write_npy", "wb");
  std::string pre = std::string("\x93NUMPY", 6) + char(v2 ? 2 : 1) + char(0);
  size_t len = header.size();
  for (size_t b = 0; b < (v2 ? 4u : 2u); ++b) pre.push_back(char((len >> (8 * b)) & 0xFF));
  size_t bytes = size_t(t.numel()) * itemsize(t.dtype());
  bool ok = std::fwrite(pre.data(), 1, pre.size(), f.get()) == pre.size() &&
            std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
            (bytes == 0 || std::fwrite(t.data_ptr(), 1, bytes, f.get()) == bytes);
  ok = (std::fclose(f.release()) == 0) && ok;
  AXON_CHECK(ok, "write_npy", "{}: write failed ({})", path, std::strerror(errno));
}

}  // namespace axon::data
