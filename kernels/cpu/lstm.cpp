// The whole-sequence LSTM (kernels/include/axon/kernels/recurrent.hpp): the GEMMs over batch x time
// on the kernels' pool; the scan's per-step GEMMs on OpenBLAS or on packed panels (scan_path), one
// fused pointwise pass per step forward and backward.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include <axon/error.hpp>
#include <axon/kernels/gemm.hpp>
#include <axon/kernels/recurrent.hpp>

#include "blas.hpp"
#include "lstm_cell_x86.hpp"
#include "packed_panels.hpp"
#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {

// C = op(A) op(B) + beta C with the columns of C split over the pool: the per-step GEMMs have few
// rows (the batch) and many columns, and must accumulate into the gate buffer (beta = 1), which
// cpu::gemm does not offer.
template <class T>
void gemm_cols(bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
               T beta, T* c, int64_t ldc) {
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 20) / std::max<int64_t>(1, m * k));
  parallel_for(n, grain, [&](int64_t c0, int64_t c1) {
    blas_gemm(false, trans_b, m, c1 - c0, k, T(1), a, lda, trans_b ? b + c0 * ldb : b + c0, ldb, beta, c + c0, ldc);
  });
}

void gemm_all(DType dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, const void* b,
              int64_t ldb, void* c, int64_t ldc) {
  GemmArgs g;
  g.dtype = dt;
  g.m = m, g.n = n, g.k = k;
  g.trans_a = ta, g.trans_b = tb;
  g.a = a, g.lda = lda, g.b = b, g.ldb = ldb, g.c = c, g.ldc = ldc;
  gemm(g);
}

// tanh(c) in the backward: vm's (~2 ulp), or with kFast (the f32 rows scan, whose forward is
// lstm_cell_forward_avx2) vm::tanh_rational's (6 ulp, one division and no exponential).
template <bool kFast, class T>
AXON_VM_INLINE T cell_tanh(T x) {
  if constexpr (kFast) return vm::tanh_rational(x);
  else return vm::tanh(x);
}

// n units of one batch row of one step: g holds pre-activations [i f g o] (without the bias; gate q
// at g + q U) and gets the activated gates; cp is c_prev.
template <class T>
AXON_VM_INLINE void forward_row(T* __restrict g, const T* __restrict bias, const T* __restrict cp, T* __restrict c,
                                T* __restrict h, int64_t n, int64_t U) {
  T *gi = g, *gf = g + U, *gg = g + 2 * U, *go = g + 3 * U;
  const T *bi = bias, *bf = bias + U, *bg = bias + 2 * U, *bo = bias + 3 * U;
  for (int64_t u = 0; u < n; ++u) {
    const T i = vm::sigmoid(gi[u] + bi[u]), f = vm::sigmoid(gf[u] + bf[u]), a = vm::tanh(gg[u] + bg[u]),
            o = vm::sigmoid(go[u] + bo[u]);
    const T cv = f * cp[u] + i * a;
    gi[u] = i, gf[u] = f, gg[u] = a, go[u] = o;
    c[u] = cv;
    h[u] = o * vm::tanh(cv);
  }
}

// dh = the output's gradient + the recurrent one; dc (in: from the step after, out: to the step
// before) is updated in place; dg gets the pre-activation gradients.
template <class T, bool kFast = false>
AXON_VM_INLINE void backward_row(const T* __restrict g, const T* __restrict cp, const T* __restrict c,
                                 const T* __restrict dh_out, const T* __restrict dh_rec, T* __restrict dc,
                                 T* __restrict dg, int64_t n, int64_t U) {
  const T *gi = g, *gf = g + U, *gg = g + 2 * U, *go = g + 3 * U;
  for (int64_t u = 0; u < n; ++u) {
    const T i = gi[u], f = gf[u], a = gg[u], o = go[u];
    const T tc = cell_tanh<kFast>(c[u]);
    const T dh = dh_out[u] + dh_rec[u];
    const T dcv = dc[u] + dh * o * (T(1) - tc * tc);
    dg[u] = dcv * a * i * (T(1) - i);
    dg[U + u] = dcv * cp[u] * f * (T(1) - f);
    dg[2 * U + u] = dcv * i * (T(1) - a * a);
    dg[3 * U + u] = dh * tc * o * (T(1) - o);
    dc[u] = dcv * f;
  }
}

// The f32 rows as their own functions so that they get the AVX2 / AVX-512 clones.
AXON_VM_CLONES void forward_row_f32(float* g, const float* bias, const float* cp, float* c, float* h, int64_t n,
                                    int64_t U) {
  forward_row(g, bias, cp, c, h, n, U);
}
AXON_VM_CLONES void backward_row_fast_f32(const float* g, const float* cp, const float* c, const float* dh_out,
                                          const float* dh_rec, float* dc, float* dg, int64_t U) {
  backward_row<float, true>(g, cp, c, dh_out, dh_rec, dc, dg, U, U);
}
AXON_VM_CLONES void add_row(float* __restrict acc, const float* __restrict v, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] += v[j];
}
AXON_VM_CLONES void backward_row_f32(const float* g, const float* cp, const float* c, const float* dh_out,
                                     const float* dh_rec, float* dc, float* dg, int64_t n, int64_t U) {
  backward_row(g, cp, c, dh_out, dh_rec, dc, dg, n, U);
}
void forward_row_any(float* g, const float* bias, const float* cp, float* c, float* h, int64_t U) {
  forward_row_f32(g, bias, cp, c, h, U, U);
}
void forward_row_any(double* g, const double* bias, const double* cp, double* c, double* h, int64_t U) {
  forward_row(g, bias, cp, c, h, U, U);
}
void backward_row_any(const float* g, const float* cp, const float* c, const float* dh_out, const float* dh_rec,
                      float* dc, float* dg, int64_t U) {
  backward_row_f32(g, cp, c, dh_out, dh_rec, dc, dg, U, U);
}
void backward_row_any(const double* g, const double* cp, const double* c, const double* dh_out,
                      const double* dh_rec, double* dc, double* dg, int64_t U) {
  backward_row(g, cp, c, dh_out, dh_rec, dc, dg, U, U);
}

// Enough batch rows per pool part to outweigh waking a thread.
int64_t row_grain(int64_t units) { return std::max<int64_t>(1, 2048 / std::max<int64_t>(1, units)); }

// Step s of the scan reads time index t; the step before it read prev_time(t).
struct Order {
  int64_t T;
  bool reverse;
  int64_t time(int64_t s) const { return reverse ? T - 1 - s : s; }
  int64_t prev_time(int64_t t) const { return reverse ? t + 1 : t - 1; }
};

// The scans' choice (AXON_LSTM=blas|packed|rows, read at each call so that tests and A/B runs can
// force any): f32 on CPUs with AVX2 + FMA runs `rows` when each thread gets at least kRowsMin batch
// rows, else OpenBLAS per step (`blas`, and f64 always). `packed` splits each step's units over the
// pool on Wh packed once (one join per step); it measured level with `blas` on W6. `rows` splits
// the batch instead (below), which needs no join at all.
enum class Scan { blas, packed, rows };
constexpr int64_t kRowsMin = 8;

Scan scan_path(DType dt, int64_t batch, int64_t units) {
  if (dt != DType::f32 || units == 0 || !packed_gemm_available()) return Scan::blas;
  const char* s = std::getenv("AXON_LSTM");
  if (s && std::strcmp(s, "packed") == 0) return Scan::packed;
  if (s && std::strcmp(s, "rows") == 0) return Scan::rows;
  if (s && std::strcmp(s, "blas") == 0) return Scan::blas;
  return batch >= kRowsMin * std::min<int64_t>(2, num_threads()) ? Scan::rows : Scan::blas;
}

template <class T>
void forward_scan_blas(const LstmDims& d, const T* wh, const T* bias, const T* c0, const T* h0, T* gates, T* cs,
                       T* hs) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U;
  const Order ord{Tn, d.reverse};
  for (int64_t s = 0; s < Tn; ++s) {
    const int64_t t = ord.time(s), tp = ord.prev_time(t);
    const bool first = s == 0;
    if (U > 0)
      gemm_cols<T>(false, B, G, U, first ? h0 : hs + tp * U, first ? U : Tn * U, wh, G, T(1), gates + t * G, Tn * G);
    parallel_for(B, row_grain(U), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = b * Tn + t;
        const T* cp = first ? c0 + b * U : cs + (b * Tn + tp) * U;
        forward_row_any(gates + at * G, bias, cp, cs + at * U, hs + at * U, U);
      }
    });
  }
}

// The packed scans split the units over the pool: a part owns units [u0, u1) (whole panels) and
// computes their four gates' columns and their pointwise math, so each step needs one join. Each
// step's GEMM operand (h_prev forward, dgates backward) is also kept contiguous, double-buffered
// (the buffers' rows in the [B, T, width] tensors lie T width apart, a power of two that maps them
// onto the same cache sets).
template <class F>
void for_unit_panels(int64_t U, F&& f) {
  parallel_for((U + kPanel - 1) / kPanel, 1,
               [&](int64_t p0, int64_t p1) { f(p0 * kPanel, std::min(U, p1 * kPanel)); });
}

void forward_scan_packed(const LstmDims& d, const float* wh, const float* bias, const float* c0, const float* h0,
                         float* gates, float* cs, float* hs) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, ldh = U + 16;
  const Order ord{Tn, d.reverse};
  // One packed operand per gate, so that a part's units are whole panels of each.
  std::vector<PackedPanels> w;
  for (int64_t q = 0; q < 4; ++q) w.push_back(pack_panels(wh + q * U, G, U, U, false));
  std::vector<float> hbuf(static_cast<size_t>(2 * B * ldh));
  for (int64_t s = 0; s < Tn; ++s) {
    const int64_t t = ord.time(s), tp = ord.prev_time(t);
    const bool first = s == 0;
    const float* a = first ? h0 : hbuf.data() + (s % 2) * B * ldh;
    float* hnext = hbuf.data() + ((s + 1) % 2) * B * ldh;
    for_unit_panels(U, [&](int64_t u0, int64_t u1) {
      for (int64_t q = 0; q < 4; ++q)
        packed_gemm(B, a, first ? U : ldh, w[q], gates + t * G + q * U, Tn * G, true, u0, u1);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t at = b * Tn + t;
        const float* cp = first ? c0 + b * U : cs + (b * Tn + tp) * U;
        forward_row_f32(gates + at * G + u0, bias + u0, cp + u0, cs + at * U + u0, hs + at * U + u0, u1 - u0, U);
        std::memcpy(hnext + b * ldh + u0, hs + at * U + u0, sizeof(float) * static_cast<size_t>(u1 - u0));
      }
    });
  }
}


// The batch-split scans: a batch row's recurrence never reads another row's, so each part of the
// pool runs the whole scan of its own rows on Wh packed once (shared, read-only) with no join between
// steps: one thread's pointwise pass runs while the other's GEMM does, and nothing waits for the
// slower thread until the end. Each part keeps its step's GEMM operand contiguous (the rows of the
// [B, T, width] tensors lie a power of two apart, on the same cache sets).
// Parts of at least kRowsMin rows (fewer rows a step's GEMM reads Wh for each), as many as threads.
int64_t row_parts(int64_t B) { return std::clamp<int64_t>(B / kRowsMin, 1, num_threads()); }

template <class F>
void for_row_parts(int64_t B, F&& f) {
  const int64_t parts = row_parts(B);
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) f(p, p * B / parts, (p + 1) * B / parts);
  });
}

void forward_scan_rows(const LstmDims& d, const float* wh, const float* bias, const float* c0, const float* h0,
                       float* gates, float* cs, float* hs) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, ldh = U + 16, ldg = G + 16;
  const Order ord{Tn, d.reverse};
  const PackedPanels w = pack_panels(wh, G, U, G, false);
  for_row_parts(B, [&](int64_t, int64_t b0, int64_t b1) {
    // The step's gates accumulate in a contiguous copy (GEMM tiles storing straight into rows T 4U
    // apart ran 13% slower), and c and h stay in contiguous copies from one step to the next; the
    // tensors' rows are only streamed out.
    const int64_t m = b1 - b0;
    std::vector<float> hbuf(static_cast<size_t>(m * ldh)), cbuf(static_cast<size_t>(2 * m * ldh)),
        gbuf(static_cast<size_t>(m * ldg));
    for (int64_t b = b0; b < b1; ++b)
      std::memcpy(cbuf.data() + (b - b0) * ldh, c0 + b * U, sizeof(float) * static_cast<size_t>(U));
    for (int64_t s = 0; s < Tn; ++s) {
      const int64_t t = ord.time(s);
      const float* cprev = cbuf.data() + (s % 2) * m * ldh;
      float* cnext = cbuf.data() + ((s + 1) % 2) * m * ldh;
      for (int64_t b = b0; b < b1; ++b)
        std::memcpy(gbuf.data() + (b - b0) * ldg, gates + (b * Tn + t) * G, sizeof(float) * static_cast<size_t>(G));
      packed_gemm(m, s == 0 ? h0 + b0 * U : hbuf.data(), s == 0 ? U : ldh, w, gbuf.data(), ldg, true, 0, G);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = b * Tn + t, r = b - b0;
        float *g = gbuf.data() + r * ldg, *c = cnext + r * ldh, *h = hbuf.data() + r * ldh;
        lstm_cell_forward_avx2(g, bias, cprev + r * ldh, c, h, U);
        stream_copy(gates + at * G, g, G);
        stream_copy(cs + at * U, c, U);
        stream_copy(hs + at * U, h, U);
      }
    }
    stream_fence();
  });
}

template <class T>
void forward_t(const LstmDims& d, const T* x, const T* wx, const T* wh, const T* bias, const T* c0, const T* h0,
               T* gates, T* cs, T* hs) {
  const int64_t B = d.batch, Tn = d.time, G = 4 * d.units;
  std::vector<T> zero_bias;
  if (!bias) zero_bias.assign(static_cast<size_t>(G), T(0)), bias = zero_bias.data();
  gemm_all(dtype_of<T>::value, false, false, B * Tn, G, d.in, x, d.in, wx, G, gates, G);
  if constexpr (std::is_same_v<T, float>) {
    switch (scan_path(DType::f32, B, d.units)) {
      case Scan::packed: return forward_scan_packed(d, wh, bias, c0, h0, gates, cs, hs);
      case Scan::rows: return forward_scan_rows(d, wh, bias, c0, h0, gates, cs, hs);
      case Scan::blas: break;
    }
  }
  forward_scan_blas(d, wh, bias, c0, h0, gates, cs, hs);
}

// dc0 and dh0 hold the final carry's gradients on entry and carry the recurrent ones through the scan.
template <class T>
void backward_scan_blas(const LstmDims& d, const T* wh, const T* c0, const T* gates, const T* cs, const T* dhs,
                        T* dgates, T* dc0, T* dh0) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U;
  const Order ord{Tn, d.reverse};
  for (int64_t s = Tn - 1; s >= 0; --s) {
    const int64_t t = ord.time(s), tp = ord.prev_time(t);
    const bool first = s == 0;
    parallel_for(B, row_grain(U), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = b * Tn + t;
        const T* cp = first ? c0 + b * U : cs + (b * Tn + tp) * U;
        backward_row_any(gates + at * G, cp, cs + at * U, dhs + at * U, dh0 + b * U, dc0 + b * U, dgates + at * G, U);
      }
    });
    // dh_prev = dgates_t Wh^T
    if (U > 0) gemm_cols<T>(true, B, U, G, dgates + t * G, Tn * G, wh, G, T(0), dh0, U);
  }
}

// Each join ends step s's pointwise pass: the next part computes dh_prev of its units (which needs
// every unit's dgates) and then step s-1's pointwise pass of the same units.
void backward_scan_packed(const LstmDims& d, const float* wh, const float* c0, const float* gates, const float* cs,
                          const float* dhs, float* dgates, float* dc0, float* dh0) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, ldg = G + 16;
  const Order ord{Tn, d.reverse};
  const PackedPanels wt = pack_panels(wh, G, G, U, true);
  std::vector<float> gbuf(static_cast<size_t>(2 * B * ldg));
  for (int64_t s = Tn - 1; s >= -1; --s) {
    const float* dg_after = gbuf.data() + ((s + 1) % 2) * B * ldg;  // step s+1's dgates
    float* dg = gbuf.data() + ((s + 2) % 2) * B * ldg;
    for_unit_panels(U, [&](int64_t u0, int64_t u1) {
      const int64_t n = u1 - u0;
      if (s < Tn - 1) packed_gemm(B, dg_after, ldg, wt, dh0, U, false, u0, u1);  // dh_prev = dgates Wh^T
      if (s < 0) return;
      const int64_t t = ord.time(s), tp = ord.prev_time(t);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t at = b * Tn + t;
        const float* cp = s == 0 ? c0 + b * U : cs + (b * Tn + tp) * U;
        float* dgr = dgates + at * G;
        backward_row_f32(gates + at * G + u0, cp + u0, cs + at * U + u0, dhs + at * U + u0, dh0 + b * U + u0,
                         dc0 + b * U + u0, dgr + u0, n, U);
        for (int64_t q = 0; q < 4; ++q)
          std::memcpy(dg + b * ldg + q * U + u0, dgr + q * U + u0, sizeof(float) * static_cast<size_t>(n));
      }
    });
  }
}

// The backward of forward_scan_rows: each part runs its rows' steps in reverse, dh_prev = dgates Wh^T
// on Wh^T packed once, and sums its rows' dgates into its own share of dbias (null: none) while they
// are in L1 instead of a pass over the [B T, 4U] dgates afterwards.
void backward_scan_rows(const LstmDims& d, const float* wh, const float* c0, const float* gates, const float* cs,
                        const float* dhs, float* dgates, float* dc0, float* dh0, float* dbias) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, ldg = G + 16;
  const Order ord{Tn, d.reverse};
  const PackedPanels wt = pack_panels(wh, G, G, U, true);
  const int64_t parts = row_parts(B);
  std::vector<float> db(static_cast<size_t>(dbias ? parts * G : 0), 0.f);
  for_row_parts(B, [&](int64_t p, int64_t b0, int64_t b1) {
    std::vector<float> gbuf(static_cast<size_t>((b1 - b0) * ldg));
    float* dbp = dbias ? db.data() + p * G : nullptr;
    for (int64_t s = Tn - 1; s >= 0; --s) {
      const int64_t t = ord.time(s), tp = ord.prev_time(t);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = b * Tn + t;
        const float* cp = s == 0 ? c0 + b * U : cs + (b * Tn + tp) * U;
        float* dg = gbuf.data() + (b - b0) * ldg;
        backward_row_fast_f32(gates + at * G, cp, cs + at * U, dhs + at * U, dh0 + b * U, dc0 + b * U, dg, U);
        stream_copy(dgates + at * G, dg, G);
        if (dbp) add_row(dbp, dg, G);
      }
      packed_gemm(b1 - b0, gbuf.data(), ldg, wt, dh0 + b0 * U, U, false, 0, U);  // dh_prev = dgates Wh^T
    }
    stream_fence();
  });
  if (dbias)
    for (int64_t j = 0; j < G; ++j) {
      float v = 0;
      for (int64_t p = 0; p < parts; ++p) v += db[static_cast<size_t>(p * G + j)];
      dbias[j] = v;
    }
}

// dWh = sum over (b, t) of h_prev(b, t)^T dgates(b, t). In the [B T, U] row order of hs, h_prev of
// row r is row r - 1 (r + 1 reversed) except at each batch row's first step, so dWh is one GEMM of
// hs against dgates shifted by a row, plus a rank-B GEMM that swaps the wrongly paired neighbour
// (the previous batch row's last h) for h0: no [B, T, U] copy of h_prev.
template <class T>
void hidden_weight_grad(const LstmDims& d, const T* h0, const T* hs, const T* dgates, T* dwh) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, BT = B * Tn;
  const DType dt = dtype_of<T>::value;
  const int64_t edge = d.reverse ? Tn - 1 : 0, shift = d.reverse ? 1 : -1;
  if (BT > 1)
    gemm_all(dt, true, false, U, G, BT - 1, d.reverse ? hs + U : hs, U, d.reverse ? dgates : dgates + G, G, dwh, G);
  else
    std::fill(dwh, dwh + U * G, T(0));
  // delta^T [U, B]: h0(b) minus the neighbour row the shifted GEMM paired with dgates(b, edge).
  std::vector<T> delta_t(static_cast<size_t>(U * B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t nb = b * Tn + edge + shift;
    const bool paired = nb >= 0 && nb < BT;
    for (int64_t u = 0; u < U; ++u) delta_t[u * B + b] = h0[b * U + u] - (paired ? hs[nb * U + u] : T(0));
  }
  if (B > 0) gemm_cols<T>(false, U, G, B, delta_t.data(), B, dgates + edge * G, Tn * G, T(1), dwh, G);
}

template <class T>
void backward_t(const LstmDims& d, const T* x, const T* wx, const T* wh, const T* c0, const T* h0, const T* gates,
                const T* cs, const T* hs, const T* dhs, const T* dc_last, const T* dh_last, T* dgates, T* dc0,
                 T* dh0, T* dx, T* dwx, T* dwh, T* dbias) {
  const int64_t B = d.batch, Tn = d.time, U = d.units, G = 4 * U, BT = B * Tn;
  const DType dt = dtype_of<T>::value;
  // dc0 and dh0 carry the recurrent gradients through the loop and end as the initial carry's.
  std::memcpy(dc0, dc_last, sizeof(T) * static_cast<size_t>(B * U));
  std::memcpy(dh0, dh_last, sizeof(T) * static_cast<size_t>(B * U));
  Scan path = Scan::blas;
  if constexpr (std::is_same_v<T, float>) {
    path = scan_path(DType::f32, B, U);
    if (path == Scan::packed) backward_scan_packed(d, wh, c0, gates, cs, dhs, dgates, dc0, dh0);
    if (path == Scan::rows) backward_scan_rows(d, wh, c0, gates, cs, dhs, dgates, dc0, dh0, dbias);
  }
  if (path == Scan::blas) backward_scan_blas(d, wh, c0, gates, cs, dhs, dgates, dc0, dh0);
  if (dwh) hidden_weight_grad(d, h0, hs, dgates, dwh);
  if (dwx) gemm_all(dt, true, false, d.in, G, BT, x, d.in, dgates, G, dwx, G);
  if (dx) gemm_all(dt, false, true, BT, d.in, G, dgates, G, wx, G, dx, d.in);
  if (dbias && path != Scan::rows) {
    parallel_for(G, 64, [&](int64_t c0_, int64_t c1_) {
      for (int64_t j = c0_; j < c1_; ++j) dbias[j] = T(0);
      for (int64_t r = 0; r < BT; ++r) {
        const T* row = dgates + r * G;
        for (int64_t j = c0_; j < c1_; ++j) dbias[j] += row[j];
      }
    });
  }
}

template <class T>
const T* cp(const void* p) {
  return static_cast<const T*>(p);
}
template <class T>
T* mp(void* p) {
  return static_cast<T*>(p);
}

}  // namespace

void lstm_forward(DType dt, const LstmDims& d, const void* x, const void* wx, const void* wh, const void* bias,
                  const void* c0, const void* h0, void* gates, void* cs, void* hs) {
  switch (dt) {
    case DType::f32:
      return forward_t(d, cp<float>(x), cp<float>(wx), cp<float>(wh), cp<float>(bias), cp<float>(c0), cp<float>(h0),
                       mp<float>(gates), mp<float>(cs), mp<float>(hs));
    case DType::f64:
      return forward_t(d, cp<double>(x), cp<double>(wx), cp<double>(wh), cp<double>(bias), cp<double>(c0),
                       cp<double>(h0), mp<double>(gates), mp<double>(cs), mp<double>(hs));
    default:
      AXON_FAIL("lstm", "the CPU LSTM kernel takes f32 or f64, got {}", dtype_name(dt));
  }
}

void lstm_backward(DType dt, const LstmDims& d, const void* x, const void* wx, const void* wh, const void* c0,
                   const void* h0, const void* gates, const void* cs, const void* hs, const void* dhs,
                   const void* dc_last, const void* dh_last, void* dgates, void* dc0, void* dh0,
                   void* dx, void* dwx, void* dwh, void* dbias) {
  switch (dt) {
    case DType::f32:
      return backward_t(d, cp<float>(x), cp<float>(wx), cp<float>(wh), cp<float>(c0), cp<float>(h0),
                        cp<float>(gates), cp<float>(cs), cp<float>(hs), cp<float>(dhs), cp<float>(dc_last),
                        cp<float>(dh_last), mp<float>(dgates), mp<float>(dc0), mp<float>(dh0),
                        mp<float>(dx), mp<float>(dwx), mp<float>(dwh), mp<float>(dbias));
    case DType::f64:
      return backward_t(d, cp<double>(x), cp<double>(wx), cp<double>(wh), cp<double>(c0), cp<double>(h0),
                        cp<double>(gates), cp<double>(cs), cp<double>(hs), cp<double>(dhs), cp<double>(dc_last),
                        cp<double>(dh_last), mp<double>(dgates), mp<double>(dc0), mp<double>(dh0),
                        mp<double>(dx), mp<double>(dwx), mp<double>(dwh), mp<double>(dbias));
    default:
      AXON_FAIL("lstm", "the CPU LSTM kernel takes f32 or f64, got {}", dtype_name(dt));
  }
}

}  // namespace axon::kernels::cpu
