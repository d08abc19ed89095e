// Direct CPU loops for depthwise convolutions (C/G = 1), channels last: per output pixel and tap,
// one vectorisable pass over the channels. Output channel co = c * m + j reads input channel c.
#include <algorithm>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/scalar.hpp>
#include <vector>

#include "conv_geometry.hpp"

namespace axon::kernels::cpu {

namespace {

using namespace conv_detail;

// Per-dim tables: src[d][o * k + t] = input index read by output o through tap t (or -1).
struct Taps {
  std::vector<int64_t> src[3];
  explicit Taps(const Geo3& g) {
    for (int d = 0; d < 3; ++d) {
      src[d].resize(static_cast<size_t>(g.out[d] * g.k[d]));
      for (int64_t o = 0; o < g.out[d]; ++o)
        for (int64_t t = 0; t < g.k[d]; ++t) src[d][o * g.k[d] + t] = input_index(g, d, o, t);
    }
  }
};

// Calls f(out_pixel, in_pixel, tap) for every valid (output pixel, tap) of one batch item.
template <class F>
inline void for_each_tap(const Geo3& g, const Taps& taps, int64_t o0, int64_t o1, int64_t o2, F f) {
  int64_t kk = 0;
  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
    const int64_t i0 = taps.src[0][o0 * g.k[0] + k0];
    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
      const int64_t i1 = taps.src[1][o1 * g.k[1] + k1];
      for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++kk) {
        const int64_t i2 = taps.src[2][o2 * g.k[2] + k2];
        if (i0 < 0 || i1 < 0 || i2 < 0) continue;
        f((i0 * g.in[1] + i1) * g.in[2] + i2, kk);
      }
    }
  }
}

template <class T>
void forward_impl(const T* x, const T* w, T* y, const Geo3& g, int64_t batch, int64_t cout) {
  using A = acc_t<T>;
  const int64_t m = cout / g.C, in_px = g.in[0] * g.in[1] * g.in[2];
  const Taps taps(g);
  std::vector<A> wf(static_cast<size_t>(g.K * cout));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = convert<A>(w[i]);
  parallel_items(0, batch, g.O * g.K * cout, [&](int64_t nb, int64_t ne) {
    std::vector<A> acc(static_cast<size_t>(cout));
    for (int64_t n = nb; n < ne; ++n) {
      const T* xn = x + n * in_px * g.C;
      T* yp = y + n * g.O * cout;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, yp += cout) {
            std::fill(acc.begin(), acc.end(), A(0));
            for_each_tap(g, taps, o0, o1, o2, [&](int64_t ip, int64_t kk) {
              const T* xp = xn + ip * g.C;
              const A* wk = wf.data() + kk * cout;
              A* a = acc.data();
              if (m == 1) {
                for (int64_t c = 0; c < g.C; ++c) a[c] += convert<A>(xp[c]) * wk[c];
              } else {
                for (int64_t c = 0; c < g.C; ++c) {
                  const A xv = convert<A>(xp[c]);
                  for (int64_t j = 0; j < m; ++j) a[c * m + j] += xv * wk[c * m + j];
                }
              }
            });
            for (int64_t co = 0; co < cout; ++co) yp[co] = convert<T>(acc[static_cast<size_t>(co)]);
          }
    }
  });
}

template <class T>
void backward_data_impl(const T* dy, const T* w, T* dx, const Geo3& g, int64_t batch, int64_t cout) {
  using A = acc_t<T>;
  const int64_t m = cout / g.C, in_px = g.in[0] * g.in[1] * g.in[2];
  std::vector<int64_t> dst[3];
  for (int d = 0; d < 3; ++d) {
    dst[d].resize(static_cast<size_t>(g.in[d] * g.k[d]));
    for (int64_t i = 0; i < g.in[d]; ++i)
      for (int64_t t = 0; t < g.k[d]; ++t) dst[d][i * g.k[d] + t] = output_index(g, d, i, t);
  }
  std::vector<A> wf(static_cast<size_t>(g.K * cout));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = convert<A>(w[i]);
  parallel_items(0, batch, in_px * g.K * cout, [&](int64_t nb, int64_t ne) {
    std::vector<A> acc(static_cast<size_t>(g.C));
    for (int64_t n = nb; n < ne; ++n) {
      const T* dyn = dy + n * g.O * cout;
      T* dxp = dx + n * in_px * g.C;
      for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
        for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
          for (int64_t i2 = 0; i2 < g.in[2]; ++i2, dxp += g.C) {
            std::fill(acc.begin(), acc.end(), A(0));
            for_each_reader(g, dst, i0, i1, i2, [&](int64_t kk, int64_t o) {
              const T* gp = dyn + o * cout;
              const A* wk = wf.data() + kk * cout;
              A* a = acc.data();
              if (m == 1) {
                for (int64_t c = 0; c < g.C; ++c) a[c] += convert<A>(gp[c]) * wk[c];
              } else {
                for (int64_t c = 0; c < g.C; ++c)
                  for (int64_t j = 0; j < m; ++j) a[c] += convert<A>(gp[c * m + j]) * wk[c * m + j];
              }
            });
            for (int64_t c = 0; c < g.C; ++c) dxp[c] = convert<T>(acc[static_cast<size_t>(c)]);
          }
    }
  });
}

template <class T>
void backward_filter_impl(const T* x, const T* dy, T* dw, const Geo3& g, int64_t batch, int64_t cout) {
  using A = acc_t<T>;
  const int64_t m = cout / g.C, in_px = g.in[0] * g.in[1] * g.in[2];
  const Taps taps(g);
  // One accumulator per slot (a fixed share of the batch), summed at the end in slot order.
  const bool threaded = batch > 1 && batch * g.O * g.K * cout >= (int64_t(1) << 16);
  const int64_t nt = threaded ? std::min<int64_t>(num_threads(), batch) : 1;
  std::vector<std::vector<A>> parts(static_cast<size_t>(nt),
                                    std::vector<A>(static_cast<size_t>(g.K * cout), A(0)));
  const int64_t per = (batch + nt - 1) / nt;
  auto work = [&](int64_t t) {
    A* accw = parts[static_cast<size_t>(t)].data();
    const int64_t nb = t * per, ne = std::min(batch, nb + per);
    for (int64_t n = nb; n < ne; ++n) {
      const T* xn = x + n * in_px * g.C;
      const T* gp = dy + n * g.O * cout;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, gp += cout) {
            for_each_tap(g, taps, o0, o1, o2, [&](int64_t ip, int64_t kk) {
              const T* xp = xn + ip * g.C;
              A* a = accw + kk * cout;
              if (m == 1) {
                for (int64_t c = 0; c < g.C; ++c) a[c] += convert<A>(xp[c]) * convert<A>(gp[c]);
              } else {
                for (int64_t c = 0; c < g.C; ++c) {
                  const A xv = convert<A>(xp[c]);
                  for (int64_t j = 0; j < m; ++j) a[c * m + j] += xv * convert<A>(gp[c * m + j]);
                }
              }
            });
          }
    }
  };
  parallel_for(nt, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) work(t);
  });
  for (int64_t i = 0; i < g.K * cout; ++i) {
    A s = 0;
    for (int64_t t = 0; t < nt; ++t) s += parts[static_cast<size_t>(t)][static_cast<size_t>(i)];
    dw[i] = convert<T>(s);
  }
}

}  // namespace

void depthwise_forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& geo) {
  if (geo.batch * geo.out_pixels() * geo.out_channels == 0) return;
  const Geo3 g = to3(geo);
  AXON_DISPATCH_FLOAT(dt, "depthwise_conv", {
    forward_impl(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w), static_cast<scalar_t*>(y),
                 g, geo.batch, geo.out_channels);
  });
}

void depthwise_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& geo) {
  if (geo.batch * geo.in_pixels() * geo.channels == 0) return;
  const Geo3 g = to3(geo);
  AXON_DISPATCH_FLOAT(dt, "depthwise_conv", {
    backward_data_impl(static_cast<const scalar_t*>(dy), static_cast<const scalar_t*>(w),
                       static_cast<scalar_t*>(dx), g, geo.batch, geo.out_channels);
  });
}

void depthwise_backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& geo) {
  if (geo.kernel_pixels() * geo.out_channels == 0) return;
  const Geo3 g = to3(geo);
  AXON_DISPATCH_FLOAT(dt, "depthwise_conv", {
    backward_filter_impl(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(dy),
                         static_cast<scalar_t*>(dw), g, geo.batch, geo.out_channels);
  });
}

}  // namespace axon::kernels::cpu
