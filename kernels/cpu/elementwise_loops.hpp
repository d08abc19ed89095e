#pragma once
// Loops shared by the CPU elementwise kernels: a plain linear loop when every operand is contiguous,
// else an odometer over the (jointly collapsed) output shape that walks each innermost row with a
// constant stride, so no element pays for a division.
#include <axon/kernels/common.hpp>
#include <axon/kernels/scalar.hpp>

namespace axon::kernels::cpu::ew_loops {

// Calls row(i, offs, len, inner_strides) for each innermost row; offs[k] is operand k's element
// offset at the start of the row. Every Indexer has the same ndim and sizes.
template <int K, class Row>
void walk(const Indexer* const (&ix)[K], int64_t n, Row&& row) {
  const Indexer& s = *ix[0];
  const int nd = s.ndim;
  int64_t offs[K] = {};
  int64_t inner_st[K] = {};
  if (nd == 0) {
    row(int64_t(0), offs, n, inner_st);
    return;
  }
  const int64_t inner = s.sizes[nd - 1];
  for (int k = 0; k < K; ++k) inner_st[k] = ix[k]->strides[nd - 1];
  int64_t idx[kMaxDims] = {};
  for (int64_t i = 0; i < n; i += inner) {
    row(i, offs, inner, inner_st);
    for (int d = nd - 2; d >= 0; --d) {
      for (int k = 0; k < K; ++k) offs[k] += ix[k]->strides[d];
      if (++idx[d] < s.sizes[d]) break;
      for (int k = 0; k < K; ++k) offs[k] -= ix[k]->strides[d] * s.sizes[d];
      idx[d] = 0;
    }
  }
}

// y[i] = f(x[i]) with x read in its arithmetic type A and the result converted to O.
template <class A, class T, class O, class F>
void map1(const T* x, const Indexer& ix, O* y, int64_t n, F f) {
  if (ix.contiguous()) {
    for (int64_t i = 0; i < n; ++i) y[i] = convert<O>(f(convert<A>(x[i])));
    return;
  }
  const Indexer* ixs[1] = {&ix};
  walk<1>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const T* xp = x + off[0];
    O* yp = y + i;
    for (int64_t j = 0; j < len; ++j) yp[j] = convert<O>(f(convert<A>(xp[j * st[0]])));
  });
}

template <class A, class T, class U, class O, class F>
void map2(const T* a, const Indexer& ia, const U* b, const Indexer& ib, O* y, int64_t n, F f) {
  if (ia.contiguous() && ib.contiguous()) {
    for (int64_t i = 0; i < n; ++i) y[i] = convert<O>(f(convert<A>(a[i]), convert<A>(b[i])));
    return;
  }
  const Indexer* ixs[2] = {&ia, &ib};
  walk<2>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const T* ap = a + off[0];
    const U* bp = b + off[1];
    O* yp = y + i;
    for (int64_t j = 0; j < len; ++j)
      yp[j] = convert<O>(f(convert<A>(ap[j * st[0]]), convert<A>(bp[j * st[1]])));
  });
}

// The first operand is read as-is (bool conditions), the other two in A.
template <class A, class C, class T, class O, class F>
void map3(const C* c, const Indexer& ic, const T* a, const Indexer& ia, const T* b, const Indexer& ib, O* y,
          int64_t n, F f) {
  if (ic.contiguous() && ia.contiguous() && ib.contiguous()) {
    for (int64_t i = 0; i < n; ++i) y[i] = convert<O>(f(c[i], convert<A>(a[i]), convert<A>(b[i])));
    return;
  }
  const Indexer* ixs[3] = {&ic, &ia, &ib};
  walk<3>(ixs, n, [&](int64_t i, const int64_t* off, int64_t len, const int64_t* st) {
    const C* cp = c + off[0];
    const T* ap = a + off[1];
    const T* bp = b + off[2];
    O* yp = y + i;
    for (int64_t j = 0; j < len; ++j)
      yp[j] = convert<O>(f(cp[j * st[0]], convert<A>(ap[j * st[1]]), convert<A>(bp[j * st[2]])));
  });
}

}  // namespace axon::kernels::cpu::ew_loops
