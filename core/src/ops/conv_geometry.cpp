// Conv option resolution: per-dim lists, padding modes, output sizes and the error messages for
// bad shapes, all before any kernel runs so that CPU and CUDA fail alike.
#include "conv_geometry.hpp"

#include <string>

namespace axon::detail {

namespace {

std::vector<int64_t> per_dim(const std::vector<int64_t>& v, int nd, const char* what, const char* op) {
  if (v.empty()) return std::vector<int64_t>(static_cast<size_t>(nd), 1);
  AXON_CHECK(v.size() == 1 || static_cast<int>(v.size()) == nd, op,
             "{} has {} values for {} spatial dimensions (give 1 or {})", what, v.size(), nd, nd);
  std::vector<int64_t> r = v.size() == 1 ? std::vector<int64_t>(static_cast<size_t>(nd), v[0]) : v;
  for (int64_t x : r) AXON_CHECK(x >= 1, op, "{} must be positive, got {}", what, x);
  return r;
}

}  // namespace

void conv_check_operands(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) {
  check_defined(op, a, a_name);
  check_defined(op, b, b_name);
  same_device(op, {&a, &b});
  AXON_CHECK(is_floating(a.dtype()), op, "{} must be floating point, got {}", a_name, describe(a));
  AXON_CHECK(a.dtype() == b.dtype(), op, "{} {} and {} {} must have the same dtype", a_name, describe(a), b_name,
             describe(b));
}

Tensor grad_as_dtype(const Tensor& g, DType dt) { return g.dtype() == dt ? g : cast(g, dt); }

kernels::ConvGeometry conv_geometry(const Shape& in, const Shape& k, const ConvOptions& o, const char* op) {
  const int64_t rank = static_cast<int64_t>(in.size());
  AXON_CHECK(rank >= 3 && rank <= 2 + kernels::kConvMaxDims, op,
             "input {} must have rank 3, 4 or 5 (batch, 1 to 3 spatial dims, channels)", to_string(in));
  AXON_CHECK(static_cast<int64_t>(k.size()) == rank, op, "kernel {} must have the input's rank {} (input {})",
             to_string(k), rank, to_string(in));
  const int nd = static_cast<int>(rank - 2);
  const bool last = o.channels == Channels::last;
  kernels::ConvGeometry g;
  g.nd = nd;
  g.batch = in[0];
  g.channels = last ? in[rank - 1] : in[1];
  const int64_t kin = last ? k[rank - 2] : k[1];
  g.out_channels = last ? k[rank - 1] : k[0];
  g.groups = o.feature_group_size;
  AXON_CHECK(g.groups >= 1, op, "feature_group_size must be positive, got {}", g.groups);
  AXON_CHECK(g.channels == kin * g.groups, op,
             "input {} has {} channels but kernel {} expects {} ({} per group x {} groups){}", to_string(in),
             g.channels, to_string(k), kin * g.groups, kin, g.groups,
             last ? "" : " (channels first: input [N, C, ...], kernel [Cout, C/groups, ...])");
  AXON_CHECK(g.out_channels % g.groups == 0, op,
             "feature_group_size {} does not divide the kernel {}'s {} output channels", g.groups,
             to_string(k), g.out_channels);

  const auto strides = per_dim(o.strides, nd, "strides", op);
  const auto idil = per_dim(o.input_dilation, nd, "input_dilation", op);
  const auto kdil = per_dim(o.kernel_dilation, nd, "kernel_dilation", op);
  if (o.padding.mode == PaddingMode::explicit_pads)
    AXON_CHECK(static_cast<int>(o.padding.pads.size()) == nd, op,
               "explicit padding has {} (lo, hi) pairs for input {} with {} spatial dimensions",
               o.padding.pads.size(), to_string(in), nd);
  for (int d = 0; d < nd; ++d) {
    const int64_t din = last ? in[1 + d] : in[2 + d];
    const int64_t kd = last ? k[d] : k[2 + d];
    AXON_CHECK(kd >= 1, op, "kernel {} has an empty spatial dimension", to_string(k));
    g.in[d] = din;
    g.kernel[d] = kd;
    g.stride[d] = strides[d];
    g.in_dil[d] = idil[d];
    g.k_dil[d] = kdil[d];
    const int64_t din_dil = din == 0 ? 0 : (din - 1) * idil[d] + 1;
    const int64_t keff = (kd - 1) * kdil[d] + 1;
    int64_t lo = 0, hi = 0;
    if (o.padding.mode == PaddingMode::same) {
      const int64_t out = (din_dil + strides[d] - 1) / strides[d];
      const int64_t total = std::max<int64_t>((out - 1) * strides[d] + keff - din_dil, 0);
      lo = total / 2;
      hi = total - lo;
    } else if (o.padding.mode == PaddingMode::explicit_pads) {
      lo = o.padding.pads[static_cast<size_t>(d)].first;
      hi = o.padding.pads[static_cast<size_t>(d)].second;
    }
    g.pad_lo[d] = lo;
    g.pad_hi[d] = hi;
    const int64_t padded = din_dil + lo + hi;
    AXON_CHECK(
        padded >= keff, op,
        "the window of kernel {} (effective size {} in spatial dim {}) is larger than the padded input "
        "({} after dilation and padding ({}, {})) of input {}",
        to_string(k), keff, d, padded, lo, hi, to_string(in));
    g.out[d] = (padded - keff) / strides[d] + 1;
  }
  return g;
}

Shape conv_output_shape(const kernels::ConvGeometry& g, Channels ch) {
  Shape s{g.batch};
  if (ch == Channels::first) s.push_back(g.out_channels);
  for (int d = 0; d < g.nd; ++d) s.push_back(g.out[d]);
  if (ch == Channels::last) s.push_back(g.out_channels);
  return s;
}

Tensor input_to_last(const Tensor& x, Channels ch) {
  if (ch == Channels::last) return x;
  std::vector<int64_t> order{0};
  for (int64_t d = 2; d < x.dim(); ++d) order.push_back(d);
  order.push_back(1);
  return x.permute(order);
}

Tensor output_from_last(const Tensor& y, Channels ch) {
  if (ch == Channels::last) return y;
  std::vector<int64_t> order{0, y.dim() - 1};
  for (int64_t d = 1; d < y.dim() - 1; ++d) order.push_back(d);
  return y.permute(order);
}

Tensor kernel_to_last(const Tensor& w, Channels ch) {
  if (ch == Channels::last) return w;
  std::vector<int64_t> order;
  for (int64_t d = 2; d < w.dim(); ++d) order.push_back(d);
  order.push_back(1);
  order.push_back(0);
  return w.permute(order);
}

Tensor kernel_from_last(const Tensor& w, Channels ch) {
  if (ch == Channels::last) return w;
  const int64_t nd = w.dim() - 2;
  std::vector<int64_t> order{nd + 1, nd};
  for (int64_t d = 0; d < nd; ++d) order.push_back(d);
  return w.permute(order);
}

}  // namespace axon::detail
