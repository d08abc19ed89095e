#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <axon/error.hpp>
#include <axon/kernels/index.hpp>
#include <axon/kernels/scalar.hpp>

#include "parallel.hpp"

namespace axon::kernels::cpu {

namespace {
template <class I>
int64_t find_bad(const I* idx, const Indexer& ii, int64_t n, int64_t size, bool allow_negative) {
  const int64_t lo = allow_negative ? -size : 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = static_cast<int64_t>(idx[ii.offset(i)]);
    if (v < lo || v >= size) return i;
  }
  return -1;
}

template <class I>
inline int64_t wrap(I raw, int64_t size) {
  int64_t v = static_cast<int64_t>(raw);
  return v < 0 ? v + size : v;
}

// Moves elements by size only: the dtype does not matter to a gather.
template <class T, class I>
void gather_typed(const T* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, const I* idx,
                  const Indexer& ii, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = wrap(idx[ii.offset(i)], axis_size);
    out[i] = (v >= 0 && v < axis_size) ? x[ix.offset(i) + v * axis_stride] : T{};
  }
}

// acc_t<T> is scatter_accumulator(T).
template <class T, class I>
void scatter_add_typed(acc_t<T>* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, const I* idx,
                       const Indexer& ii, const T* src, const Indexer& is, int64_t n) {
  using A = acc_t<T>;
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = wrap(idx[ii.offset(i)], axis_size);
    if (v < 0 || v >= axis_size) continue;
    A& o = out[io.offset(i) + v * axis_stride];
    o = static_cast<A>(o + convert<A>(src[is.offset(i)]));
  }
}

// Row copies of a fixed size compile to moves; Bytes == 0 is the general memcpy.
template <int64_t Bytes, class I>
void gather_rows_t(const char* x, int64_t outer, int64_t outer_pitch, int64_t row_pitch, int64_t axis_size,
                   int64_t row_bytes, const I* idx, int64_t idx_pitch, int64_t m, char* out) {
  const size_t nb = Bytes ? size_t(Bytes) : size_t(row_bytes);
  // Parts of at least 64 KiB: below that the pool's hand-off costs more than the copy.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(1, row_bytes));
  parallel_for(outer * m, grain, [&](int64_t b, int64_t e) {
    int64_t o = b / m, j = b - o * m;
    for (int64_t r = b; r < e; ++r) {
      const int64_t v = wrap(idx[o * idx_pitch + j], axis_size);
      char* dst = out + r * row_bytes;
      if (v >= 0 && v < axis_size)
        std::memcpy(dst, x + o * outer_pitch + v * row_pitch, nb);
      else
        std::memset(dst, 0, nb);
      if (++j == m) j = 0, ++o;
    }
  });
}

// Work items are (o, block of columns): disjoint in `out`, each adding its rows in j order.
template <class T, class I>
void scatter_add_rows_t(acc_t<T>* out, int64_t outer, int64_t n, int64_t inner, const I* idx,
                        int64_t idx_pitch, int64_t m, const T* src) {
  using A = acc_t<T>;
  // Column blocks of at most 1024 and at least 16 elements, enough of them for every thread when
  // outer alone is not.
  const int64_t threads = num_threads();
  int64_t cols = outer >= threads ? 1024 : (inner + threads / outer - 1) / std::max<int64_t>(1, threads / outer);
  cols = std::clamp<int64_t>((cols + 15) / 16 * 16, 16, 1024);
  const int64_t blocks = (inner + cols - 1) / cols;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, m * std::min(inner, cols)));
  parallel_for(outer * blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, c0 = (item - o * blocks) * cols, c1 = std::min(inner, c0 + cols);
      for (int64_t j = 0; j < m; ++j) {
        const int64_t v = wrap(idx[o * idx_pitch + j], n);
        if (v < 0 || v >= n) continue;
        A* dst = out + (o * n + v) * inner;
        const T* s = src + (o * m + j) * inner;
        for (int64_t k = c0; k < c1; ++k) dst[k] = static_cast<A>(dst[k] + convert<A>(s[k]));
      }
    }
  });
}

// run(src as const T*) for the scatter_add source types T.
template <class F>
void with_src_type(DType dt, const void* src, F&& run) {
  switch (dt) {
    case DType::f32: run(static_cast<const float*>(src)); break;
    case DType::f64: run(static_cast<const double*>(src)); break;
    case DType::bf16: run(static_cast<const bf16*>(src)); break;
    case DType::f16: run(static_cast<const f16*>(src)); break;
    case DType::i32: run(static_cast<const int32_t*>(src)); break;
    case DType::i64: run(static_cast<const int64_t*>(src)); break;
    default: AXON_FAIL("scatter_add", "unsupported dtype {}", dtype_name(dt));
  }
}

#define AXON_DISPATCH_INDEX(idx_dt, opname, ...)                                       \
  switch (idx_dt) {                                                                    \
    case DType::i32: { using index_t = int32_t; __VA_ARGS__; } break;                  \
    case DType::i64: { using index_t = int64_t; __VA_ARGS__; } break;                  \
    default: AXON_FAIL(opname, "index tensors must be i32 or i64, got {}", dtype_name(idx_dt)); \
  }
}  // namespace

int64_t find_bad_index(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t size,
                       bool allow_negative) {
  if (n == 0) return -1;
  AXON_DISPATCH_INDEX(idx_dt, "index", {
    return find_bad(static_cast<const index_t*>(idx), ii, n, size, allow_negative);
  });
  return -1;
}

void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_INDEX(idx_dt, "gather", {
    auto* ip = static_cast<const index_t*>(idx);
    switch (itemsize(dt)) {
      case 1: gather_typed(static_cast<const uint8_t*>(x), ix, axis_stride, axis_size, ip, ii,
                           static_cast<uint8_t*>(out), n); break;
      case 2: gather_typed(static_cast<const uint16_t*>(x), ix, axis_stride, axis_size, ip, ii,
                           static_cast<uint16_t*>(out), n); break;
      case 4: gather_typed(static_cast<const uint32_t*>(x), ix, axis_stride, axis_size, ip, ii,
                           static_cast<uint32_t*>(out), n); break;
      default: gather_typed(static_cast<const uint64_t*>(x), ix, axis_stride, axis_size, ip, ii,
                            static_cast<uint64_t*>(out), n); break;
    }
  });
}

void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n) {
  if (n == 0) return;
  AXON_DISPATCH_INDEX(idx_dt, "scatter_add", {
    auto* ip = static_cast<const index_t*>(idx);
    auto run = [&](auto* s) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(s)>>;
      scatter_add_typed(static_cast<acc_t<T>*>(out), io, axis_stride, axis_size, ip, ii, s, is, n);
    };
    with_src_type(dt, src, run);
  });
}

void gather_rows(const void* x, int64_t outer, int64_t outer_pitch, int64_t row_pitch, int64_t axis_size,
                 int64_t row_bytes, DType idx_dt, const void* idx, int64_t idx_pitch, int64_t m, void* out) {
  if (outer == 0 || m == 0 || row_bytes == 0) return;
  AXON_DISPATCH_INDEX(idx_dt, "gather", {
    auto* ip = static_cast<const index_t*>(idx);
    auto* xp = static_cast<const char*>(x);
    auto* op = static_cast<char*>(out);
    switch (row_bytes) {
      case 1: gather_rows_t<1>(xp, outer, outer_pitch, row_pitch, axis_size, row_bytes, ip, idx_pitch, m, op); break;
      case 2: gather_rows_t<2>(xp, outer, outer_pitch, row_pitch, axis_size, row_bytes, ip, idx_pitch, m, op); break;
      case 4: gather_rows_t<4>(xp, outer, outer_pitch, row_pitch, axis_size, row_bytes, ip, idx_pitch, m, op); break;
      case 8: gather_rows_t<8>(xp, outer, outer_pitch, row_pitch, axis_size, row_bytes, ip, idx_pitch, m, op); break;
      default: gather_rows_t<0>(xp, outer, outer_pitch, row_pitch, axis_size, row_bytes, ip, idx_pitch, m, op); break;
    }
  });
}

void scatter_add_rows(DType dt, void* out, int64_t outer, int64_t axis_size, int64_t inner, DType idx_dt,
                      const void* idx, int64_t idx_pitch, int64_t m, const void* src) {
  if (outer == 0 || m == 0 || inner == 0) return;
  AXON_DISPATCH_INDEX(idx_dt, "scatter_add", {
    auto* ip = static_cast<const index_t*>(idx);
    auto run = [&](auto* s) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(s)>>;
      scatter_add_rows_t(static_cast<acc_t<T>*>(out), outer, axis_size, inner, ip, idx_pitch, m, s);
    };
    with_src_type(dt, src, run);
  });
}

}  // namespace axon::kernels::cpu
