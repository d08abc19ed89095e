// Indexing along one axis: take, index_select, gather, scatter_add, one_hot.
// Indices are i32 or i64. Negative indices wrap as in NumPy (-1 is the last element) for take,
// index_select and gather, and for scatter_add (so that it is their exact adjoint); one_hot labels
// must lie in [0, num_classes). Every index is validated before any data moves, and an index out
// of range raises axon::Error naming the op, the first bad value (in row-major order) and the
// axis size -- the same on CPU and CUDA (there at the cost of one stream synchronisation; inside a
// CUDA graph capture the check is deferred: the compiled function's next call raises it).
#include <axon/kernels/copy.hpp>
#include <axon/kernels/index.hpp>

#include "../cuda/capture.hpp"
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

// Position of the first index outside the valid range, or -1.
int64_t first_bad_index(const Tensor& index, int64_t size, bool allow_negative) {
  if (index.numel() == 0) return -1;
  kernels::Indexer ii = detail::make_indexer(index);
  int64_t pos = -1;
  AXON_ON_DEVICE(index.device(),
                 pos = kernels::cpu::find_bad_index(index.dtype(), index.data_ptr(), ii, index.numel(), size,
                                                    allow_negative),
                 {
                   Tensor scratch = empty({8}, DType::u8, index.device());
                   pos = kernels::cuda::find_bad_index(index.dtype(), index.data_ptr(), ii, index.numel(), size,
                                                       allow_negative, scratch.data_ptr(),
                                                       detail::stream_for(index.device()));
                 });
  return pos;
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

void check_range(const char* op, const Tensor& index, int64_t axis, int64_t size) {
  if (deferred_range_check(op, index, -size, size, fmt::format("an index is out of range for axis {} of size {}", axis, size)))
    return;
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
                 kernels::cuda::gather(x.dtype(), x.data_ptr(), ix[0], axis_stride, axis_size, index.dtype(),
                                       index.data_ptr(), ix[1], out.data_ptr(), n,
                                       detail::stream_for(x.device())));
  return out;
}

// The gradient of take: g [outer..., index..., inner...] summed into zeros of x's shape.
Tensor take_backward(const Tensor& g, const Tensor& index, const Shape& x_shape, int64_t axis) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x_shape[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < x_shape.size(); ++d) inner *= x_shape[d];
  const int64_t m = index.numel(), n = x_shape[axis];
  Tensor z = zeros({outer, n, inner}, g.dtype(), g.device());
  Tensor i3 = index.reshape({1, m, 1}).expand({outer, m, inner});
  return scatter_add(z, 1, i3, g.reshape({outer, m, inner})).reshape(x_shape);
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
  Tensor out = gather_core(x, axis, out_shape, xs, index, is);

  if (autograd::recording()) {
    Shape x_shape = x.shape();
    autograd::record(op, {x, index}, {out}, [index, x_shape, axis](const Grads& g) {
      return Grads{take_backward(g[0], index, x_shape, axis), Tensor()};
    });
  }
  return out;
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
  Strides xs = x.strides();
  xs[axis] = 0;
  Tensor out = gather_core(x, axis, index.shape(), xs, index, index.strides());
  if (autograd::recording()) {
    Shape x_shape = x.shape();
    autograd::record("gather", {x, index}, {out}, [index, x_shape, axis](const Grads& g) {
      return Grads{scatter_add(zeros(x_shape, g[0].dtype(), g[0].device()), axis, index, g[0]), Tensor()};
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
    out = x.clone();  // contiguous
  }
  const int64_t n = index.numel();
  if (n > 0) {
    Strides os = out.strides();
    const int64_t axis_stride = os[axis];
    os[axis] = 0;
    Tensor ov = strided_view(out, index.shape(), os);
    Tensor sv = strided_view(src, index.shape(), src.strides());
    auto ix = detail::make_indexers(index.shape(), {&ov, &index, &sv});
    AXON_ON_DEVICE(x.device(),
                   kernels::cpu::scatter_add(x.dtype(), out.data_ptr(), ix[0], axis_stride, x.shape()[axis],
                                             index.dtype(), index.data_ptr(), ix[1], src.data_ptr(), ix[2], n),
                   kernels::cuda::scatter_add(x.dtype(), out.data_ptr(), ix[0], axis_stride, x.shape()[axis],
                                              index.dtype(), index.data_ptr(), ix[1], src.data_ptr(), ix[2], n,
                                              detail::stream_for(x.device())));
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
  int64_t pos = deferred_range_check("one_hot", labels, 0, num_classes,
                                     fmt::format("a label is out of range for {} classes", num_classes))
                    ? -1
                    : first_bad_index(labels, num_classes, false);
  if (pos >= 0)
    AXON_FAIL("one_hot", "label {} is out of range for {} classes", index_value_at(labels, pos), num_classes);
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = empty(shape, dtype, labels.device());
  if (out.numel() == 0) return out;
  kernels::Indexer il = detail::make_indexer(labels);
  AXON_ON_DEVICE(labels.device(),
                 kernels::cpu::one_hot(labels.dtype(), labels.data_ptr(), il, labels.numel(), num_classes, dtype,
                                       out.data_ptr()),
                 kernels::cuda::one_hot(labels.dtype(), labels.data_ptr(), il, labels.numel(), num_classes, dtype,
                                        out.data_ptr(), detail::stream_for(labels.device())));
  return out;
}

}  // namespace axon
