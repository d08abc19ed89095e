// LSTM / GRU / ConvLSTM cells, unrolls, sequences and their model builders against float64 loops.
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>

#include <axon/layers/recurrent.hpp>
#include <axon/recurrent_ops.hpp>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::Tol;

namespace {

using Fn = std::function<double(double)>;
double sigm(double v) { return 1 / (1 + std::exp(-v)); }
const Fn kSigmoid = sigm;
const Fn kTanh = [](double v) { return std::tanh(v); };

// One set of per-gate parameters: maps of tensors for axon, f64 copies for the reference.
struct Cell {
  int64_t in = 0, units = 0;
  std::vector<std::string> wi, wh, b;
  layers::GateParams ik, hk, bias;
  std::map<std::string, std::vector<double>> v;  // every gate tensor by name
};

Cell make_cell(bool lstm, int64_t in, int64_t units, uint64_t seed, DType dt = DType::f64, bool with_bias = true) {
  Cell c;
  c.in = in;
  c.units = units;
  if (lstm) {
    c.wi = {"wii", "wif", "wig", "wio"};
    c.wh = {"whi", "whf", "whg", "who"};
    c.b = {"bi", "bf", "bg", "bo"};
  } else {
    c.wi = {"wir", "wiz", "win"};
    c.wh = {"whr", "whz", "whn"};
    c.b = {"br", "bz", "bin", "bhn"};
  }
  for (const auto& k : c.wi) c.ik[k] = random_tensor({in, units}, dt, -0.8, 0.8, seed++);
  for (const auto& k : c.wh) c.hk[k] = random_tensor({units, units}, dt, -0.8, 0.8, seed++);
  if (with_bias)
    for (const auto& k : c.b) c.bias[k] = random_tensor({units}, dt, -0.5, 0.5, seed++);
  for (auto* m : {&c.ik, &c.hk, &c.bias})
    for (auto& [k, t] : *m) c.v[k] = t.to_vector<double>();
  for (const auto& k : c.b)
    if (!c.v.count(k)) c.v[k] = std::vector<double>(static_cast<size_t>(units), 0.0);
  return c;
}

layers::GateParams on(const layers::GateParams& m, Device d, DType dt) {
  layers::GateParams out;
  for (const auto& [k, t] : m) out[k] = t.to(d).to(dt);
  return out;
}

// x . w[:, u] for row r of x [rows, in] and w [in, units].
double dot_col(const std::vector<double>& x, int64_t r, int64_t in, const std::vector<double>& w, int64_t units,
               int64_t u) {
  double s = 0;
  for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[i * units + u];
  return s;
}

// One LSTM step on [batch, in] rows; c and h updated in place where mask[b] is 0.
void lstm_ref_step(const Cell& p, const std::vector<double>& x, int64_t batch, std::vector<double>& c,
                   std::vector<double>& h, const std::vector<int>& mask, const Fn& gate = kSigmoid,
                   const Fn& act = kTanh) {
  const int64_t U = p.units;
  std::vector<double> c2(c), h2(h);
  for (int64_t b = 0; b < batch; ++b) {
    if (!mask.empty() && mask[b]) continue;
    for (int64_t u = 0; u < U; ++u) {
      double a[4];
      for (int g = 0; g < 4; ++g)
        a[g] = p.v.at(p.b[g])[u] + dot_col(x, b, p.in, p.v.at(p.wi[g]), U, u) + dot_col(h, b, U, p.v.at(p.wh[g]), U, u);
      const double i = gate(a[0]), f = gate(a[1]), g = act(a[2]), o = gate(a[3]);
      c2[b * U + u] = f * c[b * U + u] + i * g;
      h2[b * U + u] = o * act(c2[b * U + u]);
    }
  }
  c = c2;
  h = h2;
}

void gru_ref_step(const Cell& p, const std::vector<double>& x, int64_t batch, std::vector<double>& h,
                  const std::vector<int>& mask) {
  const int64_t U = p.units;
  std::vector<double> h2(h);
  for (int64_t b = 0; b < batch; ++b) {
    if (!mask.empty() && mask[b]) continue;
    for (int64_t u = 0; u < U; ++u) {
      const auto& v = p.v;
      double r = sigm(dot_col(x, b, p.in, v.at("wir"), U, u) + v.at("br")[u] + dot_col(h, b, U, v.at("whr"), U, u));
      double z = sigm(dot_col(x, b, p.in, v.at("wiz"), U, u) + v.at("bz")[u] + dot_col(h, b, U, v.at("whz"), U, u));
      double n = std::tanh(dot_col(x, b, p.in, v.at("win"), U, u) + v.at("bin")[u] +
                           r * (dot_col(h, b, U, v.at("whn"), U, u) + v.at("bhn")[u]));
      h2[b * U + u] = (1 - z) * n + z * h[b * U + u];
    }
  }
  h = h2;
}

// Rows of step t of x [B, T, F].
std::vector<double> step_rows(const std::vector<double>& x, int64_t B, int64_t T, int64_t F, int64_t t) {
  std::vector<double> out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) out.push_back(x[(b * T + t) * F + f]);
  return out;
}

struct SeqRef {
  std::vector<double> out, c, h;  // out [B, T, U]
};

// A whole sequence: lstm when c is used, else gru; reverse scans from the end, outputs stay aligned.
SeqRef seq_ref(bool lstm, const Cell& p, const std::vector<double>& x, int64_t B, int64_t T,
               const std::vector<int>& mask /* [B, T] or empty */, bool reverse = false,
               std::vector<double> c0 = {}, std::vector<double> h0 = {}) {
  const int64_t U = p.units;
  SeqRef r;
  r.c = c0.empty() ? std::vector<double>(static_cast<size_t>(B * U), 0.0) : c0;
  r.h = h0.empty() ? std::vector<double>(static_cast<size_t>(B * U), 0.0) : h0;
  r.out.assign(static_cast<size_t>(B * T * U), 0.0);
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = reverse ? T - 1 - k : k;
    std::vector<int> m;
    if (!mask.empty())
      for (int64_t b = 0; b < B; ++b) m.push_back(mask[b * T + t]);
    auto xt = step_rows(x, B, T, p.in, t);
    if (lstm)
      lstm_ref_step(p, xt, B, r.c, r.h, m);
    else
      gru_ref_step(p, xt, B, r.h, m);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t u = 0; u < U; ++u) r.out[(b * T + t) * U + u] = r.h[b * U + u];
  }
  return r;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

Tol tol_of(DType dt) { return dt == DType::f64 ? Tol{1e-10, 1e-12} : Tol{1e-4, 1e-5}; }

}  // namespace

TEST_CASE("lstm_cell and gru_cell: one step against float64 loops, with a mask", "[layers][recurrent]") {
  const int64_t B = 3, F = 4, U = 5;
  Cell lp = make_cell(true, F, U, 10), gp = make_cell(false, F, U, 30);
  Tensor x = random_tensor({B, F}, DType::f64, -1, 1, 1);
  Tensor c = random_tensor({B, U}, DType::f64, -1, 1, 2), h = random_tensor({B, U}, DType::f64, -1, 1, 3);
  const std::vector<int> mask{0, 1, 0};
  Tensor m = from_vector<double>({0, 1, 0}, {B, 1});
  for (Device d : test::devices())
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(d.str() << " " << dtype_name(dt));
      for (bool masked : {false, true}) {
        std::vector<double> cr = c.to_vector<double>(), hr = h.to_vector<double>();
        lstm_ref_step(lp, x.to_vector<double>(), B, cr, hr, masked ? mask : std::vector<int>{});
        auto r = layers::lstm_cell(x.to(d).to(dt), {c.to(d).to(dt), h.to(d).to(dt)}, masked ? m.to(d) : Tensor(),
                                   on(lp.ik, d, dt), on(lp.hk, d, dt), on(lp.bias, d, dt));
        check_close(r.carry[0].to(Device::cpu()), cr, {B, U}, tol_of(dt));
        check_close(r.carry[1].to(Device::cpu()), hr, {B, U}, tol_of(dt));
        check_close(r.output.to(Device::cpu()), hr, {B, U}, tol_of(dt));

        std::vector<double> gh = h.to_vector<double>();
        gru_ref_step(gp, x.to_vector<double>(), B, gh, masked ? mask : std::vector<int>{});
        auto g = layers::gru_cell(x.to(d).to(dt), {h.to(d).to(dt)}, masked ? m.to(d) : Tensor(), on(gp.ik, d, dt),
                                  on(gp.hk, d, dt), on(gp.bias, d, dt));
        REQUIRE(g.carry.size() == 1);
        check_close(g.output.to(Device::cpu()), gh, {B, U}, tol_of(dt));
      }
    }
  // A masked row keeps its carry exactly.
  auto r = layers::lstm_cell(x, {c, h}, from_vector<double>({1, 1, 1}, {B}), lp.ik, lp.hk, lp.bias);
  check_close(r.carry[0], c, {0, 0});
  check_close(r.carry[1], h, {0, 0});
}

TEST_CASE("lstm_cell: empty carry is zeros, no bias, other gate and activation names", "[layers][recurrent]") {
  const int64_t B = 2, F = 3, U = 2;
  Cell p = make_cell(true, F, U, 50, DType::f64, /*with_bias=*/false);
  Tensor x = random_tensor({B, F}, DType::f64, -2, 2, 4);
  std::vector<double> c(B * U, 0.0), h(B * U, 0.0);
  const Fn hard_sigmoid = [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); };
  const Fn softsign = [](double v) { return v / (std::fabs(v) + 1); };
  lstm_ref_step(p, x.to_vector<double>(), B, c, h, {}, hard_sigmoid, softsign);
  auto r = layers::lstm_cell(x, {}, Tensor(), p.ik, p.hk, {}, {.gate = "hard_sigmoid", .activation = "softsign"});
  check_close(r.carry[0], c, {B, U}, tol_of(DType::f64));
  check_close(r.output, h, {B, U}, tol_of(DType::f64));
}

TEST_CASE("lstm and gru over sequences: masks, reverse, unrolls, against float64 loops", "[layers][recurrent]") {
  const int64_t B = 3, T = 4, F = 2, U = 3;
  Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 5);
  Tensor c0 = random_tensor({B, U}, DType::f64, -1, 1, 6), h0 = random_tensor({B, U}, DType::f64, -1, 1, 7);
  // Row 0 unpadded, row 1 padded at the end, row 2 padded in the middle and at the end.
  const std::vector<int> mask{0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1};
  std::vector<double> mv(mask.begin(), mask.end());
  Tensor m = from_vector(mv, {B, T});
  for (bool is_lstm : {true, false}) {
    Cell p = make_cell(is_lstm, F, U, is_lstm ? 70 : 90);
    auto fn = is_lstm ? layers::lstm : layers::gru;
    for (Device d : test::devices())
      for (DType dt : {DType::f32, DType::f64})
        for (bool masked : {false, true})
          for (bool reverse : {false, true}) {
            INFO((is_lstm ? "lstm " : "gru ") << d.str() << " " << dtype_name(dt) << " masked " << masked << " reverse "
                                              << reverse);
            SeqRef ref = seq_ref(is_lstm, p, x.to_vector<double>(), B, T, masked ? mask : std::vector<int>{}, reverse,
                                 c0.to_vector<double>(), h0.to_vector<double>());
            layers::Carry carry = is_lstm ? layers::Carry{c0.to(d).to(dt), h0.to(d).to(dt)}
                                          : layers::Carry{h0.to(d).to(dt)};
            auto r = fn(x.to(d).to(dt), carry, masked ? m.to(d) : Tensor(), on(p.ik, d, dt), on(p.hk, d, dt),
                        on(p.bias, d, dt), {.reverse = reverse});
            check_close(r.output.to(Device::cpu()), ref.out, {B, T, U}, tol_of(dt));
            check_close(r.carry.back().to(Device::cpu()), ref.h, {B, U}, tol_of(dt));
            if (is_lstm) check_close(r.carry[0].to(Device::cpu()), ref.c, {B, U}, tol_of(dt));
          }
    // The generic unrolls with the cell give the same result as the sequence function.
    layers::CellFn cell = [&](const Tensor& xt, const layers::Carry& c, const Tensor& mt) {
      return is_lstm ? layers::lstm_cell(xt, c, mt, p.ik, p.hk, p.bias) : layers::gru_cell(xt, c, mt, p.ik, p.hk, p.bias);
    };
    SeqRef ref = seq_ref(is_lstm, p, x.to_vector<double>(), B, T, mask);
    layers::Carry zero = is_lstm ? layers::Carry{zeros({B, U}, DType::f64), zeros({B, U}, DType::f64)}
                                 : layers::Carry{zeros({B, U}, DType::f64)};
    for (auto unroll : {layers::static_unroll, layers::dynamic_unroll}) {
      auto r = unroll(cell, x, zero, m);
      check_close(r.output, ref.out, {B, T, U}, tol_of(DType::f64));
      check_close(r.carry.back(), ref.h, {B, U}, tol_of(DType::f64));
    }
    // An empty carry is zeros; a [B, T, 1] mask and a scalar mask work too.
    auto r = fn(x, {}, reshape(m, {B, T, 1}), p.ik, p.hk, p.bias, {.unroll = layers::Unroll::dynamic_unroll});
    check_close(r.output, ref.out, {B, T, U}, tol_of(DType::f64));
    auto all = fn(x, {}, scalar_tensor(1.0, DType::f64), p.ik, p.hk, p.bias, {});
    check_close(all.output, std::vector<double>(B * T * U, 0.0), {B, T, U}, {0, 0});
  }
}

namespace {

// 1-D ConvLSTM reference, channels first, "same" padding for an odd kernel K: x_t [B, C, L].
void conv_lstm_ref_step(const std::vector<double>& x, const std::vector<double>& ik, const std::vector<double>& hk,
                        const std::vector<double>& bias, int64_t B, int64_t C, int64_t L, int64_t U, int64_t K,
                        std::vector<double>& c, std::vector<double>& h) {
  const int64_t lo = (K - 1) / 2;
  std::vector<double> c2(c), h2(h);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t u = 0; u < U; ++u)
      for (int64_t l = 0; l < L; ++l) {
        double a[4];
        for (int g = 0; g < 4; ++g) {
          const int64_t o = g * U + u;
          double s = bias[o];
          for (int64_t k = 0; k < K; ++k) {
            const int64_t p = l + k - lo;
            if (p < 0 || p >= L) continue;
            for (int64_t ci = 0; ci < C; ++ci) s += x[(b * C + ci) * L + p] * ik[(o * C + ci) * K + k];
            for (int64_t ui = 0; ui < U; ++ui) s += h[(b * U + ui) * L + p] * hk[(o * U + ui) * K + k];
          }
          a[g] = s;
        }
        // Axon's order i, g, f, o and forget bias 1.
        const int64_t at = (b * U + u) * L + l;
        const double f = sigm(a[2] + 1);
        c2[at] = f * c[at] + sigm(a[0]) * std::tanh(a[1]);
        h2[at] = sigm(a[3]) * std::tanh(c2[at]);
      }
  c = c2;
  h = h2;
}

}  // namespace

TEST_CASE("conv_lstm_cell and conv_lstm against a float64 loop (1-D, same padding)", "[layers][recurrent]") {
  const int64_t B = 2, T = 3, C = 2, L = 4, U = 2, K = 3;
  Tensor x = random_tensor({B, T, C, L}, DType::f64, -1, 1, 11);
  Tensor ik = random_tensor({4 * U, C, K}, DType::f64, -0.6, 0.6, 12);
  Tensor hk = random_tensor({4 * U, U, K}, DType::f64, -0.6, 0.6, 13);
  Tensor bias = random_tensor({4 * U}, DType::f64, -0.3, 0.3, 14);
  auto xv = x.to_vector<double>();
  std::vector<double> c(B * U * L, 0.0), h(B * U * L, 0.0), out(B * T * U * L);
  std::vector<double> c1, h1;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> xt;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < C * L; ++i) xt.push_back(xv[(b * T + t) * C * L + i]);
    conv_lstm_ref_step(xt, ik.to_vector<double>(), hk.to_vector<double>(), bias.to_vector<double>(), B, C, L, U, K, c,
                       h);
    if (t == 0) c1 = c, h1 = h;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < U * L; ++i) out[(b * T + t) * U * L + i] = h[b * U * L + i];
  }
  for (Device d : test::devices())
    for (DType dt : {DType::f32, DType::f64}) {
      INFO(d.str() << " " << dtype_name(dt));
      auto r = layers::conv_lstm(x.to(d).to(dt), {}, Tensor(), ik.to(d).to(dt), hk.to(d).to(dt), bias.to(d).to(dt));
      check_close(r.output.to(Device::cpu()), out, {B, T, U, L}, tol_of(dt));
      check_close(r.carry[0].to(Device::cpu()), c, {B, U, L}, tol_of(dt));
      auto s = layers::conv_lstm_cell(x.select(1, 0).to(d).to(dt), {}, Tensor(), ik.to(d).to(dt), hk.to(d).to(dt),
                                      bias.to(d).to(dt));
      check_close(s.carry[0].to(Device::cpu()), c1, {B, U, L}, tol_of(dt));
      check_close(s.output.to(Device::cpu()), h1, {B, U, L}, tol_of(dt));
    }
}

TEST_CASE("recurrent gradients against finite differences", "[layers][recurrent]") {
  const int64_t B = 2, T = 3, F = 2, U = 2;
  Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 21);
  Tensor h0 = random_tensor({B, U}, DType::f64, -1, 1, 22), c0 = random_tensor({B, U}, DType::f64, -1, 1, 23);
  Tensor m = from_vector<double>({0, 0, 0, 0, 1, 0}, {B, T});
  for (bool is_lstm : {true, false}) {
    Cell p = make_cell(is_lstm, F, U, is_lstm ? 100 : 120);
    // inputs: x, c0, h0, then input kernels, hidden kernels, biases in the cell's key order
    std::vector<Tensor> in{x, c0, h0};
    for (const auto* keys : {&p.wi, &p.wh, &p.b}) {
      for (const auto& k : *keys) {
        const auto& src = keys == &p.wi ? p.ik : keys == &p.wh ? p.hk : p.bias;
        in.push_back(src.at(k));
      }
    }
    auto f = [p, is_lstm, m](const std::vector<Tensor>& v) {
      size_t i = 3;
      layers::GateParams ik, hk, b;
      for (const auto& k : p.wi) ik[k] = v[i++];
      for (const auto& k : p.wh) hk[k] = v[i++];
      for (const auto& k : p.b) b[k] = v[i++];
      Tensor mm = m.to(v[0].device());
      if (is_lstm) {
        auto r = layers::lstm(v[0], {v[1], v[2]}, mm, ik, hk, b, {.reverse = true});
        return concat({r.output.flatten(), r.carry[0].flatten()}, 0);
      }
      return layers::gru(v[0], {v[2]}, mm, ik, hk, b).output;
    };
    INFO((is_lstm ? "lstm" : "gru"));
    check_grad(f, in);
  }
  // ConvLSTM: 1-D, tiny.
  Tensor cx = random_tensor({1, 2, 1, 3}, DType::f64, -1, 1, 31);
  Tensor ik = random_tensor({4, 1, 3}, DType::f64, -0.6, 0.6, 32), hk = random_tensor({4, 1, 3}, DType::f64, -0.6, 0.6, 33);
  Tensor cb = random_tensor({4}, DType::f64, -0.3, 0.3, 34);
  check_grad([](const std::vector<Tensor>& v) { return layers::conv_lstm(v[0], {}, Tensor(), v[1], v[2], v[3]).output; },
             {cx, ik, hk, cb});
}

// ---- the fused sequence op (lstm_sequence) that layers::lstm runs for the default gates on the CPU

namespace {

// A gate given as a function: layers::lstm then runs its composed per-step path (the reference the
// fused op must match).
const Activation kComposedSigmoid = [](const Tensor& t) { return sigmoid(t); };

// Outputs and final carry of layers::lstm, flattened into one vector (for gradients and comparisons).
Tensor lstm_all(const std::vector<Tensor>& v, const Cell& p, bool reverse, bool fused) {
  size_t i = 3;
  layers::GateParams ik, hk, b;
  for (const auto& k : p.wi) ik[k] = v[i++];
  for (const auto& k : p.wh) hk[k] = v[i++];
  for (; i < v.size(); ++i) b[p.b[i - 3 - p.wi.size() - p.wh.size()]] = v[i];
  layers::RecurrentOptions o{.reverse = reverse};
  if (!fused) o.gate = kComposedSigmoid;
  auto r = layers::lstm(v[0], {v[1], v[2]}, Tensor(), ik, hk, b, o);
  return concat({r.output.flatten(), r.carry[0].flatten(), r.carry[1].flatten()}, 0);
}

std::vector<Tensor> lstm_inputs(const Tensor& x, const Tensor& c0, const Tensor& h0, const Cell& p, DType dt) {
  std::vector<Tensor> in{x.to(dt), c0.to(dt), h0.to(dt)};
  for (const auto* keys : {&p.wi, &p.wh, &p.b})
    for (const auto& k : *keys) {
      const auto& src = keys == &p.wi ? p.ik : keys == &p.wh ? p.hk : p.bias;
      if (src.count(k)) in.push_back(src.at(k).to(dt));
    }
  return in;
}

}  // namespace

TEST_CASE("lstm fused sequence op: forward and gradients equal the composed path and a float64 loop",
          "[layers][recurrent][fused]") {
  // B 20 and U 200: the pointwise passes and the per-step GEMMs split over the pool's threads; U 6
  // leaves a remainder in the vectorized loops; T 1: the first step is the last.
  for (auto [B, T, F, U] : {std::array<int64_t, 4>{3, 5, 4, 6}, std::array<int64_t, 4>{20, 4, 8, 200},
                            std::array<int64_t, 4>{2, 1, 3, 4}}) {
    Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 41);
    Tensor c0 = random_tensor({B, U}, DType::f64, -1, 1, 42), h0 = random_tensor({B, U}, DType::f64, -1, 1, 43);
    for (bool with_bias : {true, false}) {
      Cell p = make_cell(true, F, U, 200, DType::f64, with_bias);
      for (DType dt : {DType::f32, DType::f64})
        for (bool reverse : {false, true}) {
          INFO("B " << B << " U " << U << " " << dtype_name(dt) << " bias " << with_bias << " reverse " << reverse);
          const Tol tol = tol_of(dt);
          SeqRef ref = seq_ref(true, p, x.to_vector<double>(), B, T, {}, reverse, c0.to_vector<double>(),
                               h0.to_vector<double>());
          std::vector<double> expect = ref.out;
          expect.insert(expect.end(), ref.c.begin(), ref.c.end());
          expect.insert(expect.end(), ref.h.begin(), ref.h.end());
          const auto in = lstm_inputs(x, c0, h0, p, dt);
          Tensor fused = lstm_all(in, p, reverse, true);
          check_close(fused, expect, {B * T * U + 2 * B * U}, tol);
          check_close(fused, lstm_all(in, p, reverse, false), tol);
          // Gradients of a weighted sum of every output, to every input (x, c0, h0, the kernels).
          Tensor w = random_tensor({B * T * U + 2 * B * U}, dt, -1, 1, 44);
          auto loss = [&](bool f) {
            return [&, f](const std::vector<Tensor>& v) { return sum(mul(lstm_all(v, p, reverse, f), w)); };
          };
          auto gf = autograd::value_and_grad_flat(loss(true), in).second;
          auto gc = autograd::value_and_grad_flat(loss(false), in).second;
          REQUIRE(gf.size() == in.size());
          for (size_t i = 0; i < in.size(); ++i) {
            INFO("input " << i);
            check_close(gf[i], gc[i], dt == DType::f64 ? Tol{1e-10, 1e-12} : Tol{1e-4, 1e-4});
          }
        }
    }
  }
}

TEST_CASE("lstm fused sequence op: gradients against finite differences", "[layers][recurrent][fused]") {
  const int64_t B = 2, T = 3, F = 2, U = 3;
  Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 51);
  Tensor c0 = random_tensor({B, U}, DType::f64, -1, 1, 52), h0 = random_tensor({B, U}, DType::f64, -1, 1, 53);
  Cell p = make_cell(true, F, U, 300);
  for (bool reverse : {false, true}) {
    INFO("reverse " << reverse);
    check_grad([&](const std::vector<Tensor>& v) { return lstm_all(v, p, reverse, true); },
               lstm_inputs(x, c0, h0, p, DType::f64));
  }
  // The op itself, with the packed kernels and no bias.
  Tensor wx = random_tensor({F, 4 * U}, DType::f64, -0.8, 0.8, 54), wh = random_tensor({U, 4 * U}, DType::f64, -0.8, 0.8, 55);
  check_grad(
      [](const std::vector<Tensor>& v) {
        LstmSequence r = lstm_sequence(v[0], v[1], v[2], Tensor(), v[3], v[4]);
        return concat({r.output.flatten(), r.c.flatten(), r.h.flatten()}, 0);
      },
      {x, wx, wh, c0, h0});
}

TEST_CASE("lstm fused sequence op: grad of grad equals the composed path's", "[layers][recurrent][fused]") {
  const int64_t B = 2, T = 3, F = 2, U = 3;
  Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 61);
  Tensor c0 = random_tensor({B, U}, DType::f64, -1, 1, 62), h0 = random_tensor({B, U}, DType::f64, -1, 1, 63);
  Cell p = make_cell(true, F, U, 400);
  const auto in = lstm_inputs(x, c0, h0, p, DType::f64);
  // d/d(every input) of |d sum(outputs) / dx|^2: the fused backward runs under a recording tape.
  auto penalty = [&](bool fused) {
    return [&, fused](const std::vector<Tensor>& v) {
      Tensor dx = grad(
          [&](const Tensor& xt) {
            std::vector<Tensor> w = v;
            w[0] = xt;
            return sum(lstm_all(w, p, false, fused));
          },
          v[0]);
      return sum(mul(dx, dx));
    };
  };
  auto gf = autograd::value_and_grad_flat(penalty(true), in).second;
  auto gc = autograd::value_and_grad_flat(penalty(false), in).second;
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("input " << i);
    CHECK(gf[i].abs().max().item<double>() > 0);
    check_close(gf[i], gc[i], {1e-10, 1e-12});
  }
}

TEST_CASE("lstm fused sequence op: a two-layer stack, return_sequences, as the composed layers",
          "[layers][recurrent][fused][model]") {
  Model x = input("x", {-1, 6, 5});
  for (bool sequences : {true, false}) {
    INFO("return_sequences " << sequences);
    Model fused = x | lstm(7) | lstm(4, {.return_sequences = sequences});
    Model composed = x | lstm(7, {.gate = kComposedSigmoid}) | lstm(4, {.gate = kComposedSigmoid, .return_sequences = sequences});
    Params p = init(fused, {.dtype = DType::f64, .seed = 5});
    for (auto& [layer, m] : p)
      for (auto& [name, t] : m)
        if (name.rfind("bias.", 0) == 0) t = random_tensor(t.shape(), DType::f64, -0.5, 0.5, 70);
    Tensor xs = random_tensor({3, 6, 5}, DType::f64, -1, 1, 71);
    check_close(apply(fused, p, xs).output, apply(composed, p, xs).output, {1e-12, 1e-12});
    auto g = [&](const Model& m) { return grad([&](const Params& q) { return sum(square(apply(m, q, xs).output)); }, p); };
    Params gf = g(fused), gc = g(composed);
    for (const auto& [layer, m] : gf)
      for (const auto& [name, t] : m) {
        INFO(layer << "." << name);
        check_close(t, gc.at(layer).at(name), {1e-10, 1e-12});
      }
  }
}

TEST_CASE("lstm fused sequence op on CUDA: forward and gradients equal the CPU's", "[layers][recurrent][fused][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  // U 6 and B 3: partial blocks; B 33, U 130, T 9: a grid of several blocks and a long scan.
  for (auto [B, T, F, U] : {std::array<int64_t, 4>{3, 5, 4, 6}, std::array<int64_t, 4>{33, 9, 17, 130}}) {
    Tensor x = random_tensor({B, T, F}, DType::f64, -1, 1, 81);
    Tensor c0 = random_tensor({B, U}, DType::f64, -1, 1, 82), h0 = random_tensor({B, U}, DType::f64, -1, 1, 83);
    for (bool with_bias : {true, false}) {
      Cell p = make_cell(true, F, U, 500, DType::f64, with_bias);
      for (DType dt : {DType::f32, DType::f64})
        for (bool reverse : {false, true}) {
          INFO("B " << B << " U " << U << " " << dtype_name(dt) << " bias " << with_bias << " reverse " << reverse);
          const auto in = lstm_inputs(x, c0, h0, p, dt);
          std::vector<Tensor> in_gpu;
          for (const Tensor& t : in) in_gpu.push_back(t.to(gpu));
          const Tol tol = dt == DType::f64 ? Tol{1e-10, 1e-12} : Tol{1e-4, 1e-4};
          check_close(lstm_all(in_gpu, p, reverse, true).to(Device::cpu()), lstm_all(in, p, reverse, true), tol);
          Tensor w = random_tensor({B * T * U + 2 * B * U}, dt, -1, 1, 84);
          auto loss = [&](const Tensor& wd) {
            return [&, wd](const std::vector<Tensor>& v) { return sum(mul(lstm_all(v, p, reverse, true), wd)); };
          };
          auto gg = autograd::value_and_grad_flat(loss(w.to(gpu)), in_gpu).second;
          auto gc = autograd::value_and_grad_flat(loss(w), in).second;
          for (size_t i = 0; i < in.size(); ++i) {
            INFO("input " << i);
            check_close(gg[i].to(Device::cpu()), gc[i], tol);
          }
        }
    }
  }
}

TEST_CASE("lstm fused sequence op: errors name the op and the shapes", "[layers][recurrent][fused][errors]") {
  Tensor x = zeros({2, 3, 4}), wx = zeros({4, 8}), wh = zeros({2, 8}), c = zeros({2, 2});
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(x, zeros({4, 6}), wh, Tensor(), c, c),
                           "lstm: the input kernel must be [4, 8] for the input f32[2, 3, 4] on cpu, got f32[4, 6]");
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(x, wx, zeros({2, 6}), Tensor(), c, c),
                           "lstm: the hidden kernel must be [units, 4 units], got f32[2, 6]");
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(x, wx, wh, zeros({7}), c, c), "lstm: the bias must be [8], got f32[7]");
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(x, wx, wh, Tensor(), zeros({3, 2}), c),
                           "lstm: the initial c and h must be [2, 2], got f32[3, 2] on cpu and f32[2, 2] on cpu");
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(zeros({2, 0, 4}), wx, wh, Tensor(), c, c),
                           "lstm: the input must be [batch, time > 0, features]");
  AXON_REQUIRE_THROWS_WITH(lstm_sequence(zeros({2, 3, 4}, DType::i32), wx, wh, Tensor(), c, c),
                           "lstm: every operand must be floating");
}

TEST_CASE("recurrent errors name the op and the shapes", "[layers][recurrent][errors]") {
  Cell p = make_cell(true, 3, 2, 140);
  Tensor x = zeros({2, 4, 3}, DType::f64);
  auto bad = p.ik;
  bad["wif"] = zeros({3, 5}, DType::f64);
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, Tensor(), bad, p.hk, p.bias),
                           "lstm: input_kernel \"wif\" is f64[3, 5] on cpu; every input kernel must be [3, 2]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(zeros({2, 4, 5}, DType::f64), {}, Tensor(), p.ik, p.hk, p.bias),
                           "the input has 5 features");
  auto missing = p.hk;
  missing.erase("who");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, Tensor(), p.ik, missing, p.bias), "hidden_kernel has no \"who\"");
  auto wrong_h = p.hk;
  wrong_h["whg"] = zeros({3, 2}, DType::f64);
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, Tensor(), p.ik, wrong_h, p.bias), "every hidden kernel must be [2, 2]");
  auto wrong_b = p.bias;
  wrong_b["bo"] = zeros({3}, DType::f64);
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, Tensor(), p.ik, p.hk, wrong_b), "every bias must be [2]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, zeros({2, 3}), p.ik, p.hk, p.bias),
                           "lstm: the mask f32[2, 3] on cpu must be a scalar, [batch, time] = [2, 4]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {zeros({2, 2}, DType::f64)}, Tensor(), p.ik, p.hk, p.bias),
                           "the carry must hold 2 tensors");
  AXON_REQUIRE_THROWS_WITH(
      layers::lstm(x, {zeros({2, 3}, DType::f64), zeros({2, 2}, DType::f64)}, Tensor(), p.ik, p.hk, p.bias),
      "carry 0 must be [2, 2]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(zeros({2, 3}, DType::f64), {}, Tensor(), p.ik, p.hk, p.bias),
                           "lstm: the input must be [batch, time, features]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm_cell(zeros({2, 3}, DType::f64), {}, zeros({3}), p.ik, p.hk, p.bias),
                           "lstm_cell: the step mask f32[3] on cpu must be a scalar, [2] or [2, 1]");
  AXON_REQUIRE_THROWS_WITH(layers::lstm(x, {}, Tensor(), p.ik, p.hk, p.bias, {.gate = "nope"}), "nope");
  Cell g = make_cell(false, 3, 2, 160);
  AXON_REQUIRE_THROWS_WITH(layers::gru(x, {}, Tensor(), g.ik, g.hk, {{"br", g.bias["br"]}}), "bias has no \"bz\"");
  AXON_REQUIRE_THROWS_WITH(layers::conv_lstm(zeros({1, 2, 3, 4}), {}, Tensor(), zeros({8, 2, 3}), zeros({8, 2, 3})),
                           "input_kernel f32[8, 2, 3] on cpu expects 2 input channels but the input");
  AXON_REQUIRE_THROWS_WITH(layers::conv_lstm(zeros({1, 2, 3, 4}), {}, Tensor(), zeros({8, 3, 3}), zeros({8, 3, 3})),
                           "hidden_kernel must be [8, 2, k...]");
  AXON_REQUIRE_THROWS_WITH(
      layers::conv_lstm(zeros({1, 2, 3, 4}), {}, Tensor(), zeros({8, 3, 3}), zeros({8, 2, 3}), {},
                        {.padding = PaddingMode::valid}),
      "strides and padding must keep the spatial size of the state");
}

// ---- model builders

namespace {

layers::GateParams gather(const ParamMap& p, const std::string& prefix, const std::vector<std::string>& keys) {
  layers::GateParams m;
  for (const auto& k : keys) m[k] = p.at(prefix + k);
  return m;
}

}  // namespace

TEST_CASE("lstm / gru builders: shapes, parameters, apply equals the functional layers", "[layers][recurrent][model]") {
  Model x = input("x", {-1, 5, 3});
  Model m = x | lstm(4);
  CHECK(m.output_shape() == Shape{-1, 5, 4});
  CHECK(m.name() == "lstm_0");
  Params p = init(m, {.dtype = DType::f64, .seed = 3});
  const auto& lp = p.at("lstm_0");
  REQUIRE(lp.size() == 12);
  CHECK(lp.at("input_kernel.wii").shape() == Shape{3, 4});
  CHECK(lp.at("hidden_kernel.who").shape() == Shape{4, 4});
  CHECK(lp.at("bias.bf").shape() == Shape{4});
  CHECK(lp.at("bias.bf").abs().max().item<double>() == 0);  // zeros
  // glorot_uniform on [3, 4]: |w| <= sqrt(6 / 7); distinct draws per gate.
  CHECK(lp.at("input_kernel.wii").abs().max().item<double>() <= std::sqrt(6.0 / 7.0));
  CHECK(max_abs_diff(lp.at("input_kernel.wii"), lp.at("input_kernel.wif")) > 0);
  CHECK(parameter_count(m) == 4 * (3 * 4 + 4 * 4 + 4));

  Tensor xv = random_tensor({2, 5, 3}, DType::f64, -1, 1, 41);
  const std::vector<std::string> wi{"wii", "wif", "wig", "wio"}, wh{"whi", "whf", "whg", "who"}, bb{"bi", "bf", "bg", "bo"};
  auto ref = layers::lstm(xv, {}, Tensor(), gather(lp, "input_kernel.", wi), gather(lp, "hidden_kernel.", wh),
                          gather(lp, "bias.", bb));
  check_close(predict(m, p, xv), ref.output, {0, 0});

  // return_sequences = false: the final h; bidirectional: forward and reversed halves concatenated.
  Model last = x | lstm(4, {.return_sequences = false, .name = "enc"});
  CHECK(last.output_shape() == Shape{-1, 4});
  Params pl = init(last, {.dtype = DType::f64, .seed = 3});
  CHECK(pl.at("enc").at("input_kernel.wii").shape() == Shape{3, 4});
  Model bi = x | gru(3, {.bidirectional = true});
  CHECK(bi.output_shape() == Shape{-1, 5, 6});
  Params pb = init(bi, {.dtype = DType::f64, .seed = 5});
  const auto& gp = pb.at("gru_0");
  REQUIRE(gp.size() == 20);
  const std::vector<std::string> gi{"wir", "wiz", "win"}, gh{"whr", "whz", "whn"}, gb{"br", "bz", "bin", "bhn"};
  auto f = layers::gru(xv, {}, Tensor(), gather(gp, "input_kernel.", gi), gather(gp, "hidden_kernel.", gh),
                       gather(gp, "bias.", gb));
  auto r = layers::gru(xv, {}, Tensor(), gather(gp, "backward.input_kernel.", gi),
                       gather(gp, "backward.hidden_kernel.", gh), gather(gp, "backward.bias.", gb), {.reverse = true});
  check_close(predict(bi, pb, xv), concat({f.output, r.output}, -1), {0, 0});
  // Against the float64 loop for the reversed half: plain loops over the sequence read backwards.
  Cell cell;
  cell.in = 3;
  cell.units = 3;
  for (const auto& k : gi) cell.v[k] = gp.at("backward.input_kernel." + k).to_vector<double>();
  for (const auto& k : gh) cell.v[k] = gp.at("backward.hidden_kernel." + k).to_vector<double>();
  for (const auto& k : gb) cell.v[k] = gp.at("backward.bias." + k).to_vector<double>();
  SeqRef back = seq_ref(false, cell, xv.to_vector<double>(), 2, 5, {}, true);
  check_close(r.output, back.out, {2, 5, 3}, tol_of(DType::f64));
  Model bi_last = x | gru(3, {.return_sequences = false, .bidirectional = true});
  CHECK(bi_last.output_shape() == Shape{-1, 6});
  check_close(predict(bi_last, pb, xv),
              concat({f.carry[0], r.carry[0]}, -1), {0, 0});
}

TEST_CASE("recurrent builders: mask input, hidden_state inputs, Axon's random initial state", "[layers][recurrent][model]") {
  Model tokens = input("tokens", {-1, 4});
  Model feats = input("feats", {-1, 4, 2});
  Model pad = mask(tokens, 0);
  CHECK(pad.output_shape() == Shape{-1, 4});
  Model m = lstm(feats, 3, {.mask = pad});
  Params p = init(m, {.dtype = DType::f64, .seed = 9});
  Tensor ids = from_vector<int64_t>({5, 2, 0, 0, 7, 0, 3, 0}, {2, 4});
  Tensor fv = random_tensor({2, 4, 2}, DType::f64, -1, 1, 51);
  Tensor got = predict(m, p, {{"tokens", ids}, {"feats", fv}});
  Cell cell;
  cell.in = 2;
  cell.units = 3;
  cell.wi = {"wii", "wif", "wig", "wio"};
  cell.wh = {"whi", "whf", "whg", "who"};
  cell.b = {"bi", "bf", "bg", "bo"};
  for (const auto& k : cell.wi) cell.v[k] = p.at("lstm_0").at("input_kernel." + k).to_vector<double>();
  for (const auto& k : cell.wh) cell.v[k] = p.at("lstm_0").at("hidden_kernel." + k).to_vector<double>();
  for (const auto& k : cell.b) cell.v[k] = p.at("lstm_0").at("bias." + k).to_vector<double>();
  SeqRef ref = seq_ref(true, cell, fv.to_vector<double>(), 2, 4, {0, 0, 1, 1, 0, 1, 0, 1});
  check_close(got, ref.out, {2, 4, 3}, tol_of(DType::f64));
  Tensor mv = predict(pad, {}, ids);
  CHECK(mv.dtype() == DType::boolean);
  test::check_equal(mv, {0, 0, 1, 1, 0, 1, 0, 1}, {2, 4});

  // Initial state from models.
  Model h0 = input("h0", {-1, 3});
  Model g = gru(feats, 3, {.hidden_state = {h0}});
  Params pg = init(g, {.dtype = DType::f64, .seed = 2});
  Tensor h0v = random_tensor({2, 3}, DType::f64, -1, 1, 52);
  Cell gc;
  gc.in = 2;
  gc.units = 3;
  for (const char* k : {"wir", "wiz", "win"}) gc.v[k] = pg.at("gru_0").at(std::string("input_kernel.") + k).to_vector<double>();
  for (const char* k : {"whr", "whz", "whn"}) gc.v[k] = pg.at("gru_0").at(std::string("hidden_kernel.") + k).to_vector<double>();
  for (const char* k : {"br", "bz", "bin", "bhn"}) gc.v[k] = pg.at("gru_0").at(std::string("bias.") + k).to_vector<double>();
  SeqRef gref = seq_ref(false, gc, fv.to_vector<double>(), 2, 4, {}, false, {}, h0v.to_vector<double>());
  check_close(predict(g, pg, {{"feats", fv}, {"h0", h0v}}), gref.out, {2, 4, 3}, tol_of(DType::f64));

  // ⚠ Axon's random initial state: deterministic per seed, different from zeros, within glorot's bound.
  Model zr = feats | lstm(3, {.return_sequences = false});
  Model rn = feats | lstm(3, {.initial_state = InitialState::random, .seed = 7, .return_sequences = false});
  Params pz = init(zr, {.dtype = DType::f64, .seed = 1});
  Tensor a = predict(rn, pz, fv), b = predict(rn, pz, fv), z = predict(zr, pz, fv);
  check_close(a, b, {0, 0});
  CHECK(max_abs_diff(a, z) > 1e-6);
  Model rn2 = feats | lstm(3, {.initial_state = InitialState::random, .seed = 8, .return_sequences = false});
  CHECK(max_abs_diff(predict(rn2, pz, fv), a) > 1e-6);
  // With a zeros recurrent_initializer the random state is zeros again.
  Model rz = feats | lstm(3, {.initial_state = InitialState::random, .recurrent_initializer = "zeros",
                              .return_sequences = false});
  check_close(predict(rz, pz, fv), z, {0, 0});
}

TEST_CASE("recurrent builders: gradients through apply, conv_lstm, build-time errors", "[layers][recurrent][model]") {
  Model x = input("x", {-1, 3, 2});
  Model m = x | gru(2, {.hidden_kernel_initializer = "orthogonal"}) | lstm(2, {.return_sequences = false});
  Params p = init(m, {.dtype = DType::f64, .seed = 4});
  // Orthogonal hidden kernels: W^T W = I.
  Tensor w = p.at("gru_0").at("hidden_kernel.whz");
  test::check_close(matmul(w.t(), w), eye(2, -1, DType::f64), {1e-12, 1e-12});
  Tensor xv = random_tensor({2, 3, 2}, DType::f64, -1, 1, 61);
  auto f = [m, p](const std::vector<Tensor>& in) {
    Params q = p;
    q["gru_0"]["input_kernel.win"] = in[1];
    q["lstm_0"]["hidden_kernel.whf"] = in[2];
    for (auto& [layer, entries] : q)
      for (auto& [name, t] : entries) t = t.to(in[0].device()).to(in[0].dtype());
    return apply(m, q, in[0]).output;
  };
  check_grad(f, {xv, p["gru_0"]["input_kernel.win"], p["lstm_0"]["hidden_kernel.whf"]});

  Model cl = input("frames", {-1, 3, 2, 4, 4}) | conv_lstm(3, {.kernel_size = {3}});
  CHECK(cl.output_shape() == Shape{-1, 3, 3, 4, 4});
  Params pc = init(cl, {.dtype = DType::f64, .seed = 6});
  CHECK(pc.at("conv_lstm_0").at("input_kernel").shape() == Shape{12, 2, 3, 3});
  CHECK(pc.at("conv_lstm_0").at("hidden_kernel").shape() == Shape{12, 3, 3, 3});
  Tensor fr = random_tensor({2, 3, 2, 4, 4}, DType::f64, -1, 1, 62);
  auto ref = layers::conv_lstm(fr, {}, Tensor(), pc.at("conv_lstm_0").at("input_kernel"),
                               pc.at("conv_lstm_0").at("hidden_kernel"), pc.at("conv_lstm_0").at("bias"));
  check_close(predict(cl, pc, fr), ref.output, {0, 0});
  Model cl_last = input("frames", {-1, 3, 2, 4, 4}) | conv_lstm(3, {.kernel_size = {3}, .return_sequences = false});
  CHECK(cl_last.output_shape() == Shape{-1, 3, 4, 4});

  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 3}) | lstm(2), "lstm_0 (lstm): input shape [-1, 3] must be [batch, time, features]");
  AXON_REQUIRE_THROWS_WITH(input("x", {-1, 3, -1}) | lstm(2), "feature dim");
  AXON_REQUIRE_THROWS_WITH(lstm(x, 2, {.mask = input("m", {-1, 4})}), "mask shape [-1, 4] must be [batch, time]");
  AXON_REQUIRE_THROWS_WITH(x | gru(2, {.activation = "nope"}), "unknown activation \"nope\"");
  AXON_REQUIRE_THROWS_WITH(lstm(x, 2, {.hidden_state = {input("h", {-1, 2})}}), "hidden_state must hold 2 models");
  AXON_REQUIRE_THROWS_WITH(gru(x, 2, {.hidden_state = {input("h", {-1, 3})}}), "hidden_state 0 has shape [-1, 3]");
  AXON_REQUIRE_THROWS_WITH(input("f", {-1, 3, 2, 4}) | conv_lstm(2, {.kernel_size = {3}, .padding = PaddingMode::valid}),
                           "must keep the state's size");
  // Wrong parameter shapes at apply name the parameter.
  Params bad = p;
  bad["gru_0"]["input_kernel.wiz"] = zeros({3, 2}, DType::f64);
  AXON_REQUIRE_THROWS_WITH(apply(m, bad, xv), "parameter \"input_kernel.wiz\" of layer \"gru_0\"");
}
