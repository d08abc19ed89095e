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

// Plain loops in float64 on channels-last values: Nx's conv definition, written from scratch.
inline Ref ref_conv(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w, const Shape& ws,
                    const ConvOptions& o) {
  const size_t nd = xs.size() - 2;
  const int64_t N = xs[0], C = xs.back(), G = o.feature_group_size, Cg = C / G, Cout = ws.back(), Coutg = Cout / G;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, idil[3] = {1, 1, 1}, kdil[3] = {1, 1, 1},
          lo[3] = {0, 0, 0}, out[3] = {1, 1, 1};
  const size_t off = 3 - nd;
  for (size_t d = 0; d < nd; ++d) {
    in[off + d] = xs[1 + d];
    k[off + d] = ws[d];
    s[off + d] = at(o.strides, d);
    idil[off + d] = at(o.input_dilation, d);
    kdil[off + d] = at(o.kernel_dilation, d);
    const int64_t din = (in[off + d] - 1) * idil[off + d] + 1, ke = (k[off + d] - 1) * kdil[off + d] + 1;
    int64_t l = 0, h = 0;
    if (o.padding.mode == PaddingMode::explicit_pads) {
      l = o.padding.pads[d].first;
      h = o.padding.pads[d].second;
    } else if (o.padding.mode == PaddingMode::same) {
      const int64_t outd = (din + s[off + d] - 1) / s[off + d];
      const int64_t total = std::max<int64_t>(0, (outd - 1) * s[off + d] + ke - din);
      l = total / 2;
      h = total - l;
    }
    lo[off + d] = l;
    out[off + d] = (din + l + h - ke) / s[off + d] + 1;
  }
  Ref r;
  r.shape.push_back(N);
  for (size_t d = 0; d < nd; ++d) r.shape.push_back(out[off + d]);
  r.shape.push_back(Cout);
  r.v.assign(static_cast<size_t>(numel(r.shape)), 0.0);
  size_t idx = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < out[0]; ++a)
      for (int64_t b = 0; b < out[1]; ++b)
        for (int64_t c = 0; c < out[2]; ++c)
          for (int64_t co = 0; co < Cout; ++co, ++idx) {
            const int64_t g = co / Coutg;
            double acc = 0;
            const int64_t o3[3] = {a, b, c};
            for (int64_t ka = 0; ka < k[0]; ++ka)
              for (int64_t kb = 0; kb < k[1]; ++kb)
                for (int64_t kc = 0; kc < k[2]; ++kc) {
                  const int64_t k3[3] = {ka, kb, kc};
                  int64_t p[3];
                  bool ok = true;
                  for (int d = 0; d < 3; ++d) {
                    const int64_t q = o3[d] * s[d] + k3[d] * kdil[d] - lo[d];
                    if (q < 0 || q % idil[d] != 0 || q / idil[d] >= in[d]) ok = false;
                    p[d] = q / idil[d];
                  }
                  if (!ok) continue;
                  for (int64_t ci = 0; ci < Cg; ++ci) {
                    const double xv =
                        x[static_cast<size_t>((((n * in[0] + p[0]) * in[1] + p[1]) * in[2] + p[2]) * C + g * Cg + ci)];
                    const double wv = w[static_cast<size_t>((((ka * k[1] + kb) * k[2] + kc) * Cg + ci) * Cout + co)];
                    acc += xv * wv;
                  }
                }
            r.v[idx] = acc;
          }
  return r;
}

// The adjoints of ref_conv in float64 (channels last): dx[n, p, g * Cg + ci] and dw[k, ci, co] summed
// over every (output, tap) pair that ref_conv multiplies.
struct RefGrads {
  std::vector<double> dx, dw;
};
inline RefGrads ref_conv_grads(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w,
                               const Shape& ws, const std::vector<double>& dy, const ConvOptions& o) {
  const size_t nd = xs.size() - 2;
  const int64_t N = xs[0], C = xs.back(), G = o.feature_group_size, Cg = C / G, Cout = ws.back(), Coutg = Cout / G;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, idil[3] = {1, 1, 1}, kdil[3] = {1, 1, 1},
          lo[3] = {0, 0, 0}, out[3] = {1, 1, 1};
  const size_t off = 3 - nd;
  for (size_t d = 0; d < nd; ++d) {
    in[off + d] = xs[1 + d];
    k[off + d] = ws[d];
    s[off + d] = at(o.strides, d);
    idil[off + d] = at(o.input_dilation, d);
    kdil[off + d] = at(o.kernel_dilation, d);
    const int64_t din = (in[off + d] - 1) * idil[off + d] + 1, ke = (k[off + d] - 1) * kdil[off + d] + 1;
    int64_t l = 0, h = 0;
    if (o.padding.mode == PaddingMode::explicit_pads) {
      l = o.padding.pads[d].first;
      h = o.padding.pads[d].second;
    } else if (o.padding.mode == PaddingMode::same) {
      const int64_t outd = (din + s[off + d] - 1) / s[off + d];
      const int64_t total = std::max<int64_t>(0, (outd - 1) * s[off + d] + ke - din);
      l = total / 2;
      h = total - l;
    }
    lo[off + d] = l;
    out[off + d] = (din + l + h - ke) / s[off + d] + 1;
  }
  RefGrads r{std::vector<double>(x.size(), 0.0), std::vector<double>(w.size(), 0.0)};
  size_t idx = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < out[0]; ++a)
      for (int64_t b = 0; b < out[1]; ++b)
        for (int64_t c = 0; c < out[2]; ++c)
          for (int64_t co = 0; co < Cout; ++co, ++idx) {
            const int64_t g = co / Coutg;
            const double gy = dy[idx];
            const int64_t o3[3] = {a, b, c};
            for (int64_t ka = 0; ka < k[0]; ++ka)
              for (int64_t kb = 0; kb < k[1]; ++kb)
                for (int64_t kc = 0; kc < k[2]; ++kc) {
                  const int64_t k3[3] = {ka, kb, kc};
                  int64_t p[3];
                  bool ok = true;
                  for (int d = 0; d < 3; ++d) {
                    const int64_t q = o3[d] * s[d] + k3[d] * kdil[d] - lo[d];
                    if (q < 0 || q % idil[d] != 0 || q / idil[d] >= in[d]) ok = false;
                    p[d] = q / idil[d];
                  }
                  if (!ok) continue;
                  for (int64_t ci = 0; ci < Cg; ++ci) {
                    const size_t xi =
                        static_cast<size_t>((((n * in[0] + p[0]) * in[1] + p[1]) * in[2] + p[2]) * C + g * Cg + ci);
                    const size_t wi = static_cast<size_t>((((ka * k[1] + kb) * k[2] + kc) * Cg + ci) * Cout + co);
                    r.dx[xi] += gy * w[wi];
                    r.dw[wi] += gy * x[xi];
                  }
                }
          }
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
