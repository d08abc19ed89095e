// CPU im2col / col2im for channels-last convolutions: per output pixel and kernel tap, one
// contiguous run of C/G channels is copied (or zeroed where the tap falls in padding or between
// dilated input pixels). col2im gathers instead of scattering, so each dx value is summed once in
// f32/f64 and written once.
#include <algorithm>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/scalar.hpp>
#include <cstring>
#include <vector>

#include "conv_geometry.hpp"

namespace axon::kernels::cpu {

namespace conv_detail {

namespace {
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

// count runs of len values: dst + i * dst_step <- src + i * src_step. Short runs (few channels, as in
// a first layer) get a fixed-length copy the compiler unrolls.
template <int L, class T>
inline void copy_runs_fixed(T* dst, int64_t dst_step, const T* src, int64_t src_step, int64_t count) {
  for (int64_t i = 0; i < count; ++i, dst += dst_step, src += src_step)
    for (int e = 0; e < L; ++e) dst[e] = src[e];
}
template <class T>
void copy_runs(T* dst, int64_t dst_step, const T* src, int64_t src_step, int64_t count, int64_t len) {
  switch (len) {
    case 1: return copy_runs_fixed<1>(dst, dst_step, src, src_step, count);
    case 2: return copy_runs_fixed<2>(dst, dst_step, src, src_step, count);
    case 3: return copy_runs_fixed<3>(dst, dst_step, src, src_step, count);
    case 4: return copy_runs_fixed<4>(dst, dst_step, src, src_step, count);
    case 5: return copy_runs_fixed<5>(dst, dst_step, src, src_step, count);
    case 6: return copy_runs_fixed<6>(dst, dst_step, src, src_step, count);
    case 7: return copy_runs_fixed<7>(dst, dst_step, src, src_step, count);
    case 8: return copy_runs_fixed<8>(dst, dst_step, src, src_step, count);
    default:
      for (int64_t i = 0; i < count; ++i, dst += dst_step, src += src_step) copy_run(dst, src, len);
  }
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

template <class T>
void im2col_rows(const T* x, T* col, const Geo3& g, const TapTables& taps, ColLayout l, int64_t r0, int64_t r1) {
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2], rs = l.row_stride;
  // One group, unit kernel and input dilation along the last axis: the taps of a kernel row read
  // consecutive input pixels, so its valid taps are one contiguous run of (taps) x C values.
  const bool runs = g.G == 1 && g.kdil[2] == 1 && g.idil[2] == 1;
  const std::vector<int64_t>* src = taps.in;
  // Segments of consecutive rows that share (n, o0, o1); within one, each kernel row (k0, k1) is
  // copied for every o2 in turn, so the per-tap index work is done once per segment.
  for (int64_t row = r0; row < r1;) {
    const int64_t n = row / g.O, o = row % g.O;
    const int64_t o2a = o % g.out[2], o1 = (o / g.out[2]) % g.out[1], o0 = o / (g.out[2] * g.out[1]);
    const int64_t o2b = std::min(g.out[2], o2a + (r1 - row));
    const T* xn = x + n * in_px * g.C;
    T* seg = col + (row - r0) * rs;
    int64_t kk = 0;
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
      const int64_t i0 = src[0][o0 * g.k[0] + k0];
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1, kk += g.k[2]) {
        const int64_t i1 = src[1][o1 * g.k[1] + k1];
        const bool row_valid = i0 >= 0 && i1 >= 0;
        const T* xr = row_valid ? xn + (i0 * g.in[1] + i1) * g.in[2] * g.C : nullptr;
        T* dst = seg + kk * g.Cg;
        if (runs) {
          const int64_t len = g.k[2] * g.C;
          if (!row_valid) {
            for (int64_t o2 = o2a; o2 < o2b; ++o2, dst += rs) copy_run(dst, static_cast<const T*>(nullptr), len);
            continue;
          }
          // Outputs [ia, ib) read k[2] input pixels that all lie inside the input: one run each.
          const int64_t ia = std::clamp<int64_t>(floor_div(g.lo[2] + g.s[2] - 1, g.s[2]), o2a, o2b);
          const int64_t ib = std::clamp<int64_t>(floor_div(g.in[2] - g.k[2] + g.lo[2], g.s[2]) + 1, ia, o2b);
          copy_runs(dst + (ia - o2a) * rs, rs, xr + (ia * g.s[2] - g.lo[2]) * g.C, g.s[2] * g.C, ib - ia, len);
          for (int64_t o2 = o2a; o2 < o2b; ++o2, dst += rs) {
            if (o2 == ia) {  // skip the interior, done above
              dst += (ib - ia) * rs;
              o2 = ib;
              if (o2 == o2b) break;
            }
            const int64_t first = o2 * g.s[2] - g.lo[2];
            const int64_t ka = std::clamp<int64_t>(-first, 0, g.k[2]);
            const int64_t kb = std::clamp<int64_t>(g.in[2] - first, ka, g.k[2]);
            copy_run(dst, static_cast<const T*>(nullptr), ka * g.C);
            copy_run(dst + ka * g.C, xr + (first + ka) * g.C, (kb - ka) * g.C);
            copy_run(dst + kb * g.C, static_cast<const T*>(nullptr), (g.k[2] - kb) * g.C);
          }
          continue;
        }
        for (int64_t o2 = o2a; o2 < o2b; ++o2, dst += rs)
          for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
            const int64_t i2 = src[2][o2 * g.k[2] + k2];
            const T* s = row_valid && i2 >= 0 ? xr + i2 * g.C : nullptr;
            for (int64_t gi = 0; gi < g.G; ++gi)
              copy_run(dst + gi * l.group_stride + k2 * g.Cg, s ? s + gi * g.Cg : nullptr, g.Cg);
          }
      }
    }
    row += o2b - o2a;
  }
}

template <class T>
void col2im_items(const T* col, T* dx, const Geo3& g, const TapTables& taps, ColLayout l, int64_t n0, int64_t n1) {
  using A = acc_t<T>;
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2];
  const std::vector<int64_t>* dst = taps.out;
  std::vector<A> acc(static_cast<size_t>(g.C));
  for (int64_t n = n0; n < n1; ++n) {
    T* dxn = dx + n * in_px * g.C;
    const int64_t row0 = (n - n0) * g.O;
    for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
      for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
        for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
          std::fill(acc.begin(), acc.end(), A(0));
          for_each_reader(g, dst, i0, i1, i2, [&](int64_t kk, int64_t o) {
            const T* src = col + (row0 + o) * l.row_stride + kk * g.Cg;
            for (int64_t gi = 0; gi < g.G; ++gi) {
              const T* s = src + gi * l.group_stride;
              A* a = acc.data() + gi * g.Cg;
              for (int64_t c = 0; c < g.Cg; ++c) a[c] += convert<A>(s[c]);
            }
          });
          T* out = dxn + ((i0 * g.in[1] + i1) * g.in[2] + i2) * g.C;
          for (int64_t c = 0; c < g.C; ++c) out[c] = convert<T>(acc[static_cast<size_t>(c)]);
        }
  }
}

#define AXON_CONV_INSTANTIATE(T)                                                                             \
  template void im2col_rows<T>(const T*, T*, const Geo3&, const TapTables&, ColLayout, int64_t, int64_t); \
  template void col2im_items<T>(const T*, T*, const Geo3&, const TapTables&, ColLayout, int64_t, int64_t);
AXON_CONV_INSTANTIATE(float)
AXON_CONV_INSTANTIATE(double)
#undef AXON_CONV_INSTANTIATE

}  // namespace conv_detail

using namespace conv_detail;

void im2col(DType dt, const void* x, void* col, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count) {
  if (count == 0 || geo.out_pixels() == 0 || geo.channels == 0) return;
  const Geo3 g = to3(geo);
  const TapTables taps(g);
  AXON_DISPATCH_FLOAT(dt, "conv", {
    auto* xp = static_cast<const scalar_t*>(x);
    auto* cp = static_cast<scalar_t*>(col);
    parallel_items(n0, count, g.O * g.K * g.C, [&](int64_t nb, int64_t ne) {
      im2col_rows(xp, cp + (nb - n0) * g.O * l.row_stride, g, taps, l, nb * g.O, ne * g.O);
    });
  });
}

void col2im(DType dt, const void* col, void* dx, const ConvGeometry& geo, ColLayout l, int64_t n0,
            int64_t count) {
  if (count == 0 || geo.in_pixels() == 0 || geo.channels == 0) return;
  const Geo3 g = to3(geo);
  const TapTables taps(g);
  AXON_DISPATCH_FLOAT(dt, "conv", {
    auto* cp = static_cast<const scalar_t*>(col);
    auto* dp = static_cast<scalar_t*>(dx);
    parallel_items(n0, count, g.in[0] * g.in[1] * g.in[2] * g.K * g.C, [&](int64_t nb, int64_t ne) {
      col2im_items(cp + (nb - n0) * g.O * l.row_stride, dp, g, taps, l, nb, ne);
    });
  });
}

}  // namespace axon::kernels::cpu
