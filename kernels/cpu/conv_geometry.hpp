#pragma once
// Geometry helpers shared by the CPU convolution kernels (not installed).
#include <algorithm>
#include <array>
#include <axon/kernels/conv.hpp>
#include <vector>

#include "parallel.hpp"

namespace axon::kernels::cpu::conv_detail {

// A problem (a direction `tag` and its whole geometry) as a map key, for per-shape caches.
using ConvKey = std::array<int64_t, 6 + 8 * kConvMaxDims>;
inline ConvKey conv_key(int64_t tag, const ConvGeometry& g) {
  ConvKey k{};
  size_t i = 0;
  for (int64_t v : {tag, int64_t(g.nd), g.batch, g.channels, g.groups, g.out_channels}) k[i++] = v;
  for (const int64_t* a : {g.in, g.out, g.kernel, g.stride, g.pad_lo, g.pad_hi, g.in_dil, g.k_dil})
    for (int d = 0; d < kConvMaxDims; ++d) k[i++] = a[d];
  return k;
}

// Runs f(begin, end) over batch items [n0, n0 + count) on the kernels' pool when the work pays
// for the threads.
template <class F>
void parallel_items(int64_t n0, int64_t count, int64_t work_per_item, F f) {
  if (count < 2 || count * work_per_item < (int64_t(1) << 16)) return f(n0, n0 + count);
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(work_per_item, 1));
  parallel_for(count, grain, [&](int64_t b, int64_t e) { f(n0 + b, n0 + e); });
}

// Input index along d read by output o and tap k, or -1 in padding / between dilated pixels.
inline int64_t input_index(const Geo3& g, int d, int64_t o, int64_t k) {
  int64_t p = o * g.s[d] + k * g.kdil[d] - g.lo[d];
  if (p < 0) return -1;
  if (g.idil[d] != 1) {
    if (p % g.idil[d] != 0) return -1;
    p /= g.idil[d];
  }
  return p < g.in[d] ? p : -1;
}

// Output index along d that reads input i through tap k, or -1.
inline int64_t output_index(const Geo3& g, int d, int64_t i, int64_t k) {
  int64_t q = i * g.idil[d] + g.lo[d] - k * g.kdil[d];
  if (q < 0 || q % g.s[d] != 0) return -1;
  q /= g.s[d];
  return q < g.out[d] ? q : -1;
}

// f(tap, o) for each kernel tap (row-major over the kernel's dims) through which output pixel o (its
// row-major index) reads input pixel (i0, i1, i2): the adjoints' gather (col2im, the depthwise
// backward data). out: the per-dim output_index tables (TapTables::out).
template <class F>
inline void for_each_reader(const Geo3& g, const std::vector<int64_t>* out, int64_t i0, int64_t i1, int64_t i2, F f) {
  int64_t kk = 0;
  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
    const int64_t o0 = out[0][i0 * g.k[0] + k0];
    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
      const int64_t o1 = out[1][i1 * g.k[1] + k1];
      for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++kk) {
        const int64_t o2 = out[2][i2 * g.k[2] + k2];
        if (o0 < 0 || o1 < 0 || o2 < 0) continue;
        f(kk, (o0 * g.out[1] + o1) * g.out[2] + o2);
      }
    }
  }
}

// Per-dim tables, computed once per call: in[d][o * k + t] = input index read by output o through
// tap t, out[d][i * k + t] = output index that reads input i through tap t (or -1).
struct TapTables {
  std::vector<int64_t> in[3], out[3];
  explicit TapTables(const Geo3& g) {
    for (int d = 0; d < 3; ++d) {
      in[d].resize(static_cast<size_t>(g.out[d] * g.k[d]));
      for (int64_t o = 0; o < g.out[d]; ++o)
        for (int64_t t = 0; t < g.k[d]; ++t) in[d][o * g.k[d] + t] = input_index(g, d, o, t);
      out[d].resize(static_cast<size_t>(g.in[d] * g.k[d]));
      for (int64_t i = 0; i < g.in[d]; ++i)
        for (int64_t t = 0; t < g.k[d]; ++t) out[d][i * g.k[d] + t] = output_index(g, d, i, t);
    }
  }
};

// Single-threaded im2col of global rows [r0, r1) (row r = n * O + o) into col (its row 0 = row r0),
// and col2im of batch items [n0, n1) from col rows whose row 0 is item n0's first. Defined in
// conv_im2col.cpp for float and double.
template <class T>
void im2col_rows(const T* x, T* col, const Geo3& g, const TapTables& taps, ColLayout l, int64_t r0, int64_t r1);
template <class T>
void col2im_items(const T* col, T* dx, const Geo3& g, const TapTables& taps, ColLayout l, int64_t n0, int64_t n1);

}  // namespace axon::kernels::cpu::conv_detail
