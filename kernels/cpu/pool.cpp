// CPU direct max pooling, batch items split across the kernels' threads. Per output pixel the
// window's valid cells are listed once; the channel loop runs innermost over contiguous memory as a
// branch-free select (which cell wins per channel is data-dependent: branches would mispredict).
#include <axon/error.hpp>
#include <axon/kernels/pool.hpp>
#include <axon/kernels/scalar.hpp>
#include <cstring>
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

// The output pixel's window cells inside the input, in window order: their flat spatial indices
// (cells) and, when pos is given, their window positions; returns how many.
int64_t list_cells(const PoolGeometry& g, int64_t od, int64_t oh, int64_t ow, int64_t* cells, uint8_t* pos) {
  int64_t nc = 0;
  for (int64_t i = 0; i < g.window[0]; ++i) {
    const int64_t d = od * g.stride[0] + i * g.dilation[0] - g.pad_lo[0];
    if (d < 0 || d >= g.in[0]) continue;
    for (int64_t j = 0; j < g.window[1]; ++j) {
      const int64_t h = oh * g.stride[1] + j * g.dilation[1] - g.pad_lo[1];
      if (h < 0 || h >= g.in[1]) continue;
      for (int64_t k = 0; k < g.window[2]; ++k) {
        const int64_t w = ow * g.stride[2] + k * g.dilation[2] - g.pad_lo[2];
        if (w < 0 || w >= g.in[2]) continue;
        if (pos) pos[nc] = static_cast<uint8_t>((i * g.window[1] + j) * g.window[2] + k);
        cells[nc++] = (d * g.in[1] + h) * g.in[2] + w;
      }
    }
  }
  return nc;
}

// window_max_f32 that also records the winner's window position per channel (the training path).
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint8_t v8b __attribute__((vector_size(8)));
AXON_VM_CLONES void window_argmax_f32(const float* x, const int64_t* cells, const uint8_t* pos, int64_t nc, int64_t C,
                                      float* y, uint8_t* arg) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    v8f best = *reinterpret_cast<const v8fu*>(x + cells[0] * C + c);
    v8i a = v8i{} + int32_t(pos[0]);
    for (int64_t j = 1; j < nc; ++j) {
      const v8f v = *reinterpret_cast<const v8fu*>(x + cells[j] * C + c);
      const v8i take = ~(v <= best) & (best == best);
      best = take ? v : best;
      a = take ? v8i{} + int32_t(pos[j]) : a;
    }
    *reinterpret_cast<v8fu*>(y + c) = best;
    const v8b ab = __builtin_convertvector(a, v8b);
    std::memcpy(arg + c, &ab, sizeof ab);
  }
  for (; c < C; ++c) {
    float best = x[cells[0] * C + c];
    uint8_t a = pos[0];
    for (int64_t j = 1; j < nc; ++j) {
      const float v = x[cells[j] * C + c];
      const bool take = !(v <= best) && best == best;
      best = take ? v : best;
      a = take ? pos[j] : a;
    }
    y[c] = best;
    arg[c] = a;
  }
}

// dst[c] = arg[c] == p ? dy[c] : 0, eight channels at a time (a scalar select becomes a branch).
AXON_VM_CLONES void select_arg_f32(float* dst, const float* dy, const uint8_t* arg, uint8_t p, int64_t C) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    v8b ab;
    std::memcpy(&ab, arg + c, sizeof ab);
    const v8i take = __builtin_convertvector(ab, v8i) == int32_t(p);
    const v8f v = *reinterpret_cast<const v8fu*>(dy + c);
    *reinterpret_cast<v8fu*>(dst + c) = take ? v : v8f{};
  }
  for (; c < C; ++c) dst[c] = arg[c] == p ? dy[c] : 0.0f;
}

// index (i64 flat cell), arg (u8 window position) or neither: what the forward records.
template <class T>
void forward(const T* x, T* y, int64_t* index, uint8_t* arg, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = in_spatial(g), out_sp = out_spatial(g);
  const int64_t wsize = g.window[0] * g.window[1] * g.window[2];
  parallel_for(g.n, item_grain(out_sp * C * wsize), [&](int64_t n0, int64_t n1) {
    std::vector<A> best(static_cast<size_t>(C));
    std::vector<int32_t> win(static_cast<size_t>(C));  // the winning entry of `cells`
    std::vector<int64_t> cells(static_cast<size_t>(wsize));
    std::vector<uint8_t> pos(arg ? static_cast<size_t>(wsize) : 0);
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * in_sp * C;
      int64_t o = n * out_sp;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
            const int64_t nc = list_cells(g, od, oh, ow, cells.data(), arg ? pos.data() : nullptr);
            T* yp = y + o * C;
            int64_t* idx = index ? index + o * C : nullptr;
            uint8_t* ap = arg ? arg + o * C : nullptr;
            if (nc == 0) {
              for (int64_t c = 0; c < C; ++c) {
                yp[c] = convert<T>(-std::numeric_limits<A>::infinity());
                if (idx) idx[c] = -1;
                if (ap) ap[c] = kNoArg;
              }
              continue;
            }
            if constexpr (std::is_same_v<T, float>) {
              if (ap) {
                window_argmax_f32(xn, cells.data(), pos.data(), nc, C, yp, ap);
                continue;
              }
              if (!idx) {
                window_max_f32(xn, cells.data(), nc, C, yp);
                continue;
              }
            }
            // The first cell wins until a later one is greater, or is NaN while the best is not
            // (NaN propagates and then sticks): take = !(v <= best) && best == best.
            A* b = best.data();
            int32_t* a = win.data();
            const T* x0 = xn + cells[0] * C;
            for (int64_t c = 0; c < C; ++c) {
              b[c] = convert<A>(x0[c]);
              a[c] = 0;
            }
            if (!idx && !ap) {  // inference: the max alone, with the same NaN rule
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
              if (idx) idx[c] = cells[static_cast<size_t>(a[c])];
              if (ap) ap[c] = pos[static_cast<size_t>(a[c])];
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

// Windows that never share a cell (stride >= the dilated window on every axis): each input cell
// gets at most one window's gradient, so dx is written once, without accumulating.
bool disjoint_windows(const PoolGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.stride[d] < (g.window[d] - 1) * g.dilation[d] + 1) return false;
  return true;
}
// Windows that tile the input exactly (2x2 stride 2 on an even size): every cell is written.
bool tiling_windows(const PoolGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.pad_lo[d] != 0 || g.dilation[d] != 1 || g.window[d] != g.stride[d] || g.out[d] * g.stride[d] != g.in[d])
      return false;
  return true;
}

template <class T>
void backward_arg(const T* dy, const uint8_t* arg, T* dx, const PoolGeometry& g) {
  using A = acc_t<T>;
  const int64_t C = g.c, in_sp = in_spatial(g), out_sp = out_spatial(g);
  const int64_t wsize = g.window[0] * g.window[1] * g.window[2];
  const bool disjoint = disjoint_windows(g), tiled = tiling_windows(g);
  parallel_for(g.n, item_grain((in_sp + out_sp) * C), [&](int64_t n0, int64_t n1) {
    constexpr bool direct = std::is_same_v<A, T>;
    std::vector<A> buf(direct ? 0 : static_cast<size_t>(in_sp * C));
    std::vector<int64_t> cells(static_cast<size_t>(wsize));
    std::vector<uint8_t> pos(static_cast<size_t>(wsize));
    for (int64_t n = n0; n < n1; ++n) {
      A* acc = direct ? reinterpret_cast<A*>(dx + n * in_sp * C) : buf.data();
      if (!tiled) std::fill(acc, acc + in_sp * C, A(0));
      const T* dyp = dy + n * out_sp * C;
      const uint8_t* ap = arg + n * out_sp * C;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow, dyp += C, ap += C) {
            const int64_t nc = list_cells(g, od, oh, ow, cells.data(), pos.data());
            if (disjoint) {  // every cell's value: dy where it won, else 0 (a select, no scatter)
              for (int64_t j = 0; j < nc; ++j) {
                A* dst = acc + cells[static_cast<size_t>(j)] * C;
                const uint8_t p = pos[static_cast<size_t>(j)];
                if constexpr (std::is_same_v<T, float>)
                  select_arg_f32(dst, dyp, ap, p, C);
                else
                  for (int64_t c = 0; c < C; ++c) dst[c] = ap[c] == p ? convert<A>(dyp[c]) : A(0);
              }
              continue;
            }
            // Overlapping windows: the cell of each window position, then a scatter-add.
            int64_t cell_at[kMaxArgWindow];
            for (int64_t j = 0; j < nc; ++j) cell_at[pos[static_cast<size_t>(j)]] = cells[static_cast<size_t>(j)];
            for (int64_t c = 0; c < C; ++c)
              if (ap[c] != kNoArg) acc[cell_at[ap[c]] * C + c] += convert<A>(dyp[c]);
          }
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
                      forward(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), index, nullptr, g));
}

void max_pool_forward_arg(DType dt, const void* x, void* y, uint8_t* arg, const PoolGeometry& g) {
  if (g.n * g.c * g.out[0] * g.out[1] * g.out[2] == 0) return;
  AXON_CHECK(g.window[0] * g.window[1] * g.window[2] <= kMaxArgWindow, "max_pool",
             "the compact argmax takes windows of at most {} cells", kMaxArgWindow);
  AXON_DISPATCH_FLOAT(dt, "max_pool", forward(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), nullptr, arg, g));
}

void max_pool_backward_arg(DType dt, const void* dy, const uint8_t* arg, void* dx, const PoolGeometry& g) {
  if (g.n * g.c * g.in[0] * g.in[1] * g.in[2] == 0) return;
  AXON_DISPATCH_FLOAT(dt, "max_pool_backward",
                      backward_arg(static_cast<const scalar_t*>(dy), arg, static_cast<scalar_t*>(dx), g));
}

}  // namespace axon::kernels::cpu
