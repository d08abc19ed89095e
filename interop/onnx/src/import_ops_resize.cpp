// ONNX Resize for onnx::import_model: separable, one weight matrix [out, in] per resized axis built
// from ONNX's formulas (coordinate transformation, nearest rounding, linear / cubic taps with edge
// clamping or exclude_outside), applied as a matmul along that axis, so it is exact and differentiable.
#include <cmath>

#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Outs = std::vector<Tensor>;

struct ResizeMode {
  std::string mode, transform, nearest;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// Where output index i samples the input along an axis of `in` cells resized to `out` with `scale`.
double source_coordinate(const ResizeMode& m, double i, int64_t in, int64_t out, double scale) {
  if (m.transform == "half_pixel") return (i + 0.5) / scale - 0.5;
  if (m.transform == "pytorch_half_pixel") return out > 1 ? (i + 0.5) / scale - 0.5 : 0.0;
  if (m.transform == "align_corners") return out == 1 ? 0.0 : i * static_cast<double>(in - 1) / static_cast<double>(out - 1);
  if (m.transform == "asymmetric") return i / scale;
  return (i + 0.5) / scale;  // tf_half_pixel_for_nn
}

int64_t round_nearest(const ResizeMode& m, double x) {
  if (m.nearest == "round_prefer_ceil") return static_cast<int64_t>(std::floor(x + 0.5));
  if (m.nearest == "floor") return static_cast<int64_t>(std::floor(x));
  if (m.nearest == "ceil") return static_cast<int64_t>(std::ceil(x));
  return static_cast<int64_t>(std::ceil(x - 0.5));  // round_prefer_floor
}

std::vector<double> cubic_coefficients(double t, double a) {
  auto far = [a](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };  // 1 < s < 2
  auto near = [a](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };      // s <= 1
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

// The [out, in] matrix of one axis.
Tensor axis_weights(const ResizeMode& m, int64_t in, int64_t out, double scale) {
  std::vector<float> w(static_cast<size_t>(out * in), 0.f);
  for (int64_t i = 0; i < out; ++i) {
    const double x = source_coordinate(m, static_cast<double>(i), in, out, scale);
    float* row = w.data() + i * in;
    if (m.mode == "nearest") {
      row[std::clamp<int64_t>(round_nearest(m, x), 0, in - 1)] = 1.f;
      continue;
    }
    const double base = std::floor(x), t = x - base;
    const std::vector<double> coeffs = m.mode == "linear" ? std::vector<double>{1 - t, t} : cubic_coefficients(t, m.cubic_a);
    const int64_t first = static_cast<int64_t>(base) - (m.mode == "linear" ? 0 : 1);
    double kept = 0;
    for (size_t k = 0; k < coeffs.size(); ++k) {
      const int64_t src = first + static_cast<int64_t>(k);
      if (m.exclude_outside && (src < 0 || src >= in)) continue;
      row[std::clamp<int64_t>(src, 0, in - 1)] += static_cast<float>(coeffs[k]);
      kept += coeffs[k];
    }
    if (m.exclude_outside && kept != 0)
      for (int64_t k = 0; k < in; ++k) row[k] = static_cast<float>(row[k] / kept);
  }
  return from_vector<float>(w, {out, in});
}

OpImpl make_resize(const Attrs& a) {
  ResizeMode m{.mode = a.s("mode", "nearest"),
               .transform = a.s("coordinate_transformation_mode", "half_pixel"),
               .nearest = a.s("nearest_mode", "round_prefer_floor"),
               .cubic_a = a.f("cubic_coeff_a", -0.75f),
               .exclude_outside = a.i("exclude_outside", 0) != 0};
  const std::string& who0 = a.who();
  AXON_CHECK(m.mode == "nearest" || m.mode == "linear" || m.mode == "cubic", kImport, "{}: mode \"{}\" is unknown", who0,
             m.mode);
  AXON_CHECK(m.transform == "half_pixel" || m.transform == "pytorch_half_pixel" || m.transform == "align_corners" ||
                 m.transform == "asymmetric" || m.transform == "tf_half_pixel_for_nn",
             kImport, "{}: coordinate_transformation_mode \"{}\" is not supported", who0, m.transform);
  AXON_CHECK(m.nearest == "round_prefer_floor" || m.nearest == "round_prefer_ceil" || m.nearest == "floor" ||
                 m.nearest == "ceil",
             kImport, "{}: nearest_mode \"{}\" is unknown", who0, m.nearest);
  a.unsupported_unless("antialias", 0);
  AXON_CHECK(a.s("keep_aspect_ratio_policy", "stretch") == "stretch", kImport,
             "{}: keep_aspect_ratio_policy other than stretch is not supported", who0);
  const std::vector<int64_t> attr_axes = a.ints("axes");
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    Tensor x = input(in, 0, who, "X");
    AXON_CHECK(x.is_floating_point(), kImport, "{}: the input must be floating point, got {}", who, describe(x));
    std::vector<int64_t> axes = attr_axes;
    if (axes.empty())
      for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
    for (int64_t& ax : axes) ax = norm_axis(ax, x.dim(), who);
    const Tensor scales_t = optional_input(in, 2), sizes_t = optional_input(in, 3);
    std::vector<double> scales;
    std::vector<int64_t> sizes;
    if (sizes_t.defined() && sizes_t.numel() > 0) {
      sizes = int_values(sizes_t, who, "sizes");
      AXON_CHECK(sizes.size() == axes.size(), kImport, "{}: {} sizes for {} axes", who, sizes.size(), axes.size());
      for (size_t k = 0; k < axes.size(); ++k) {
        AXON_CHECK(sizes[k] > 0 && sizes[k] <= (int64_t{1} << 24), kImport, "{}: size {} is out of range", who, sizes[k]);
        scales.push_back(static_cast<double>(sizes[k]) / static_cast<double>(x.shape()[axes[k]]));
      }
    } else {
      AXON_CHECK(scales_t.defined() && scales_t.numel() == static_cast<int64_t>(axes.size()), kImport,
                 "{}: either scales or sizes must give one value per axis", who);
      const std::vector<float> s = cast(scales_t, DType::f32).to(Device::cpu()).to_vector<float>();
      for (size_t k = 0; k < axes.size(); ++k) {
        const double n = std::floor(static_cast<double>(x.shape()[axes[k]]) * s[k]);
        AXON_CHECK(s[k] > 0 && n >= 1 && n <= static_cast<double>(int64_t{1} << 24), kImport,
                   "{}: scale {} is out of range", who, s[k]);
        scales.push_back(s[k]);
        sizes.push_back(static_cast<int64_t>(n));
      }
    }
    Shape resized = x.shape();
    for (size_t k = 0; k < axes.size(); ++k) resized[axes[k]] = sizes[k];
    checked_shape(resized, who);
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t ax = axes[k], n_in = x.shape()[ax];
      if (sizes[k] == n_in && scales[k] == 1.0) continue;
      const Tensor w = axis_weights(m, n_in, sizes[k], scales[k]).to(x.device());
      const Tensor moved = transpose(x, ax, x.dim() - 1);  // the axis last, resized by [.., in] x [in, out]
      x = transpose(matmul(moved, cast(w, x.dtype()).t()), ax, x.dim() - 1);
    }
    return {x.contiguous()};
  }};
}

}  // namespace

void add_resize_ops(std::map<std::string, OpFactory>& ops) { ops["Resize"] = make_resize; }

}  // namespace axon::onnx::detail
