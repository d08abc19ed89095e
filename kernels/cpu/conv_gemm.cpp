// CPU convolutions as im2col + GEMM in chunks: each pool thread builds the columns of a chunk of
// output rows in its own buffer (small enough to be still in cache when the GEMM reads them) and
// runs one single-threaded GEMM per feature group straight into y / dx / its share of dw.
// Groups need no permutes: group g of a col row, of a kernel row and of an output row are strided
// sub-blocks, and the GEMM takes their leading dimensions as they are.
#include <algorithm>
#include <axon/error.hpp>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/scalar.hpp>
#include <vector>

#include "blas.hpp"
#include "conv_geometry.hpp"

namespace axon::kernels::cpu {

namespace {

using namespace conv_detail;

// Columns plus GEMM output per chunk: both stay in a core's L2 (OpenBLAS zeroes the output before
// accumulating into it, so an output that spills is written to memory twice).
constexpr int64_t kChunkBytes = int64_t(256) << 10;

// The calling thread's scratch buffer of at least n elements (kept between calls).
template <class T>
T* scratch(int64_t n) {
  thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// Splits `total` units into chunks of about `target` units, the chunk count a multiple of the
// thread count where there are enough units, so every thread gets the same share.
struct Chunks {
  int64_t size = 1, count = 0;
};
Chunks chunks(int64_t total, int64_t target) {
  if (total <= 0) return {1, 0};
  const int64_t t = num_threads();
  int64_t count = std::max<int64_t>(1, (total + target - 1) / std::max<int64_t>(target, 1));
  if (total >= t) count = (count + t - 1) / t * t;
  count = std::min(count, total);
  const int64_t size = (total + count - 1) / count;
  return {size, (total + size - 1) / size};
}

struct Dims {
  int64_t KC, KCg, Cout, Coutg;
  explicit Dims(const Geo3& g, int64_t cout)
      : KC(g.K * g.C), KCg(g.K * g.Cg), Cout(cout), Coutg(cout / g.G) {}
};

// Output rows per chunk for the forward and the backward filter: a row of columns and a row of y / dy.
template <class T>
int64_t rows_per_chunk(const Dims& d) {
  return std::max<int64_t>(16, kChunkBytes / ((d.KC + d.Cout) * int64_t(sizeof(T))));
}

template <class T>
void forward_impl(const T* x, const T* w, T* y, const Geo3& g, int64_t batch, int64_t cout) {
  const Dims d(g, cout);
  const TapTables taps(g);
  const ColLayout l{d.KC, d.KCg};
  const int64_t rows = batch * g.O;
  const Chunks ch = chunks(rows, rows_per_chunk<T>(d));
  parallel_for(ch.count, 1, [&](int64_t c0, int64_t c1) {
    T* col = scratch<T>(ch.size * d.KC);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * ch.size, r1 = std::min(rows, r0 + ch.size);
      im2col_rows(x, col, g, taps, l, r0, r1);
      for (int64_t gi = 0; gi < g.G; ++gi)
        blas_gemm(false, false, r1 - r0, d.Coutg, d.KCg, T(1), col + gi * d.KCg, d.KC, w + gi * d.Coutg, d.Cout,
                  T(0), y + r0 * d.Cout + gi * d.Coutg, d.Cout);
    }
  });
}

template <class T>
void backward_data_impl(const T* dy, const T* w, T* dx, const Geo3& g, int64_t batch, int64_t cout) {
  const Dims d(g, cout);
  const TapTables taps(g);
  const ColLayout l{d.KC, d.KCg};
  // Whole batch items per chunk: col2im gathers every tap of an input pixel from its chunk.
  const int64_t item_bytes = (g.O * (d.KC + d.Cout) + g.in[0] * g.in[1] * g.in[2] * g.C) * int64_t(sizeof(T));
  const Chunks ch = chunks(batch, std::max<int64_t>(1, kChunkBytes / item_bytes));
  parallel_for(ch.count, 1, [&](int64_t c0, int64_t c1) {
    T* dcol = scratch<T>(ch.size * g.O * d.KC);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n0 = c * ch.size, n1 = std::min(batch, n0 + ch.size);
      const int64_t r = (n1 - n0) * g.O;
      // dcol[row, g, kk * Cg + ci] = sum_o dy[row, g * Coutg + o] * w[kk * Cg + ci, g * Coutg + o]
      for (int64_t gi = 0; gi < g.G; ++gi)
        blas_gemm(false, true, r, d.KCg, d.Coutg, T(1), dy + n0 * g.O * d.Cout + gi * d.Coutg, d.Cout,
                  w + gi * d.Coutg, d.Cout, T(0), dcol + gi * d.KCg, d.KC);
      col2im_items(dcol, dx, g, taps, l, n0, n1);
    }
  });
}

template <class T>
void backward_filter_impl(const T* x, const T* dy, T* dw, const Geo3& g, int64_t batch, int64_t cout) {
  const Dims d(g, cout);
  const TapTables taps(g);
  const ColLayout l{d.KC, d.KCg};
  const int64_t rows = batch * g.O;
  if (rows == 0) return std::fill(dw, dw + d.KC * d.Coutg, T(0));
  const Chunks ch = chunks(rows, rows_per_chunk<T>(d));
  // One partial dw per slot (a fixed range of chunks), summed in slot order: the result does not
  // depend on which thread ran which slot.
  const int64_t slots = std::min<int64_t>(num_threads(), ch.count);
  const int64_t per = (ch.count + slots - 1) / slots;
  const int64_t wsize = d.KC * d.Coutg;  // [K * Cg, Cout] as HWIO stores it
  std::vector<T> partial(static_cast<size_t>(std::max<int64_t>(slots - 1, 0) * wsize));
  parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    T* col = scratch<T>(ch.size * d.KC);
    for (int64_t s = s0; s < s1; ++s) {
      T* acc = s == 0 ? dw : partial.data() + (s - 1) * wsize;
      const int64_t cb = s * per, ce = std::min(ch.count, cb + per);
      if (cb >= ce) std::fill(acc, acc + wsize, T(0));
      for (int64_t c = cb; c < ce; ++c) {
        const int64_t r0 = c * ch.size, r1 = std::min(rows, r0 + ch.size);
        im2col_rows(x, col, g, taps, l, r0, r1);
        // dw[kk * Cg + ci, g * Coutg + o] += sum_row col[row, g, kk * Cg + ci] * dy[row, g * Coutg + o]
        for (int64_t gi = 0; gi < g.G; ++gi)
          blas_gemm(true, false, d.KCg, d.Coutg, r1 - r0, T(1), col + gi * d.KCg, d.KC,
                    dy + r0 * d.Cout + gi * d.Coutg, d.Cout, c == cb ? T(0) : T(1), acc + gi * d.Coutg, d.Cout);
      }
    }
  });
  for (int64_t s = 1; s < slots; ++s) {
    const T* p = partial.data() + (s - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
  }
}

template <class F>
void dispatch(DType dt, const char* op, F f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: AXON_FAIL(op, "the CPU im2col + GEMM convolution takes f32 or f64, got {}", dtype_name(dt));
  }
}

}  // namespace

void conv_forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& geo) {
  if (geo.batch * geo.out_pixels() * geo.out_channels == 0) return;
  const Geo3 g = to3(geo);
  dispatch(dt, "conv", [&](auto t) {
    using T = decltype(t);
    forward_impl(static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y), g, geo.batch,
                 geo.out_channels);
  });
}

void conv_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& geo) {
  if (geo.batch * geo.in_pixels() * geo.channels == 0) return;
  const Geo3 g = to3(geo);
  dispatch(dt, "conv_backward_data", [&](auto t) {
    using T = decltype(t);
    backward_data_impl(static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx), g, geo.batch,
                       geo.out_channels);
  });
}

void conv_backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& geo) {
  if (geo.kernel_pixels() * geo.channels * geo.out_channels == 0) return;
  const Geo3 g = to3(geo);
  dispatch(dt, "conv_backward_filter", [&](auto t) {
    using T = decltype(t);
    backward_filter_impl(static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw), g,
                         geo.batch, geo.out_channels);
  });
}

}  // namespace axon::kernels::cpu
