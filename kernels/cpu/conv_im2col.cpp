// CPU im2col / col2im for channels-last convolutions: per output pixel and kernel tap, one
// contiguous run of C/G channels is copied (or zeroed where the tap falls in padding or between
// dilated input pixels). col2im gathers instead of scattering, so each dx value is summed once in
// f32/f64 and written once.
#include <algorithm>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/scalar.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "conv_geometry.hpp"

namespace axon::kernels::cpu {

namespace {

using namespace conv_detail;

// Copies (or zeroes, src == nullptr) a run of n values; short runs inline, long ones memcpy.
template <class T>
inline void copy_run(T* dst, const T* src, int64_t n) {
  if (n >= 32) {
    if (src)
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
    else
      std::fill(dst, dst + n, T(0.0f));
    return;
  }
  if (src)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = T(0.0f);
}

template <class T>
void im2col_impl(const T* x, T* col, const Geo3& g, ColLayout l, int64_t n0, int64_t count) {
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2];
  std::vector<int64_t> src[3];
  for (int d = 0; d < 3; ++d) {
    // src[d][o * k + t]: input index (or -1) for output o, tap t: computed once, not per pixel.
    src[d].resize(static_cast<size_t>(g.out[d] * g.k[d]));
    for (int64_t o = 0; o < g.out[d]; ++o)
      for (int64_t t = 0; t < g.k[d]; ++t) src[d][o * g.k[d] + t] = input_index(g, d, o, t);
  }
  parallel_items(n0, count, g.O * g.K * g.C, [&](int64_t nb, int64_t ne) {
    for (int64_t n = nb; n < ne; ++n) {
      const T* xn = x + n * in_px * g.C;
      int64_t row = (n - n0) * g.O;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++row) {
            T* dst_row = col + row * l.row_stride;
            int64_t kk = 0;
            for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
              const int64_t i0 = src[0][o0 * g.k[0] + k0];
              for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                const int64_t i1 = src[1][o1 * g.k[1] + k1];
                for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++kk) {
                  const int64_t i2 = src[2][o2 * g.k[2] + k2];
                  const bool valid = i0 >= 0 && i1 >= 0 && i2 >= 0;
                  const T* s = valid ? xn + ((i0 * g.in[1] + i1) * g.in[2] + i2) * g.C : nullptr;
                  for (int64_t gi = 0; gi < g.G; ++gi)
                    copy_run(dst_row + gi * l.group_stride + kk * g.Cg, valid ? s + gi * g.Cg : nullptr,
                             g.Cg);
                }
              }
            }
          }
    }
  });
}

template <class T>
void col2im_impl(const T* col, T* dx, const Geo3& g, ColLayout l, int64_t n0, int64_t count) {
  using A = acc_t<T>;
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2];
  std::vector<int64_t> dst[3];
  for (int d = 0; d < 3; ++d) {
    dst[d].resize(static_cast<size_t>(g.in[d] * g.k[d]));
    for (int64_t i = 0; i < g.in[d]; ++i)
      for (int64_t t = 0; t < g.k[d]; ++t) dst[d][i * g.k[d] + t] = output_index(g, d, i, t);
  }
  parallel_items(n0, count, in_px * g.K * g.C, [&](int64_t nb, int64_t ne) {
    std::vector<A> acc(static_cast<size_t>(g.C));
    for (int64_t n = nb; n < ne; ++n) {
      T* dxn = dx + n * in_px * g.C;
      const int64_t row0 = (n - n0) * g.O;
      for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
        for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
          for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
            std::fill(acc.begin(), acc.end(), A(0));
            int64_t kk = 0;
            for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
              const int64_t o0 = dst[0][i0 * g.k[0] + k0];
              for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                const int64_t o1 = dst[1][i1 * g.k[1] + k1];
                for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++kk) {
                  const int64_t o2 = dst[2][i2 * g.k[2] + k2];
                  if (o0 < 0 || o1 < 0 || o2 < 0) continue;
                  const T* src =
                      col + (row0 + (o0 * g.out[1] + o1) * g.out[2] + o2) * l.row_stride + kk * g.Cg;
                  for (int64_t gi = 0; gi < g.G; ++gi) {
                    const T* s = src + gi * l.group_stride;
                    A* a = acc.data() + gi * g.Cg;
                    for (int64_t c = 0; c < g.Cg; ++c) a[c] += convert<A>(s[c]);
                  }
                }
              }
            }
            T* out = dxn + ((i0 * g.in[1] + i1) * g.in[2] + i2) * g.C;
            for (int64_t c = 0; c < g.C; ++c) out[c] = convert<T>(acc[static_cast<size_t>(c)]);
          }
    }
  });
}

}  // namespace

void im2col(DType dt, const void* x, void* col, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count) {
  if (count == 0 || geo.out_pixels() == 0 || geo.channels == 0) return;
  const Geo3 g = to3(geo);
  AXON_DISPATCH_FLOAT(dt, "conv", {
    im2col_impl(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(col), g, l, n0, count);
  });
}

void col2im(DType dt, const void* col, void* dx, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count) {
  if (count == 0 || geo.in_pixels() == 0 || geo.channels == 0) return;
  const Geo3 g = to3(geo);
  AXON_DISPATCH_FLOAT(dt, "conv", {
    col2im_impl(static_cast<const scalar_t*>(col), static_cast<scalar_t*>(dx), g, l, n0, count);
  });
}

}  // namespace axon::kernels::cpu
