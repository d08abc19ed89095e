// CPU direct max pooling, batch items split across the kernels' threads. Per output pixel the
// window's valid cells are listed once; the channel loop runs innermost over contiguous memory as a
// branch-free select (which cell wins per channel is data-dependent: branches would mispredict).
#include <axon/kernels/pool.hpp>
#include <axon/kernels/scalar.hpp>
#include <limits>
#include <type_traits>
#include <vector>

#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {

int64_t in_spatial(const PoolGeometry& g) { return g.in[0] * g.in[1] * g.in[2]; }
int64_t out_spatial(const PoolGeometry& g) { return g.out[0] * g.out[1] * g.out[2]; }

// Batch items per part: enough elements that a part pays for a thread.
int64_t item_grain(int64_t elems_per_item) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(elems_per_item, 1));
}

// y[c] = the maximum over the window's cells of x[cell * C + c], with the kernel's NaN rule; the
// inference path of f32 (no argmax), built for AVX2 / AVX-512 too. Eight channels at a time in
// vector registers, selected with a blend: written as a scalar loop, GCC turns the select into a
// masked store, which AMD's cores run several times slower than this whole kernel.
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4), may_alias));
AXON_VM_CLONES void window_max_f32(const float* x, const int64_t* cells, int64_t nc, int64_t C, float* y) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    v8f best = *reinterpret_cast<const v8fu*>(x + cells[0] * C + c);
    for (int64_t j = 1; j < nc; ++j) {
      const v8f v = *reinterpret_cast<const v8fu*>(x + cells[j] * C + c);
      best = (~(v <= best) & (best == best)) ? v : best;
    }
    *reinterpret_cast<v8fu*>(y + c) = best;
  }
  for (; c < C; ++c) {
    float best = x[cells[0] * C + c];
    for (int64_t j = 1; j < nc; ++j) {
      const float v = x[cells[j] * C + c];
      best = !(v <= best) && best == best ? v : best;
    }
    y[c] = best;
  }
}

template <class T>
void forward(const T* x, T* y, int64_t* index, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = in_spatial(g), out_sp = out_spatial(g);
  const int64_t wsize = g.window[0] * g.window[1] * g.window[2];
  parallel_for(g.n, item_grain(out_sp * C * wsize), [&](int64_t n0, int64_t n1) {
    std::vector<A> best(static_cast<size_t>(C));
    std::vector<int32_t> arg(static_cast<size_t>(C));  // the winning entry of `cells`
    std::vector<int64_t> cells(static_cast<size_t>(wsize));
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * in_sp * C;
      int64_t o = n * out_sp;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
            int64_t nc = 0;  // the window's cells inside the input, in window order
            for (int64_t i = 0; i < g.window[0]; ++i) {
              const int64_t d = od * g.stride[0] + i * g.dilation[0] - g.pad_lo[0];
              if (d < 0 || d >= g.in[0]) continue;
              for (int64_t j = 0; j < g.window[1]; ++j) {
                const int64_t h = oh * g.stride[1] + j * g.dilation[1] - g.pad_lo[1];
                if (h < 0 || h >= g.in[1]) continue;
                for (int64_t k = 0; k < g.window[2]; ++k) {
                  const int64_t w = ow * g.stride[2] + k * g.dilation[2] - g.pad_lo[2];
                  if (w >= 0 && w < g.in[2]) cells[static_cast<size_t>(nc++)] = (d * g.in[1] + h) * g.in[2] + w;
                }
              }
            }
            T* yp = y + o * C;
            int64_t* idx = index ? index + o * C : nullptr;
            if (nc == 0) {
              for (int64_t c = 0; c < C; ++c) {
                yp[c] = convert<T>(-std::numeric_limits<A>::infinity());
                if (idx) idx[c] = -1;
              }
              continue;
            }
            // The first cell wins until a later one is greater, or is NaN while the best is not
            // (NaN propagates and then sticks): take = !(v <= best) && best == best.
            A* b = best.data();
            int32_t* a = arg.data();
            const T* x0 = xn + cells[0] * C;
            for (int64_t c = 0; c < C; ++c) {
              b[c] = convert<A>(x0[c]);
              a[c] = 0;
            }
            if constexpr (std::is_same_v<T, float>) {
              if (!index) {
                window_max_f32(xn, cells.data(), nc, C, yp);
                continue;
              }
            }
            if (!index) {  // inference: the max alone, with the same NaN rule
              for (int64_t j = 1; j < nc; ++j) {
                const T* xp = xn + cells[static_cast<size_t>(j)] * C;
                for (int64_t c = 0; c < C; ++c) {
                  const A v = convert<A>(xp[c]), cur = b[c];
                  b[c] = !(v <= cur) && cur == cur ? v : cur;
                }
              }
              for (int64_t c = 0; c < C; ++c) yp[c] = convert<T>(b[c]);
              continue;
            }
            for (int64_t j = 1; j < nc; ++j) {
              const T* xp = xn + cells[static_cast<size_t>(j)] * C;
              const int32_t jj = static_cast<int32_t>(j);
              for (int64_t c = 0; c < C; ++c) {
                const A v = convert<A>(xp[c]), cur = b[c];
                const bool take = !(v <= cur) && cur == cur;
                b[c] = take ? v : cur;
                a[c] = take ? jj : a[c];
              }
            }
            for (int64_t c = 0; c < C; ++c) {
              yp[c] = convert<T>(b[c]);
              idx[c] = cells[static_cast<size_t>(a[c])];
            }
          }
    }
  });
}

template <class T>
void backward(const T* dy, const int64_t* index, T* dx, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = in_spatial(g), out_sp = out_spatial(g);
  parallel_for(g.n, item_grain((in_sp + out_sp) * C), [&](int64_t n0, int64_t n1) {
    // f32 / f64 accumulate in dx itself; 16-bit floats in an f32 buffer per item.
    constexpr bool direct = std::is_same_v<A, T>;
    std::vector<A> buf(direct ? 0 : static_cast<size_t>(in_sp * C));
    for (int64_t n = n0; n < n1; ++n) {
      A* acc = direct ? reinterpret_cast<A*>(dx + n * in_sp * C) : buf.data();
      std::fill(acc, acc + in_sp * C, A(0));
      const T* dyp = dy + n * out_sp * C;
      const int64_t* ixp = index + n * out_sp * C;
      for (int64_t o = 0; o < out_sp; ++o, dyp += C, ixp += C)
        for (int64_t c = 0; c < C; ++c)
          if (ixp[c] >= 0) acc[ixp[c] * C + c] += convert<A>(dyp[c]);
      if constexpr (!direct) {
        T* dxn = dx + n * in_sp * C;
        for (int64_t e = 0; e < in_sp * C; ++e) dxn[e] = convert<T>(acc[static_cast<size_t>(e)]);
      }
    }
  });
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
