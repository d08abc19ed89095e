#pragma once
// Loops shared by the CPU elementwise kernels: a plain linear loop when every operand is contiguous,
// else an odometer over the (jointly collapsed) output shape that walks each innermost row with a
// constant stride, so no element pays for a division. Large loops are split across the kernels'
// threads (contiguous ranges of elements, or of innermost rows).
#include <axon/kernels/common.hpp>
#include <axon/kernels/scalar.hpp>

#include "parallel.hpp"

namespace axon::kernels::cpu::ew_loops {

// Elements per thread at least: below this a part does not pay for waking a thread.
inline constexpr int64_t kGrain = int64_t(1) << 16;

// Calls row(i, offs, len, inner_strides) for each innermost row; offs[k] is operand k's element
// offset at the start of the row. Every Indexer has the same ndim and sizes.
template <int K, class Row>
void walk(const Indexer* const (&ix)[K], int64_t n, Row&& row) {
  const Indexer& s = *ix[0];
  const int nd = s.ndim;
  if (nd == 0) {
    int64_t offs[K] = {};
    int64_t inner_st[K] = {};
    row(int64_t(0), offs, n, inner_st);
    return;
  }
  const int64_t inner = s.sizes[nd - 1];
  if (inner <= 0) return;
  parallel_for(n / inner, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    int64_t offs[K] = {};
    int64_t inner_st[K] = {};
    int64_t idx[kMaxDims] = {};
    for (int k = 0; k < K; ++k) inner_st[k] = ix[k]->strides[nd - 1];
    // The odometer at row r0.
    for (int64_t q = r0, d = nd - 2; d >= 0; --d) {
      idx[d] = q % s.sizes[d];
      q /= s.sizes[d];
      for (int k = 0; k < K; ++k) offs[k] += idx[d] * ix[k]->strides[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      row(r * inner, offs, inner, inner_st);
      for (int d = nd - 2; d >= 0; --d) {
        for (int k = 0; k < K; ++k) offs[k] += ix[k]->strides[d];
        if (++idx[d] < s.sizes[d]) break;
        for (int k = 0; k < K; ++k) offs[k] -= ix[k]->strides[d] * s.sizes[d];
        idx[d] = 0;
      }
    }
  });
}

// The unit-stride loops over [lo, hi), everything passed by value: a store to y cannot alias f's
// state or the pointers, so the loops vectorize.
template <class A, class T, class O, class F>
void linear1(const T* x, O* y, int64_t lo, int64_t hi, F f) {
  for (int64_t i = lo; i < hi; ++i) y[i] = convert<O>(f(convert<A>(x[i])));
}
template <class A, class T, class U, class O, class F>
void linear2(const T* a, const U* b, O* y, int64_t lo, int64_t hi, F f) {
  for (int64_t i = lo; i < hi; ++i) y[i] = convert<O>(f(convert<A>(a[i]), convert<A>(b[i])));
}
template <class A, class C, class T, class O, class F>
void linear3(const C* c, const T* a, const T* b, O* y, int64_t lo, int64_t hi, F f) {
  for (int64_t i = lo; i < hi; ++i) y[i] = convert<O>(f(c[i], convert<A>(a[i]), convert<A>(b[i])));
}

// y[i] = f(x[i]) with x read in its arithmetic type A and the result converted to O.
template <class A, class T, class O, class F>
void map1(const T* x, const Indexer& ix, O* y, int64_t n, F f) {
  if (ix.contiguous()) {
    parallel_for(n, kGrain, [=](int64_t b, int64_t e) { linear1<A>(x, y, b, e, f); });
    return;
  }
  const Indexer* ixs[1] = {&ix};
  walk<1>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const T* xp = x + off[0];
    O* yp = y + i;
    if (st[0] == 1) return linear1<A>(xp, yp, 0, len, f);
    for (int64_t j = 0; j < len; ++j) yp[j] = convert<O>(f(convert<A>(xp[j * st[0]])));
  });
}

template <class A, class T, class U, class O, class F>
void map2(const T* a, const Indexer& ia, const U* b, const Indexer& ib, O* y, int64_t n, F f) {
  if (ia.contiguous() && ib.contiguous()) {
    parallel_for(n, kGrain, [=](int64_t lo, int64_t hi) { linear2<A>(a, b, y, lo, hi, f); });
    return;
  }
  const Indexer* ixs[2] = {&ia, &ib};
  walk<2>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const T* ap = a + off[0];
    const U* bp = b + off[1];
    O* yp = y + i;
    if (st[0] == 1 && st[1] == 1) return linear2<A>(ap, bp, yp, 0, len, f);
    for (int64_t j = 0; j < len; ++j)
      yp[j] = convert<O>(f(convert<A>(ap[j * st[0]]), convert<A>(bp[j * st[1]])));
  });
}

// The first operand is read as-is (bool conditions), the other two in A.
template <class A, class C, class T, class O, class F>
void map3(const C* c, const Indexer& ic, const T* a, const Indexer& ia, const T* b, const Indexer& ib, O* y,
          int64_t n, F f) {
  if (ic.contiguous() && ia.contiguous() && ib.contiguous()) {
    parallel_for(n, kGrain, [=](int64_t lo, int64_t hi) { linear3<A>(c, a, b, y, lo, hi, f); });
    return;
  }
  const Indexer* ixs[3] = {&ic, &ia, &ib};
  walk<3>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const C* cp = c + off[0];
    const T* ap = a + off[1];
    const T* bp = b + off[2];
    O* yp = y + i;
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) return linear3<A>(cp, ap, bp, yp, 0, len, f);
    for (int64_t j = 0; j < len; ++j)
      yp[j] = convert<O>(f(cp[j * st[0]], convert<A>(ap[j * st[1]]), convert<A>(bp[j * st[2]])));
  });
}

}  // namespace axon::kernels::cpu::ew_loops
