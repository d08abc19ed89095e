// Indexing along one axis: take, index_select, gather, scatter_add, one_hot.
// Indices are i32 or i64. Negative indices wrap as in NumPy (-1 is the last element) for take,
// index_select and gather, and for scatter_add (so that it is their exact adjoint); one_hot labels
// must lie in [0, num_classes). An index out of range raises axon::Error naming the op, the first
// bad value (in row-major order) and the axis size. On the CPU it is raised before any data moves;
// on CUDA the check runs on the device without the host waiting for it (cuda/deferred.hpp) and is
// raised at the device's next host read (to(cpu), item(), synchronize(), ...); inside compile()'s
// CUDA graph capture the compiled function's next check or call raises it. Meanwhile the kernels
// stay in bounds: an index out of range reads 0 and scatters nothing.
#include <axon/kernels/copy.hpp>
#include <axon/kernels/index.hpp>

#include "../cuda/capture.hpp"
#include "../cuda/deferred.hpp"
#include "elementwise.hpp"
#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

// A view of t's storage with another shape and strides (for addressing only, never returned).
Tensor strided_view(const Tensor& t, const Shape& shape, const Strides& strides) {
  return detail::make_view(t, shape, strides, t.offset());
}

void check_index_dtype(const char* op, const Tensor& index, const char* what = "index") {
  AXON_CHECK(index.dtype() == DType::i32 || index.dtype() == DType::i64, op, "{} must be i32 or i64, got {}", what,
             describe(index));
}

// Position of the first index outside the valid range, or -1 (CPU tensors).
int64_t first_bad_index(const Tensor& index, int64_t size, bool allow_negative) {
  detail::check_cpu_outside_capture();  // the CPU row paths after it do not check again
  if (index.numel() == 0) return -1;
  return kernels::cpu::find_bad_index(index.dtype(), index.data_ptr(), detail::make_indexer(index), index.numel(),
                                      size, allow_negative);
}

int64_t index_value_at(const Tensor& index, int64_t pos) {
  NoGrad ng;
  return index.reshape({-1}).slice(0, pos, pos + 1).item<int64_t>();
}

// Inside a CUDA graph capture the device cannot be read back: the check becomes part of the graph
// and fails the compiled function's next call (the kernels meanwhile stay in bounds: an index out
// of range reads 0 and scatters nothing). True when deferred.
bool deferred_range_check(const char* op, const Tensor& index, int64_t lo, int64_t size, const std::string& what) {
  if (!index.is_cuda() || !cuda::capture::active_here(index.device().index)) return false;
  if (index.numel() == 0) return true;
  NoGrad ng;
  Tensor bad = any(logical_or(lt(index, lo), ge(index, size)));
  cuda::capture::defer_check(bad, op, what + " (the first bad value is not known: the check ran inside a CUDA graph)");
  return true;
}

// The index without its broadcast (stride-0) dims: the same values, each once. Its first bad value
// in row-major order is the whole index's (a bad element's copies all come after it).
Tensor distinct_values(const Tensor& index) {
  Shape shape = index.shape();
  bool any = false;
  for (int64_t d = 0; d < index.dim(); ++d)
    if (index.strides()[d] == 0 && shape[d] > 1) shape[d] = 1, any = true;
  return any ? strided_view(index, shape, index.strides()) : index;
}

void check_range(const char* op, const Tensor& index0, int64_t axis, int64_t size) {
  Tensor index = distinct_values(index0);
  if (deferred_range_check(op, index, -size, size, fmt::format("an index is out of range for axis {} of size {}", axis, size)))
    return;
  if (index.is_cuda()) {
    cuda::deferred::check_range(op, cuda::deferred::Kind::axis_index, index, -size, size, axis);
    return;
  }
  int64_t pos = first_bad_index(index, size, true);
  if (pos >= 0)
    AXON_FAIL(op, "index {} is out of range for axis {} of size {}", index_value_at(index, pos), axis, size);
}

// out[i] = x[x_view.offset(i) + index[idx_view.offset(i)] * x.strides()[axis]], both views over out_shape.
Tensor gather_core(const Tensor& x, int64_t axis, const Shape& out_shape, const Strides& x_strides,
                   const Tensor& index, const Strides& idx_strides) {
  Tensor out = empty(out_shape, x.dtype(), x.device());
  const int64_t n = out.numel();
  if (n == 0) return out;
  Tensor xv = strided_view(x, out_shape, x_strides);
  Tensor iv = strided_view(index, out_shape, idx_strides);
  auto ix = detail::make_indexers(out_shape, {&xv, &iv});
  const int64_t axis_stride = x.strides()[axis], axis_size = x.shape()[axis];
  AXON_ON_DEVICE(x.device(),
                 kernels::cpu::gather(x.dtype(), x.data_ptr(), ix[0], axis_stride, axis_size, index.dtype(),
                                      index.data_ptr(), ix[1], out.data_ptr(), n),
                 cuda::backend().gather(x.dtype(), x.data_ptr(), ix[0], axis_stride, axis_size, index.dtype(),
                                        index.data_ptr(), ix[1], out.data_ptr(), n,
                                        detail::stream_for(x.device())));
  return out;
}

// Whole rows of x along `axis` on the CPU: the dims after it dense (`inner` elements a row), those
// before it collapsing to one (offset o·outer_pitch, in elements). Such rows move with one memcpy
// each instead of an Indexer walk per element.
struct RowLayout {
  int64_t outer = 1, outer_pitch = 0, inner = 1;
};
bool row_layout(const Tensor& x, int64_t axis, RowLayout& r) {
  if (!x.device().is_cpu()) return false;
  const Shape& sh = x.shape();
  const Strides& st = x.strides();
  int64_t expect = 1;
  for (int64_t d = x.dim() - 1; d > axis; --d) {
    if (sh[d] != 1 && st[d] != expect) return false;
    expect *= sh[d];
  }
  r.inner = expect;
  int64_t pitch = -1, span = 1;
  for (int64_t d = axis - 1; d >= 0; --d) {
    if (sh[d] == 1) continue;
    if (pitch < 0)
      pitch = st[d];
    else if (st[d] != pitch * span)
      return false;
    span *= sh[d];
  }
  r.outer = span;
  r.outer_pitch = pitch < 0 ? 0 : pitch;
  return true;
}

// An index of x's rank that names whole rows: its dims after `axis` broadcast (stride 0) over x's,
// those before it x's. Sets `idx` to its values per (outer, j), contiguous, and `pitch` to the
// distance between outer positions (0 when they all share one index).
bool row_index(const Tensor& x, int64_t axis, const Tensor& index, Tensor& idx, int64_t& pitch) {
  const Shape& xs = x.shape();
  const Shape& is = index.shape();
  const Strides& st = index.strides();
  bool shared = true;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d == axis) continue;
    if (is[d] != xs[d]) return false;
    if (d > axis && is[d] != 1 && st[d] != 0) return false;
    if (d < axis && is[d] != 1 && st[d] != 0) shared = false;
  }
  NoGrad ng;
  if (shared) {
    idx = strided_view(index, {is[axis]}, {st[axis]}).contiguous();
    pitch = 0;
  } else {
    Shape lead(is.begin(), is.begin() + axis + 1);
    idx = strided_view(index, lead, Strides(st.begin(), st.begin() + axis + 1)).contiguous();
    pitch = is[axis];
  }
  return true;
}

// out [outer..., m, inner...] from x's rows (row_layout), idx/pitch as row_index gives them.
void gather_rows_into(const Tensor& x, int64_t axis, const RowLayout& rl, const Tensor& idx, int64_t pitch, int64_t m,
                      Tensor& out) {
  const int64_t is = static_cast<int64_t>(itemsize(x.dtype()));
  kernels::cpu::gather_rows(x.data_ptr(), rl.outer, rl.outer_pitch * is, x.strides()[axis] * is, x.shape()[axis],
                            rl.inner * is, idx.dtype(), idx.data_ptr(), pitch, m, out.data_ptr());
}

// A zero accumulator for a scatter_add of `dt` values: f32 for 16-bit floats, whose sums would
// round at every step (kernels::scatter_accumulator).
Tensor scatter_zeros(const Shape& shape, DType dt, Device dev) {
  return zeros(shape, kernels::scatter_accumulator(dt), dev);
}

// src [outer, m, inner] (contiguous) added into acc [outer, n, inner] at rows index[j]: one index
// load per row. Unchecked (the forward checked the index).
void add_rows_into(Tensor& acc, const Tensor& index, const Tensor& src, DType dt, int64_t outer, int64_t n, int64_t m,
                   int64_t inner) {
  AXON_ON_DEVICE(acc.device(),
                 kernels::cpu::scatter_add_rows(dt, acc.data_ptr(), outer, n, inner, index.dtype(), index.data_ptr(),
                                                0, m, src.data_ptr()),
                 cuda::backend().scatter_add_rows(dt, acc.data_ptr(), outer, n, inner, index.dtype(), index.data_ptr(),
                                                  0, m, src.data_ptr(), detail::stream_for(acc.device())));
}

void add_into(Tensor& acc, int64_t axis, const Tensor& index, const Tensor& src);

// The gradient of take: g [outer..., index..., inner...] summed into zeros of x's shape.
Tensor take_backward(const Tensor& g, const Tensor& index, const Shape& x_shape, int64_t axis) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x_shape[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < x_shape.size(); ++d) inner *= x_shape[d];
  const int64_t m = index.numel(), n = x_shape[axis];
  if (autograd::recording()) {  // higher-order gradients: through the differentiable op
    Tensor z = zeros({outer, n, inner}, g.dtype(), g.device());
    Tensor i3 = index.reshape({1, m, 1}).expand({outer, m, inner});
    return scatter_add(z, 1, i3, g.reshape({outer, m, inner})).reshape(x_shape);
  }
  // Added straight into the zeros (scatter_add would copy them first and check the index again,
  // which the forward did).
  Tensor acc = scatter_zeros({outer, n, inner}, g.dtype(), g.device());
  if (m > 0 && outer > 0 && inner > 0) {
    Tensor gs = g.reshape({outer, m, inner}).contiguous();
    if (g.is_cuda() && inner < 32) {  // short rows: one thread per element (rows would idle most of a warp)
      add_into(acc, 1, index.reshape({1, m, 1}).expand({outer, m, inner}), gs);
    } else {
      add_rows_into(acc, index.contiguous(), gs, g.dtype(), outer, n, m, inner);
    }
  }
  return detail::to_dtype_untracked(acc, g.dtype()).reshape(x_shape);
}

Tensor take_impl(const char* op, const Tensor& x, const Tensor& index, int64_t axis) {
  detail::check_defined(op, x);
  detail::check_defined(op, index, "index");
  detail::same_device(op, {&x, &index});
  check_index_dtype(op, index);
  AXON_CHECK(x.dim() > 0, op, "cannot index a 0-d tensor ({})", describe(x));
  axis = normalize_axis(axis, x.dim(), op);
  check_range(op, index, axis, x.shape()[axis]);

  const int64_t r = x.dim(), ri = index.dim();
  Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
  out_shape.insert(out_shape.end(), index.shape().begin(), index.shape().end());
  out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  Strides xs(out_shape.size(), 0), is(out_shape.size(), 0);
  for (int64_t d = 0; d < axis; ++d) xs[d] = x.strides()[d];
  for (int64_t d = 0; d < ri; ++d) is[axis + d] = index.strides()[d];
  for (int64_t d = axis + 1; d < r; ++d) xs[d - 1 + ri] = x.strides()[d];
  RowLayout rl;
  Tensor out;
  if (row_layout(x, axis, rl)) {
    out = empty(out_shape, x.dtype(), x.device());
    if (out.numel() > 0) {
      NoGrad ng;
      Tensor idx = index.contiguous();
      gather_rows_into(x, axis, rl, idx, 0, idx.numel(), out);
    }
  } else {
    out = gather_core(x, axis, out_shape, xs, index, is);
  }

  if (autograd::recording()) {
    Shape x_shape = x.shape();
    autograd::record(op, {x, index}, {out}, [index, x_shape, axis](const Grads& g) {
      return Grads{take_backward(g[0], index, x_shape, axis), Tensor()};
    });
  }
  return out;
}
// acc[..., index[i], ...] += src[i] along axis (index over its own shape, src at least as large):
// acc contiguous, of dtype scatter_accumulator(src's). The index is not checked here.
void add_into(Tensor& acc, int64_t axis, const Tensor& index, const Tensor& src) {
  const int64_t n = index.numel();
  if (n == 0) return;
  RowLayout rl;
  Tensor idx;
  int64_t pitch = 0;
  if (src.is_contiguous() && src.shape() == index.shape() && row_layout(acc, axis, rl) &&
      row_index(acc, axis, index, idx, pitch)) {
    kernels::cpu::scatter_add_rows(src.dtype(), acc.data_ptr(), rl.outer, acc.shape()[axis], rl.inner, idx.dtype(),
                                   idx.data_ptr(), pitch, index.shape()[axis], src.data_ptr());
    return;
  }
  Strides os = acc.strides();
  const int64_t axis_stride = os[axis];
  os[axis] = 0;
  Tensor ov = strided_view(acc, index.shape(), os);
  Tensor sv = strided_view(src, index.shape(), src.strides());
  auto ix = detail::make_indexers(index.shape(), {&ov, &index, &sv});
  AXON_ON_DEVICE(acc.device(),
                 kernels::cpu::scatter_add(src.dtype(), acc.data_ptr(), ix[0], axis_stride, acc.shape()[axis],
                                           index.dtype(), index.data_ptr(), ix[1], src.data_ptr(), ix[2], n),
                 cuda::backend().scatter_add(src.dtype(), acc.data_ptr(), ix[0], axis_stride, acc.shape()[axis],
                                             index.dtype(), index.data_ptr(), ix[1], src.data_ptr(), ix[2], n,
                                             detail::stream_for(acc.device())));
}
}  // namespace

Tensor take(const Tensor& x, const Tensor& index, int64_t axis) { return take_impl("take", x, index, axis); }

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index) {
  detail::check_defined("index_select", index, "index");
  AXON_CHECK(index.dim() == 1, "index_select", "index must be 1-D, got {}", describe(index));
  return take_impl("index_select", x, index, axis);
}

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  detail::check_defined("gather", x);
  detail::check_defined("gather", index, "index");
  detail::same_device("gather", {&x, &index});
  check_index_dtype("gather", index);
  AXON_CHECK(x.dim() > 0, "gather", "cannot index a 0-d tensor ({})", describe(x));
  AXON_CHECK(index.dim() == x.dim(), "gather", "index {} must have the rank of the input {}", describe(index),
             describe(x));
  axis = normalize_axis(axis, x.dim(), "gather");
  for (int64_t d = 0; d < x.dim(); ++d)
    AXON_CHECK(d == axis || index.shape()[d] <= x.shape()[d], "gather",
               "index shape {} exceeds input shape {} on axis {}", to_string(index.shape()), to_string(x.shape()), d);
  check_range("gather", index, axis, x.shape()[axis]);
  RowLayout rl;
  Tensor idx, out;
  int64_t pitch = 0;
  if (row_layout(x, axis, rl) && row_index(x, axis, index, idx, pitch)) {
    out = empty(index.shape(), x.dtype(), x.device());
    if (out.numel() > 0) gather_rows_into(x, axis, rl, idx, pitch, index.shape()[axis], out);
  } else {
    Strides xs = x.strides();
    xs[axis] = 0;
    out = gather_core(x, axis, index.shape(), xs, index, index.strides());
  }
  if (autograd::recording()) {
    Shape x_shape = x.shape();
    autograd::record("gather", {x, index}, {out}, [index, x_shape, axis](const Grads& g) {
      if (autograd::recording())  // higher-order gradients: through the differentiable op
        return Grads{scatter_add(zeros(x_shape, g[0].dtype(), g[0].device()), axis, index, g[0]), Tensor()};
      // Into zeros directly: no copy of them, no second check of the index (the forward's).
      Tensor acc = scatter_zeros(x_shape, g[0].dtype(), g[0].device());
      add_into(acc, axis, index, g[0]);
      return Grads{detail::to_dtype_untracked(acc, g[0].dtype()), Tensor()};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  const char* op = "scatter_add";
  detail::check_defined(op, x);
  detail::check_defined(op, index, "index");
  detail::check_defined(op, src, "src");
  detail::same_device(op, {&x, &index, &src});
  check_index_dtype(op, index);
  AXON_CHECK(is_floating(x.dtype()) || x.dtype() == DType::i32 || x.dtype() == DType::i64, op,
             "supports floating-point, i32 and i64 tensors, got {}", describe(x));
  AXON_CHECK(src.dtype() == x.dtype(), op, "src {} must have the dtype of the input {}", describe(src), describe(x));
  AXON_CHECK(x.dim() > 0, op, "cannot index a 0-d tensor ({})", describe(x));
  AXON_CHECK(index.dim() == x.dim() && src.dim() == x.dim(), op,
             "input {}, index {} and src {} must have the same rank", describe(x), describe(index), describe(src));
  axis = normalize_axis(axis, x.dim(), op);
  for (int64_t d = 0; d < x.dim(); ++d) {
    AXON_CHECK(index.shape()[d] <= src.shape()[d], op, "index shape {} exceeds src shape {} on axis {}",
               to_string(index.shape()), to_string(src.shape()), d);
    AXON_CHECK(d == axis || index.shape()[d] <= x.shape()[d], op, "index shape {} exceeds input shape {} on axis {}",
               to_string(index.shape()), to_string(x.shape()), d);
  }
  check_range(op, index, axis, x.shape()[axis]);

  Tensor out;
  {
    NoGrad ng;
    // A contiguous copy to add into, in f32 for 16-bit floats (scatter_accumulator), cast back after.
    const DType acc = kernels::scatter_accumulator(x.dtype());
    out = acc == x.dtype() ? x.clone() : detail::to_dtype_untracked(x, acc);
    add_into(out, axis, index, src);
    out = detail::to_dtype_untracked(out, x.dtype());
  }
  if (autograd::recording()) {
    Shape src_shape = src.shape();
    autograd::record(op, {x, index, src}, {out}, [index, src_shape, axis](const Grads& g) {
      Tensor gs = gather(g[0], axis, index);
      if (gs.shape() != src_shape) {
        // src elements the index does not reach get no gradient.
        std::vector<std::pair<int64_t, int64_t>> pads;
        for (size_t d = 0; d < src_shape.size(); ++d) pads.emplace_back(0, src_shape[d] - gs.shape()[d]);
        gs = pad(gs, pads);
      }
      return Grads{g[0], Tensor(), gs};
    });
  }
  return out;
}

Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) {
  detail::check_defined("one_hot", labels, "labels");
  check_index_dtype("one_hot", labels, "labels");
  AXON_CHECK(num_classes >= 0, "one_hot", "num_classes must be non-negative, got {}", num_classes);
  if (!deferred_range_check("one_hot", labels, 0, num_classes,
                            fmt::format("a label is out of range for {} classes", num_classes))) {
    if (labels.is_cuda())
      cuda::deferred::check_range("one_hot", cuda::deferred::Kind::one_hot_label, labels, 0, num_classes);
    else if (int64_t pos = first_bad_index(labels, num_classes, false); pos >= 0)
      AXON_FAIL("one_hot", "label {} is out of range for {} classes", index_value_at(labels, pos), num_classes);
  }
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = empty(shape, dtype, labels.device());
  if (out.numel() == 0) return out;
  kernels::Indexer il = detail::make_indexer(labels);
  AXON_ON_DEVICE(labels.device(),
                 kernels::cpu::one_hot(labels.dtype(), labels.data_ptr(), il, labels.numel(), num_classes, dtype,
                                       out.data_ptr()),
                 cuda::backend().one_hot(labels.dtype(), labels.data_ptr(), il, labels.numel(), num_classes, dtype,
                                         out.data_ptr(), detail::stream_for(labels.device())));
  return out;
}

}  // namespace axon
