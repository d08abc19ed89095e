#include <axon/error.hpp>
#include <axon/shape.hpp>

namespace axon {

namespace {
// The product of the dims with zeros counted as 1 (what strides need) into `n`; false when its
// magnitude exceeds kMaxElements. Negative dims (-1 for "any" in model shapes) multiply as they are.
bool span_product(const Shape& s, int64_t& n, bool& has_zero) {
  n = 1;
  has_zero = false;
  for (auto d : s) {
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements || n < -kMaxElements) return false;
  }
  return true;
}
[[noreturn]] void too_large(const Shape& s, const char* op) {
  AXON_FAIL(op, "shape {} is too large: its element count (zero-sized axes counted as 1) exceeds 2^59", to_string(s));
}
}  // namespace

int64_t numel(const Shape& s) {
  int64_t n = 1;
  bool zero = false;
  if (!span_product(s, n, zero)) too_large(s, "shape");
  return zero ? 0 : n;
}

int64_t checked_numel(const Shape& s, const char* op) {
  for (auto d : s) AXON_CHECK(d >= 0, op, "negative dimension in shape {}", to_string(s));
  int64_t n = 1;
  bool zero = false;
  if (!span_product(s, n, zero)) too_large(s, op);
  return zero ? 0 : n;
}

int64_t checked_mul(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r = 0;
  AXON_CHECK(a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, &r) && r <= kMaxElements, op,
             "{} is too large: {} x {} exceeds 2^59", what, a, b);
  return r;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    if (__builtin_mul_overflow(acc, std::max<int64_t>(s[i], 1), &acc) || acc > kMaxElements) too_large(s, "shape");
  }
  return st;
}

std::string to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t normalize_axis(int64_t axis, int64_t rank, const char* op) {
  int64_t r = std::max<int64_t>(rank, 1);
  AXON_CHECK(axis >= -r && axis < r, op, "axis {} is out of range for a tensor of rank {}", axis, rank);
  return axis < 0 ? axis + r : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    AXON_CHECK(da == db || da == 1 || db == 1, op, "shapes {} and {} cannot be broadcast together",
               to_string(a), to_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace axon
