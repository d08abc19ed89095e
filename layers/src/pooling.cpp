// max_pool with 1-3 spatial axes runs the direct kernel (core/src/ops/pool.cpp). The other pools are
// composites: pad the spatial axes, then combine one strided slice per window offset (add, or maximum
// beyond 3 spatial axes), so every option combination is one code path and the gradient comes from
// the slice and elementwise ops.
#include <axon/autograd.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/ops.hpp>
#include <axon/pool_ops.hpp>
#include <cmath>
#include <limits>

namespace axon::layers {

namespace {
enum class Kind { max, avg, lp };

std::vector<int64_t> spatial_axes(const char* op, const Tensor& x, Channels ch) {
  AXON_CHECK(x.defined(), op, "the input must be defined");
  AXON_CHECK(x.dim() >= 3, op, "the input must have rank >= 3 ([batch, spatial..., channels]), got {}",
             describe(x));
  AXON_CHECK(is_floating(x.dtype()), op, "the input must be floating, got {}", describe(x));
  std::vector<int64_t> s;
  for (int64_t d = 0; d < x.dim() - 2; ++d) s.push_back(ch == Channels::last ? 1 + d : 2 + d);
  return s;
}

std::vector<int64_t> per_axis(const char* op, const char* what, std::vector<int64_t> v, size_t n,
                              int64_t dflt, const Tensor& x) {
  if (v.empty()) v.assign(n, dflt);
  if (v.size() == 1 && n > 1) v.assign(n, v[0]);
  AXON_CHECK(v.size() == n, op, "{} has {} values for the {} spatial axes of {}", what, v.size(), n,
             describe(x));
  for (int64_t a : v) AXON_CHECK(a > 0, op, "{} must be positive, got {}", what, a);
  return v;
}

// The axis orders that move the channel axis of a channels-first tensor of this rank last, and back.
std::pair<std::vector<int64_t>, std::vector<int64_t>> channel_orders(int64_t rank) {
  std::vector<int64_t> to_last{0}, to_first{0, rank - 1};
  for (int64_t d = 2; d < rank; ++d) to_last.push_back(d);
  to_last.push_back(1);
  for (int64_t d = 1; d < rank - 1; ++d) to_first.push_back(d);
  return {to_last, to_first};
}

// with_cudnn: false for the composite itself (the reference cuDNN is measured against).
Tensor pool(const char* op, Kind kind, const Tensor& x, const PoolOptions& o, bool with_cudnn = true) {
  auto sp = spatial_axes(op, x, o.channels);
  const size_t n = sp.size();
  AXON_CHECK(!o.kernel_size.empty(), op, "kernel_size is required");
  auto k = per_axis(op, "kernel_size", o.kernel_size, n, 1, x);
  auto st = o.strides.empty() ? k : per_axis(op, "strides", o.strides, n, 1, x);
  auto dil = per_axis(op, "window_dilations", o.window_dilations, n, 1, x);
  if (kind == Kind::lp) AXON_CHECK(o.norm > 0, op, "norm must be positive, got {}", o.norm);
  std::vector<std::pair<int64_t, int64_t>> pads(static_cast<size_t>(x.dim()), {0, 0});
  std::vector<int64_t> out(n), eff(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = x.size(sp[i]);
    eff[i] = (k[i] - 1) * dil[i] + 1;
    std::pair<int64_t, int64_t> p{0, 0};
    if (o.padding.mode == PaddingMode::same) {
      int64_t o_sz = (in + st[i] - 1) / st[i];
      int64_t total = std::max<int64_t>((o_sz - 1) * st[i] + eff[i] - in, 0);
      p = {total / 2, total - total / 2};
    } else if (o.padding.mode == PaddingMode::explicit_pads) {
      AXON_CHECK(o.padding.pads.size() == n, op, "{} padding pairs given for the {} spatial axes of {}",
                 o.padding.pads.size(), n, describe(x));
      p = o.padding.pads[i];
      AXON_CHECK(p.first >= 0 && p.second >= 0, op, "padding must be >= 0, got ({}, {})", p.first, p.second);
    }
    pads[static_cast<size_t>(sp[i])] = p;
    const int64_t padded = in + p.first + p.second;
    AXON_CHECK(padded >= eff[i], op,
               "window {} (dilated extent {}) is larger than the padded input ({} on spatial axis {}) of {}",
               k[i], eff[i], padded, i, describe(x));
    out[i] = (padded - eff[i]) / st[i] + 1;
  }
  std::vector<std::pair<int64_t, int64_t>> sp_pads;  // the spatial axes' (lo, hi)
  for (size_t i = 0; i < n; ++i) sp_pads.push_back(pads[static_cast<size_t>(sp[i])]);
  if (kind == Kind::max && n <= 3) {
    // Direct kernel (argmax-scatter backward) on a channels-last view.
    if (o.channels == Channels::last) return max_pool_nhwc(x, k, st, dil, sp_pads);
    const auto [to_last, to_first] = channel_orders(x.dim());
    return permute(max_pool_nhwc(permute(x, to_last), k, st, dil, sp_pads), to_first);
  }
  bool dilated = false;
  for (int64_t v : dil) dilated |= v != 1;
  if (kind == Kind::avg && n <= 3 && !dilated && x.is_cuda() && with_cudnn) {
    // cuDNN's average pooling where it is the faster path for the shape, measured once against this
    // composite (run on the same channels-last view, untracked).
    PoolOptions last = o;
    last.channels = Channels::last;
    last.padding = Padding(sp_pads);
    const bool first = o.channels == Channels::first;
    const auto [to_last, to_first] = channel_orders(x.dim());
    const Tensor xl = first ? permute(x, to_last) : x;
    Tensor y = avg_pool_nhwc_cudnn(xl, k, st, sp_pads, [&] {
      NoGrad ng;
      (void)pool(op, kind, xl, last, false);
    });
    if (y.defined()) return first ? permute(y, to_first) : y;
  }
  Tensor src = kind == Kind::lp ? pow(x, Scalar(o.norm)) : x;
  const double fill = kind == Kind::max ? -std::numeric_limits<double>::infinity() : 0.0;
  bool any_pad = false;
  for (auto& p : pads) any_pad |= p.first || p.second;
  if (any_pad) src = axon::pad(src, pads, Scalar(fill));
  Tensor acc;
  std::vector<int64_t> off(n, 0);
  while (true) {
    Tensor w = src;
    for (size_t i = 0; i < n; ++i) {
      int64_t start = off[i] * dil[i];
      w = slice(w, sp[i], start, start + (out[i] - 1) * st[i] + 1, st[i]);
    }
    acc = !acc.defined() ? w : kind == Kind::max ? maximum(acc, w) : axon::add(acc, w);
    size_t i = n;
    while (i > 0 && ++off[i - 1] == k[i - 1]) off[--i] = 0;
    if (i == 0) break;
  }
  if (kind == Kind::avg) {
    int64_t count = 1;
    for (int64_t v : k) count *= v;
    return div(acc, double(count));
  }
  if (kind == Kind::lp) return pow(acc, Scalar(1.0 / o.norm));
  return acc;
}

Tensor adaptive(const char* op, Kind kind, const Tensor& x, const AdaptivePoolOptions& o) {
  auto sp = spatial_axes(op, x, o.channels);
  AXON_CHECK(!o.output_size.empty(), op, "output_size is required");
  auto os = per_axis(op, "output_size", o.output_size, sp.size(), 1, x);
  PoolOptions p;
  p.channels = o.channels;
  p.norm = o.norm;
  for (size_t i = 0; i < sp.size(); ++i) {
    const int64_t in = x.size(sp[i]);
    AXON_CHECK(os[i] <= in, op, "output_size {} is larger than the input's spatial size {} in {}", os[i], in,
               describe(x));
    int64_t stride = in / os[i];
    p.strides.push_back(stride);
    p.kernel_size.push_back(in - (os[i] - 1) * stride);
  }
  return pool(op, kind, x, p);
}

Tensor global(const char* op, Kind kind, const Tensor& x, const GlobalPoolOptions& o) {
  auto sp = spatial_axes(op, x, o.channels);
  Axes axes(sp.begin(), sp.end());
  if (kind == Kind::max) return max(x, axes, o.keep_axes);
  if (kind == Kind::avg) return mean(x, axes, o.keep_axes);
  AXON_CHECK(o.norm > 0, op, "norm must be positive, got {}", o.norm);
  return pow(sum(pow(x, Scalar(o.norm)), axes, o.keep_axes), Scalar(1.0 / o.norm));
}
}  // namespace

Tensor max_pool(const Tensor& x, PoolOptions o) { return pool("max_pool", Kind::max, x, o); }
Tensor avg_pool(const Tensor& x, PoolOptions o) { return pool("avg_pool", Kind::avg, x, o); }
Tensor lp_pool(const Tensor& x, PoolOptions o) { return pool("lp_pool", Kind::lp, x, o); }

Tensor adaptive_avg_pool(const Tensor& x, AdaptivePoolOptions o) {
  return adaptive("adaptive_avg_pool", Kind::avg, x, o);
}
Tensor adaptive_max_pool(const Tensor& x, AdaptivePoolOptions o) {
  return adaptive("adaptive_max_pool", Kind::max, x, o);
}
Tensor adaptive_lp_pool(const Tensor& x, AdaptivePoolOptions o) {
  return adaptive("adaptive_lp_pool", Kind::lp, x, o);
}

Tensor global_avg_pool(const Tensor& x, GlobalPoolOptions o) {
  return global("global_avg_pool", Kind::avg, x, o);
}
Tensor global_max_pool(const Tensor& x, GlobalPoolOptions o) {
  return global("global_max_pool", Kind::max, x, o);
}
Tensor global_lp_pool(const Tensor& x, GlobalPoolOptions o) {
  return global("global_lp_pool", Kind::lp, x, o);
}

Tensor blur_pool(const Tensor& x, Channels channels) {
  AXON_CHECK(x.defined() && x.dim() == 4, "blur_pool", "the input must have rank 4, got {}",
             x.defined() ? describe(x) : std::string("undefined"));
  AXON_CHECK(is_floating(x.dtype()), "blur_pool", "the input must be floating, got {}", describe(x));
  const int64_t h = channels == Channels::last ? 1 : 2, w = h + 1;
  std::vector<std::pair<int64_t, int64_t>> pads(4, {0, 0});
  pads[static_cast<size_t>(h)] = {1, 1};
  pads[static_cast<size_t>(w)] = {1, 1};
  Tensor p = axon::pad(x, pads);
  // Separable [1, 2, 1] along each spatial axis, then / 16.
  auto blur = [](const Tensor& t, int64_t axis, int64_t len) {
    return axon::add(axon::add(slice(t, axis, 0, len), mul(slice(t, axis, 1, len + 1), 2.0)),
                     slice(t, axis, 2, len + 2));
  };
  Tensor r = blur(p, h, x.size(h));
  r = blur(r, w, x.size(w));
  return div(r, 16.0);
}

}  // namespace axon::layers
