// resize with jax.image semantics: nearest is a take of floor((i + 0.5) * in / out); the kernel
// methods are jax.image.scale_and_translate's separable weight matrices (built here in f64 on the
// host, one [in, out] matrix per spatial axis) applied with matmul, so the gradient is the transposed
// matrix product.
#include <axon/layers/shape.hpp>
#include <axon/ops.hpp>
#include <cmath>

namespace axon::layers {

namespace {
constexpr double kPi = 3.14159265358979323846;

double kernel_value(ResizeMethod m, double x) {
  x = std::abs(x);
  switch (m) {
    case ResizeMethod::bilinear:
      return std::max(0.0, 1.0 - x);
    case ResizeMethod::bicubic: {  // Keys, a = -0.5
      const double a = -0.5;
      if (x >= 2) return 0;
      if (x >= 1) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
      return ((a + 2) * x - (a + 3)) * x * x + 1;
    }
    case ResizeMethod::lanczos3:
    case ResizeMethod::lanczos5: {
      const double r = m == ResizeMethod::lanczos3 ? 3 : 5;
      if (x > r) return 0;
      if (x <= 1e-3) return 1;
      return r * std::sin(kPi * x) * std::sin(kPi * x / r) / (kPi * kPi * x * x);
    }
    default:
      return 0;
  }
}

// jax.image _compute_weight_mat with scale = out / in and no translation: [in, out].
std::vector<double> weight_matrix(ResizeMethod m, int64_t in, int64_t out, bool antialias) {
  const double inv_scale = double(in) / double(out);
  const double kscale = antialias ? std::max(inv_scale, 1.0) : 1.0;
  std::vector<double> w(static_cast<size_t>(in * out), 0.0);
  for (int64_t j = 0; j < out; ++j) {
    const double sample = (j + 0.5) * inv_scale - 0.5;
    if (sample < -0.5 || sample > in - 0.5) continue;
    double total = 0;
    for (int64_t i = 0; i < in; ++i) total += kernel_value(m, (sample - i) / kscale);
    if (std::abs(total) <= 1000.0 * 1.1920928955078125e-07) continue;
    for (int64_t i = 0; i < in; ++i)
      w[static_cast<size_t>(i * out + j)] = kernel_value(m, (sample - i) / kscale) / total;
  }
  return w;
}
}  // namespace

Tensor resize(const Tensor& x, ResizeOptions o) {
  AXON_CHECK(x.defined() && x.dim() == 4, "resize", "the input must have rank 4, got {}",
             x.defined() ? describe(x) : std::string("undefined"));
  AXON_CHECK(is_floating(x.dtype()), "resize", "the input must be floating, got {}", describe(x));
  AXON_CHECK(o.size.size() == 2 && o.size[0] > 0 && o.size[1] > 0, "resize",
             "size must hold two positive values (the output's height and width)");
  const int64_t ax[2] = {o.channels == Channels::last ? 1 : 2, o.channels == Channels::last ? 2 : 3};
  Tensor y = x;
  for (int i = 0; i < 2; ++i) {
    const int64_t a = ax[i], in = x.size(a), out = o.size[static_cast<size_t>(i)];
    if (in == out) continue;  // every method is the identity then (weights are a unit matrix)
    AXON_CHECK(in > 0, "resize", "cannot resize an empty spatial axis of {}", describe(x));
    if (o.method == ResizeMethod::nearest) {
      std::vector<int64_t> idx(static_cast<size_t>(out));
      for (int64_t j = 0; j < out; ++j)
        idx[static_cast<size_t>(j)] =
            std::min<int64_t>(in - 1, static_cast<int64_t>(std::floor((j + 0.5) * in / out)));
      y = take(y, from_vector(idx, {out}, x.device()), a);
      continue;
    }
    auto wv = weight_matrix(o.method, in, out, o.antialias);
    Tensor w = cast(from_vector(wv, {in, out}, x.device()), x.dtype());
    // Move the axis last, contract with the weights, move it back.
    y = transpose(matmul(transpose(y, a, 3), w), a, 3);
  }
  return y.is_contiguous() ? y : contiguous(y);
}

}  // namespace axon::layers
