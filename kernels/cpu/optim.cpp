// CPU fused optimizer updates: one pass over every parameter tensor, the elements of all tensors
// split across the thread pool, several lanes at a time. Each lane performs exactly the IEEE
// operations of the composite path's elementwise ops (optim/src/updates.cpp), in the same order and
// type (no reciprocal multiplies, no reassociation; the library is built without FMA contraction),
// so the results are the composite path's bit for bit. Tests: test_optim_fused.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__SSE2__)
#include <immintrin.h>
#endif

#include <axon/kernels/elementwise_math.hpp>
#include <axon/kernels/optim.hpp>

#include "parallel.hpp"

// Clang contracts a·b + c into an FMA by default where the target has one; the composite path's
// separate ops never do. (GCC does not contract in ISO C++ mode.)
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace axon::kernels::cpu {

namespace {

// A vector of lanes of T (GCC/Clang vector extensions: +, −, ×, ÷ act lane by lane). Without SSE2,
// one lane: the scalar type itself.
#if defined(__SSE2__)
using F4 = float __attribute__((vector_size(16)));
using D2 = double __attribute__((vector_size(16)));
inline F4 vsqrt(F4 x) { return (F4)_mm_sqrt_ps((__m128)x); }
inline D2 vsqrt(D2 x) { return (D2)_mm_sqrt_pd((__m128d)x); }
template <class T>
using Vec = std::conditional_t<std::is_same_v<T, float>, F4, D2>;
#else
template <class T>
using Vec = T;
#endif
inline float vsqrt(float x) { return ew::m_sqrt(x); }
inline double vsqrt(double x) { return ew::m_sqrt(x); }

template <class V, class T>
inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// Elements per part of the pool's split: below this the whole update runs on the calling thread.
constexpr int64_t kGrain = 16384;

// Runs range(slot, begin, end) over the elements of every slot, their total split across the pool.
template <class Slot, class F>
void over_slots(const Slot* slots, int64_t nslots, const F& range) {
  std::vector<int64_t> start(size_t(nslots) + 1, 0);
  for (int64_t k = 0; k < nslots; ++k) start[size_t(k) + 1] = start[size_t(k)] + slots[k].n;
  parallel_for(start.back(), kGrain, [&](int64_t b, int64_t e) {
    size_t k = size_t(std::upper_bound(start.begin(), start.end(), b) - start.begin()) - 1;
    for (; b < e; ++k) {
      const int64_t hi = std::min(e, start[k + 1]);
      if (hi > b) range(slots[k], b - start[k], hi - start[k]);
      b = std::max(b, hi);
    }
  });
}

// The lanes of [i, end) a vector at a time, the rest one by one.
template <class T, class F>
inline void lanes(int64_t i, int64_t end, const F& at) {
  constexpr int64_t W = int64_t(sizeof(Vec<T>) / sizeof(T));
  for (; i + W <= end; i += W) at(Vec<T>{}, i);
  for (; i < end; ++i) at(T{}, i);
}

// Each constant rounded to T where the composite path's scalar ops round it.
template <class T>
struct AdamConst {
  T c1, b1, c2, b2, bc1, bc2, eps_root, eps, wd, scale;
};

template <class T, bool Decay>
void adam_range(const AdamSlotT<T>& s, int64_t begin, int64_t end, const AdamConst<T>& c) {
  // Locals captured by value: the stores cannot alias them, so they stay in registers.
  const T* g_in = s.g;
  const T* p_in = s.p;
  const T* m_in = s.m;
  const T* v_in = s.v;
  T* u_out = s.u;
  T* m_out = s.m_out;
  T* v_out = s.v_out;
  const AdamConst<T> k = c;
  lanes<T>(begin, end, [=](auto tag, int64_t i) {
    using V = decltype(tag);
    // update_moment: (1−b)·g^k + b·z; then bias_correction and the denominator.
    const V g = load<V>(g_in + i);
    const V m = g * k.c1 + load<V>(m_in + i) * k.b1;
    const V v = g * g * k.c2 + load<V>(v_in + i) * k.b2;
    store(m_out + i, m);
    store(v_out + i, v);
    V u = (m / k.bc1) / (vsqrt(v / k.bc2 + k.eps_root) + k.eps);
    if constexpr (Decay) u = u + load<V>(p_in + i) * k.wd;  // add_decayed_weights
    store(u_out + i, u * k.scale);                           // the learning-rate member
  });
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__SSE2__)
// adam_range for f32 on AVX2 machines, eight lanes at a time: W1's profile spent 14% of its time in
// the four-lane loop (two divisions and a square root per element). The same IEEE operations per
// lane in the same order, and no FMA (target avx2 only), so the results stay the composite path's
// bit for bit. Written out without the lanes() lambda, which would not inherit the target.
using F8 = float __attribute__((vector_size(32)));
template <bool Decay>
__attribute__((target("avx2"))) void adam_range_avx2(const AdamSlotT<float>& s, int64_t begin, int64_t end,
                                                    const AdamConst<float>& k) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    F8 g, m0, v0;
    __builtin_memcpy(&g, s.g + i, sizeof g);
    __builtin_memcpy(&m0, s.m + i, sizeof m0);
    __builtin_memcpy(&v0, s.v + i, sizeof v0);
    const F8 m = g * k.c1 + m0 * k.b1;
    const F8 v = g * g * k.c2 + v0 * k.b2;
    __builtin_memcpy(s.m_out + i, &m, sizeof m);
    __builtin_memcpy(s.v_out + i, &v, sizeof v);
    const F8 root = (F8)_mm256_sqrt_ps((__m256)(v / k.bc2 + k.eps_root));
    F8 u = (m / k.bc1) / (root + k.eps);
    if constexpr (Decay) {
      F8 p;
      __builtin_memcpy(&p, s.p + i, sizeof p);
      u = u + p * k.wd;
    }
    u = u * k.scale;
    __builtin_memcpy(s.u + i, &u, sizeof u);
  }
  if (i < end) adam_range<float, Decay>(s, i, end, k);
}
bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#define AXON_ADAM_AVX2 1
#endif

template <class T>
void adam_impl(const AdamSlotT<T>* slots, int64_t nslots, const int64_t* count, const T* scale,
               const AdamCoefficients& h) {
  // one_minus_pow: −expm1(T(t)·T(log b)), once per update.
  const T t = static_cast<T>(*count + 1);
  AdamConst<T> c{T(1 - h.b1), T(h.b1), T(1 - h.b2), T(h.b2),
                 static_cast<T>(-ew::m_expm1(static_cast<T>(t * static_cast<T>(std::log(h.b1))))),
                 static_cast<T>(-ew::m_expm1(static_cast<T>(t * static_cast<T>(std::log(h.b2))))),
                 T(h.eps_root), T(h.eps), T(h.weight_decay), *scale};
#ifdef AXON_ADAM_AVX2
  if constexpr (std::is_same_v<T, float>) {
    if (has_avx2()) {
      if (h.weight_decay != 0.0)
        over_slots(slots, nslots, [&](const AdamSlotT<T>& s, int64_t b, int64_t e) { adam_range_avx2<true>(s, b, e, c); });
      else
        over_slots(slots, nslots, [&](const AdamSlotT<T>& s, int64_t b, int64_t e) { adam_range_avx2<false>(s, b, e, c); });
      return;
    }
  }
#endif
  if (h.weight_decay != 0.0)
    over_slots(slots, nslots, [&](const AdamSlotT<T>& s, int64_t b, int64_t e) { adam_range<T, true>(s, b, e, c); });
  else
    over_slots(slots, nslots, [&](const AdamSlotT<T>& s, int64_t b, int64_t e) { adam_range<T, false>(s, b, e, c); });
}

template <class T, bool Nesterov>
void momentum_range(const MomentumSlotT<T>& s, int64_t begin, int64_t end, T mom, T sc) {
  const T* g_in = s.g;
  const T* t_in = s.t;
  T* u_out = s.u;
  T* t_out = s.t_out;
  lanes<T>(begin, end, [=](auto tag, int64_t i) {
    using V = decltype(tag);
    const V g = load<V>(g_in + i);
    const V tr = g + load<V>(t_in + i) * mom;  // trace: g + decay·t
    store(t_out + i, tr);
    if constexpr (Nesterov)
      store(u_out + i, (g + tr * mom) * sc);
    else
      store(u_out + i, tr * sc);
  });
}

template <class T>
void momentum_impl(const MomentumSlotT<T>* slots, int64_t nslots, const T* scale, double momentum, bool nesterov) {
  const T mom = T(momentum), sc = *scale;
  if (nesterov)
    over_slots(slots, nslots,
               [&](const MomentumSlotT<T>& s, int64_t b, int64_t e) { momentum_range<T, true>(s, b, e, mom, sc); });
  else
    over_slots(slots, nslots,
               [&](const MomentumSlotT<T>& s, int64_t b, int64_t e) { momentum_range<T, false>(s, b, e, mom, sc); });
}

}  // namespace

void fused_adam(const AdamSlotT<float>* slots, int64_t nslots, const int64_t* count, const float* scale,
                const AdamCoefficients& h) {
  adam_impl(slots, nslots, count, scale, h);
}
void fused_adam(const AdamSlotT<double>* slots, int64_t nslots, const int64_t* count, const double* scale,
                const AdamCoefficients& h) {
  adam_impl(slots, nslots, count, scale, h);
}
void fused_sgd_momentum(const MomentumSlotT<float>* slots, int64_t nslots, const float* scale, double momentum,
                        bool nesterov) {
  momentum_impl(slots, nslots, scale, momentum, nesterov);
}
void fused_sgd_momentum(const MomentumSlotT<double>* slots, int64_t nslots, const double* scale, double momentum,
                        bool nesterov) {
  momentum_impl(slots, nslots, scale, momentum, nesterov);
}

}  // namespace axon::kernels::cpu
