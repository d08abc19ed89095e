#include <cstdint>

#include <axon/error.hpp>
#include <axon/kernels/index.hpp>
#include <axon/kernels/scalar.hpp>

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

template <class T, class I>
void scatter_add_typed(T* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, const I* idx,
                       const Indexer& ii, const T* src, const Indexer& is, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = wrap(idx[ii.offset(i)], axis_size);
    if (v < 0 || v >= axis_size) continue;
    T& o = out[io.offset(i) + v * axis_stride];
    o = convert<T>(convert<acc_t<T>>(o) + convert<acc_t<T>>(src[is.offset(i)]));
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
    switch (dt) {
      case DType::f32: scatter_add_typed(static_cast<float*>(out), io, axis_stride, axis_size, ip, ii,
                                         static_cast<const float*>(src), is, n); break;
      case DType::f64: scatter_add_typed(static_cast<double*>(out), io, axis_stride, axis_size, ip, ii,
                                         static_cast<const double*>(src), is, n); break;
      case DType::bf16: scatter_add_typed(static_cast<bf16*>(out), io, axis_stride, axis_size, ip, ii,
                                          static_cast<const bf16*>(src), is, n); break;
      case DType::f16: scatter_add_typed(static_cast<f16*>(out), io, axis_stride, axis_size, ip, ii,
                                         static_cast<const f16*>(src), is, n); break;
      case DType::i32: scatter_add_typed(static_cast<int32_t*>(out), io, axis_stride, axis_size, ip, ii,
                                         static_cast<const int32_t*>(src), is, n); break;
      case DType::i64: scatter_add_typed(static_cast<int64_t*>(out), io, axis_stride, axis_size, ip, ii,
                                         static_cast<const int64_t*>(src), is, n); break;
      default: AXON_FAIL("scatter_add", "unsupported dtype {}", dtype_name(dt));
    }
  });
}

}  // namespace axon::kernels::cpu
