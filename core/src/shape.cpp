#include <axon/error.hpp>
#include <axon/shape.hpp>

namespace axon {

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
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
