#include <axon/kernels/copy.hpp>
#include <axon/kernels/cast.hpp>

namespace axon::kernels::cpu {

namespace {
template <class S, class D>
void copy_typed(const S* x, const Indexer& ix, D* y, int64_t n) {
  if (ix.contiguous()) {
    for (int64_t i = 0; i < n; ++i) y[i] = cast_value<D>(x[i]);
    return;
  }
  // Walk the index odometer instead of dividing per element.
  int nd = ix.ndim;
  int64_t idx[kMaxDims] = {};
  int64_t off = 0;
  int64_t inner = nd ? ix.sizes[nd - 1] : 1, inner_stride = nd ? ix.strides[nd - 1] : 0;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t j = 0; j < inner; ++j) y[i + j] = cast_value<D>(x[off + j * inner_stride]);
    for (int d = nd - 2; d >= 0; --d) {
      off += ix.strides[d];
      if (++idx[d] < ix.sizes[d]) break;
      off -= ix.strides[d] * ix.sizes[d];
      idx[d] = 0;
    }
  }
}
// Whether two indexers walk the same shape with a non-empty innermost axis (rows to copy whole).
bool same_rows(const Indexer& a, const Indexer& b) {
  if (a.ndim != b.ndim || a.ndim == 0 || a.sizes[a.ndim - 1] == 0) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.sizes[d] != b.sizes[d]) return false;
  return true;
}
}  // namespace

void copy_cast(DType src, const void* x, const Indexer& ix, DType dst, void* y, int64_t n, const Indexer* iy) {
  if (n == 0) return;
  bool out_contig = !iy || iy->contiguous();
  AXON_DISPATCH_ALL(src, "copy", {
    using S = scalar_t;
    AXON_DISPATCH_ALL(dst, "copy", {
      auto* yp = static_cast<scalar_t*>(y);
      auto* xp = static_cast<const S*>(x);
      if (out_contig) {
        copy_typed(xp, ix, yp, n);
      } else if (same_rows(ix, *iy)) {
        // A strided destination (concat, a slab of an output): two index computations per row of
        // the innermost axis rather than per element, which made concatenating W6's [512, 512] gate
        // kernels along axis 1 8% of its CPU time at 32 steps.
        const int64_t inner = ix.sizes[ix.ndim - 1], sx = ix.strides[ix.ndim - 1], sy = iy->strides[ix.ndim - 1];
        for (int64_t i = 0; i < n; i += inner) {
          const S* xr = xp + ix.offset(i);
          scalar_t* yr = yp + iy->offset(i);
          if (sx == 1 && sy == 1)
            for (int64_t j = 0; j < inner; ++j) yr[j] = cast_value<scalar_t>(xr[j]);
          else
            for (int64_t j = 0; j < inner; ++j) yr[j * sy] = cast_value<scalar_t>(xr[j * sx]);
        }
      } else {
        for (int64_t i = 0; i < n; ++i) yp[iy->offset(i)] = cast_value<scalar_t>(xp[ix.offset(i)]);
      }
    });
  });
}

void fill(DType dt, void* y, int64_t n, double value) {
  AXON_DISPATCH_ALL(dt, "fill", {
    scalar_t v = cast_value<scalar_t>(value);
    auto* p = static_cast<scalar_t*>(y);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

}  // namespace axon::kernels::cpu
