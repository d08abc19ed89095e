// CPU direct max pooling: per output pixel, the window's cells are visited once and the channel
// loop runs innermost over contiguous memory.
#include <axon/kernels/pool.hpp>
#include <axon/kernels/scalar.hpp>
#include <limits>
#include <vector>

namespace axon::kernels::cpu {

namespace {
template <class T>
void forward(const T* x, T* y, int64_t* index, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = g.in[0] * g.in[1] * g.in[2];
  std::vector<A> best(static_cast<size_t>(C));
  int64_t o = 0;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          int64_t* idx = index + o * C;
          for (int64_t c = 0; c < C; ++c) {
            best[c] = -std::numeric_limits<A>::infinity();
            idx[c] = -1;
          }
          for (int64_t i = 0; i < g.window[0]; ++i) {
            int64_t d = od * g.stride[0] + i * g.dilation[0] - g.pad_lo[0];
            if (d < 0 || d >= g.in[0]) continue;
            for (int64_t j = 0; j < g.window[1]; ++j) {
              int64_t h = oh * g.stride[1] + j * g.dilation[1] - g.pad_lo[1];
              if (h < 0 || h >= g.in[1]) continue;
              for (int64_t k = 0; k < g.window[2]; ++k) {
                int64_t w = ow * g.stride[2] + k * g.dilation[2] - g.pad_lo[2];
                if (w < 0 || w >= g.in[2]) continue;
                int64_t sp = (d * g.in[1] + h) * g.in[2] + w;
                const T* xp = x + (n * in_sp + sp) * C;
                for (int64_t c = 0; c < C; ++c) {
                  A v = convert<A>(xp[c]);
                  // First hit always wins (so an all -inf window still points at a cell); NaN sticks.
                  if (idx[c] < 0 || v > best[c] || (v != v && best[c] == best[c])) {
                    best[c] = v;
                    idx[c] = sp;
                  }
                }
              }
            }
          }
          T* yp = y + o * C;
          for (int64_t c = 0; c < C; ++c) yp[c] = convert<T>(best[c]);
        }
}
template <class T>
void backward(const T* dy, const int64_t* index, T* dx, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = g.in[0] * g.in[1] * g.in[2], out_sp = g.out[0] * g.out[1] * g.out[2];
  std::vector<A> acc(static_cast<size_t>(in_sp * C));
  for (int64_t n = 0; n < g.n; ++n) {
    std::fill(acc.begin(), acc.end(), A(0));
    const T* dyn = dy + n * out_sp * C;
    const int64_t* ixn = index + n * out_sp * C;
    for (int64_t e = 0; e < out_sp * C; ++e)
      if (ixn[e] >= 0) acc[static_cast<size_t>(ixn[e] * C + e % C)] += convert<A>(dyn[e]);
    T* dxn = dx + n * in_sp * C;
    for (int64_t e = 0; e < in_sp * C; ++e) dxn[e] = convert<T>(acc[static_cast<size_t>(e)]);
  }
}
}  // namespace

void max_pool_backward(DType dt, const void* dy, const int64_t* index, void* dx, const PoolGeometry& g) {
  if (g.n * g.c * g.in[0] * g.in[1] * g.in[2] == 0) return;
  AXON_DISPATCH_FLOAT(dt, "max_pool_backward",
                      backward(static_cast<const scalar_t*>(dy), index, static_cast<scalar_t*>(dx), g));
}

void max_pool_forward(DType dt, const void* x, void* y, int64_t* index, const PoolGeometry& g) {
  if (g.n * g.c * g.out[0] * g.out[1] * g.out[2] == 0) return;
  AXON_DISPATCH_FLOAT(dt, "max_pool",
                      forward(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), index, g));
}

}  // namespace axon::kernels::cpu
