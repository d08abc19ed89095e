// Printing in PyTorch's manner: nested brackets, a shared number format, long tensors summarised
// with "..." (3 items at each end of an axis), then shape, dtype and device.
#include <cmath>
#include <sstream>

#include <axon/tensor.hpp>

namespace axon {

namespace {
constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdge = 3;

struct Formatter {
  bool floating = false, sci = false, integral_values = true;
  int width = 1;
  std::string fmt_one(double v) const {
    if (!floating) return fmt::format("{}", static_cast<int64_t>(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci) return fmt::format("{:.4e}", v);
    if (integral_values) return fmt::format("{:.0f}.", v);
    return fmt::format("{:.4f}", v);
  }
};

void print_rec(std::ostringstream& os, const std::vector<double>& v, const Shape& shape, const Strides& st,
               size_t dim, int64_t base, const Formatter& f, bool summarize, int indent, bool is_bool) {
  auto elem = [&](int64_t off) {
    std::string s = is_bool ? (v[off] != 0 ? "True" : "False") : f.fmt_one(v[off]);
    os << std::string(static_cast<size_t>(std::max<int>(0, f.width - static_cast<int>(s.size()))), ' ') << s;
  };
  if (shape.empty()) {
    elem(base);
    return;
  }
  int64_t n = shape[dim];
  os << "[";
  bool cut = summarize && n > 2 * kEdge;
  for (int64_t i = 0; i < n; ++i) {
    if (cut && i == kEdge) {
      os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - kEdge;
    }
    if (dim + 1 == shape.size()) {
      elem(base + i * st[dim]);
    } else {
      print_rec(os, v, shape, st, dim + 1, base + i * st[dim], f, summarize, indent + 1, is_bool);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(shape.size() - dim - 1 > 1 ? 1 : 0, '\n') + std::string(indent + 1, ' '));
  }
  os << "]";
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::vector<double> v = to_vector<double>();
  bool summarize = numel() > kSummarizeAbove;
  Formatter f;
  f.floating = is_floating(dtype());
  double amax = 0, amin_nz = INFINITY;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (x != std::floor(x)) f.integral_values = false;
    amax = std::max(amax, std::fabs(x));
    if (x != 0) amin_nz = std::min(amin_nz, std::fabs(x));
  }
  if (f.floating && (amax >= 1e8 || (amin_nz < 1e-4 && amin_nz != INFINITY && !f.integral_values))) f.sci = true;
  bool is_bool = dtype() == DType::boolean;
  for (double x : v) {
    int w = static_cast<int>(is_bool ? (x != 0 ? 4 : 5) : f.fmt_one(x).size());
    f.width = std::max(f.width, w);
  }
  std::ostringstream os;
  os << "tensor(";
  print_rec(os, v, shape(), contiguous_strides(shape()), 0, 0, f, summarize, 7, is_bool);
  os << ", shape=" << to_string(shape()) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str() << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace axon
