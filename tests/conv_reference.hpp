#pragma once
// Convolution test cases and float64 loop references (channels last) shared by the conv tests:
// Nx's conv definition and its two adjoints written from scratch.
#include <algorithm>
#include <string>
#include <vector>

#include "harness.hpp"

namespace axon::test::conv_ref {

struct Case {
  Shape x;  // channels last [N, D..., C]
  Shape k;  // spatial kernel dims
  int64_t cout;
  ConvOptions o;  // channels last
};

inline int64_t at(const std::vector<int64_t>& v, size_t d, int64_t dflt = 1) {
  if (v.empty()) return dflt;
  return v.size() == 1 ? v[0] : v[d];
}

inline Shape kernel_shape(const Case& c) {
  Shape s = c.k;
  s.push_back(c.x.back() / c.o.feature_group_size);
  s.push_back(c.cout);
  return s;
}

struct Ref {
  std::vector<double> v;
  Shape shape;
};

// A problem's sizes with every spatial dim in 3 (the leading ones of size 1).
struct RefGeometry {
  int64_t N, C, Cg, Cout, Coutg;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, idil[3] = {1, 1, 1}, kdil[3] = {1, 1, 1},
          lo[3] = {0, 0, 0}, out[3] = {1, 1, 1};
  Shape out_shape;
};
inline RefGeometry ref_geometry(const Shape& xs, const Shape& ws, const ConvOptions& o) {
  const size_t nd = xs.size() - 2;
  const int64_t G = o.feature_group_size;
  RefGeometry r{xs[0], xs.back(), xs.back() / G, ws.back(), ws.back() / G};
  const size_t off = 3 - nd;
  for (size_t d = 0; d < nd; ++d) {
    r.in[off + d] = xs[1 + d];
    r.k[off + d] = ws[d];
    r.s[off + d] = at(o.strides, d);
    r.idil[off + d] = at(o.input_dilation, d);
    r.kdil[off + d] = at(o.kernel_dilation, d);
    const int64_t din = (r.in[off + d] - 1) * r.idil[off + d] + 1, ke = (r.k[off + d] - 1) * r.kdil[off + d] + 1;
    int64_t l = 0, h = 0;
    if (o.padding.mode == PaddingMode::explicit_pads) {
      l = o.padding.pads[d].first;
      h = o.padding.pads[d].second;
    } else if (o.padding.mode == PaddingMode::same) {
      const int64_t outd = (din + r.s[off + d] - 1) / r.s[off + d];
      const int64_t total = std::max<int64_t>(0, (outd - 1) * r.s[off + d] + ke - din);
      l = total / 2;
      h = total - l;
    }
    r.lo[off + d] = l;
    r.out[off + d] = (din + l + h - ke) / r.s[off + d] + 1;
  }
  r.out_shape.push_back(r.N);
  for (size_t d = 0; d < nd; ++d) r.out_shape.push_back(r.out[off + d]);
  r.out_shape.push_back(r.Cout);
  return r;
}

// Plain loops on channels-last values, Nx's conv definition written from scratch: f(xi, wi, yi) for
// every product x[xi] * w[wi] that adds to y[yi], y's elements in order.
template <class F>
void for_each_product(const RefGeometry& g, F f) {
  size_t yi = 0;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t a = 0; a < g.out[0]; ++a)
      for (int64_t b = 0; b < g.out[1]; ++b)
        for (int64_t c = 0; c < g.out[2]; ++c)
          for (int64_t co = 0; co < g.Cout; ++co, ++yi) {
            const int64_t group = co / g.Coutg;
            const int64_t o3[3] = {a, b, c};
            for (int64_t ka = 0; ka < g.k[0]; ++ka)
              for (int64_t kb = 0; kb < g.k[1]; ++kb)
                for (int64_t kc = 0; kc < g.k[2]; ++kc) {
                  const int64_t k3[3] = {ka, kb, kc};
                  int64_t p[3];
                  bool ok = true;
                  for (int d = 0; d < 3; ++d) {
                    const int64_t q = o3[d] * g.s[d] + k3[d] * g.kdil[d] - g.lo[d];
                    if (q < 0 || q % g.idil[d] != 0 || q / g.idil[d] >= g.in[d]) ok = false;
                    p[d] = q / g.idil[d];
                  }
                  if (!ok) continue;
                  for (int64_t ci = 0; ci < g.Cg; ++ci) {
                    const size_t xi = static_cast<size_t>(
                        (((n * g.in[0] + p[0]) * g.in[1] + p[1]) * g.in[2] + p[2]) * g.C + group * g.Cg + ci);
                    const size_t wi =
                        static_cast<size_t>((((ka * g.k[1] + kb) * g.k[2] + kc) * g.Cg + ci) * g.Cout + co);
                    f(xi, wi, yi);
                  }
                }
          }
}

// The conv in float64.
inline Ref ref_conv(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w, const Shape& ws,
                    const ConvOptions& o) {
  const RefGeometry g = ref_geometry(xs, ws, o);
  Ref r{std::vector<double>(static_cast<size_t>(numel(g.out_shape)), 0.0), g.out_shape};
  for_each_product(g, [&](size_t xi, size_t wi, size_t yi) { r.v[yi] += x[xi] * w[wi]; });
  return r;
}

// The adjoints of ref_conv in float64 (channels last): dx[n, p, g * Cg + ci] and dw[k, ci, co] summed
// over every (output, tap) pair that ref_conv multiplies.
struct RefGrads {
  std::vector<double> dx, dw;
};
inline RefGrads ref_conv_grads(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w,
                               const Shape& ws, const std::vector<double>& dy, const ConvOptions& o) {
  RefGrads r{std::vector<double>(x.size(), 0.0), std::vector<double>(w.size(), 0.0)};
  for_each_product(ref_geometry(xs, ws, o), [&](size_t xi, size_t wi, size_t yi) {
    r.dx[xi] += dy[yi] * w[wi];
    r.dw[wi] += dy[yi] * x[xi];
  });
  return r;
}

inline std::string describe_case(const Case& c) {
  std::string s = "x " + to_string(c.x) + " k " + to_string(c.k) + " cout " + std::to_string(c.cout) + " groups " +
                  std::to_string(c.o.feature_group_size) + " padding ";
  if (c.o.padding.mode == PaddingMode::valid) s += "valid";
  if (c.o.padding.mode == PaddingMode::same) s += "same";
  for (auto [l, h] : c.o.padding.pads) s += "(" + std::to_string(l) + "," + std::to_string(h) + ")";
  return s;
}

}  // namespace axon::test::conv_ref
