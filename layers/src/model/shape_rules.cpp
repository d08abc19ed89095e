// Build-time shape rules shared by the builders, and the renderings of the summary.
#include "graph.hpp"

#include <cmath>

#include <fmt/format.h>

namespace axon::detail {

int64_t channel_axis(const NodeBuild& b, const Shape& s, Channels ch) {
  AXON_CHECK(s.size() >= 3, b.who,
             "input shape {} must have rank 3, 4 or 5 ([batch, spatial..., channels] or channels first)",
             to_string(s));
  return ch == Channels::last ? static_cast<int64_t>(s.size()) - 1 : 1;
}

int64_t known_dim(const NodeBuild& b, const Shape& s, int64_t axis, const char* what) {
  const int64_t a = axis < 0 ? axis + static_cast<int64_t>(s.size()) : axis;
  AXON_CHECK(a >= 0 && a < static_cast<int64_t>(s.size()), b.who, "axis {} is out of range for input shape {}",
             axis, to_string(s));
  AXON_CHECK(s[a] > 0, b.who, "the {} (axis {} of input shape {}) must be known to size the parameters", what,
             a, to_string(s));
  return s[a];
}

std::vector<int64_t> per_dim(const NodeBuild& b, const std::vector<int64_t>& v, int64_t nd, const char* what) {
  if (v.empty()) return std::vector<int64_t>(static_cast<size_t>(nd), 1);
  if (v.size() == 1) return std::vector<int64_t>(static_cast<size_t>(nd), v[0]);
  AXON_CHECK(static_cast<int64_t>(v.size()) == nd, b.who,
             "{} {} has {} values but the input has {} spatial dims (input shape {})", what,
             to_string(Shape(v.begin(), v.end())), v.size(), nd, to_string(b.in.at(0)));
  for (int64_t x : v) AXON_CHECK(x >= 1, b.who, "{} {} must be positive", what, to_string(Shape(v.begin(), v.end())));
  return v;
}

int64_t window_out(const NodeBuild& b, int64_t in, int64_t k, int64_t s, int64_t kdil, int64_t idil,
                   const Padding& p, size_t dim) {
  AXON_CHECK(k >= 1 && s >= 1 && kdil >= 1 && idil >= 1, b.who,
             "kernel size, strides and dilations must be positive (spatial dim {})", dim);
  if (in < 0) return -1;
  const int64_t in_d = (in - 1) * idil + 1, k_d = (k - 1) * kdil + 1;
  if (p.mode == PaddingMode::same) return (in_d + s - 1) / s;
  int64_t lo = 0, hi = 0;
  if (p.mode == PaddingMode::explicit_pads) {
    AXON_CHECK(dim < p.pads.size(), b.who, "padding has {} (lo, hi) pairs but the input {} needs one per spatial dim",
               p.pads.size(), to_string(b.in.at(0)));
    lo = p.pads[dim].first;
    hi = p.pads[dim].second;
  }
  AXON_CHECK(in_d + lo + hi >= k_d, b.who,
             "the window ({} after dilation) is larger than spatial dim {} of input {} ({} after padding)", k_d, dim,
             to_string(b.in.at(0)), in_d + lo + hi);
  return (in_d + lo + hi - k_d) / s + 1;
}

Shape broadcast_known(const NodeBuild& b, const Shape& x, const Shape& y) {
  const size_t r = std::max(x.size(), y.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t a = i < r - x.size() ? 1 : x[i - (r - x.size())];
    const int64_t c = i < r - y.size() ? 1 : y[i - (r - y.size())];
    if (a == c || c == 1) {
      out[i] = a;
    } else if (a == 1) {
      out[i] = c;
    } else {
      AXON_CHECK(a == -1 || c == -1, b.who, "input shapes {} and {} do not broadcast", to_string(x), to_string(y));
      out[i] = a == -1 ? c : a;
    }
  }
  return out;
}

Shape trace_shape(const NodeBuild& b, const ForwardFn& forward) {
  NoGrad ng;
  std::vector<Tensor> inputs;
  for (Shape s : b.in) {
    for (auto& d : s) d = d < 0 ? 1 : d;
    inputs.push_back(zeros(s));
  }
  ParamMap params;
  for (const auto& p : b.node.params) params[p.name] = p.initializer.name == "ones" ? ones(p.shape) : zeros(p.shape);
  Generator gen(0);
  ForwardContext ctx{Mode::inference, &gen, b.name, {}};
  Tensor y;
  try {
    y = forward(inputs, params, ctx);
  } catch (const Error& e) {
    AXON_FAIL(b.who, "finding the output shape by running the layer on zeros failed ({}); give output_shape",
              e.what());
  }
  AXON_CHECK(y.defined(), b.who, "the forward function returned an undefined tensor");
  Shape out = y.shape();
  if (!out.empty() && !b.in.empty() && !b.in[0].empty() && b.in[0][0] == -1) out[0] = -1;
  return out;
}

std::string show_shape(const Shape& s) { return show_list(s); }

std::string show_typed(const Shape& s, DType dt) { return dtype_name(dt) + show_list(s); }

std::string show_list(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

std::string show_padding(const Padding& p) {
  if (p.mode == PaddingMode::valid) return "valid";
  if (p.mode == PaddingMode::same) return "same";
  std::vector<std::string> parts;
  for (auto [lo, hi] : p.pads) parts.push_back(fmt::format("({}, {})", lo, hi));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

std::string show_channels(Channels c) { return c == Channels::last ? "last" : "first"; }

// The shortest digits that read back as the same double.
std::string show_number(double v) { return fmt::format("{}", v); }

}  // namespace axon::detail
