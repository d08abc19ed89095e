// Joining and splitting: concat, stack, split. concat copies each input (converting to the
// promoted dtype) into its slab of the output; split returns views.
#include <axon/kernels/copy.hpp>

#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

std::string shapes_of(const std::vector<Tensor>& xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + to_string(xs[i].shape());
  return s;
}

// Checks that the tensors are defined and on one device; returns it.
Device common_device(const char* op, const std::vector<Tensor>& xs) {
  AXON_CHECK(!xs.empty(), op, "needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i)
    AXON_CHECK(xs[i].defined(), op, "tensor {} is undefined", i);
  for (size_t i = 1; i < xs.size(); ++i)
    AXON_CHECK(xs[i].device() == xs[0].device(), op, "tensors are on different devices: {} and {}",
               describe(xs[0]), describe(xs[i]));
  return xs[0].device();
}
}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  const char* op = "concat";
  const Device dev = common_device(op, xs);
  const int64_t rank = xs[0].dim();
  AXON_CHECK(rank > 0, op, "cannot concatenate 0-d tensors (shapes {}); use stack", shapes_of(xs));
  axis = normalize_axis(axis, rank, op);
  DType dt = xs[0].dtype();
  Shape out_shape = xs[0].shape();
  out_shape[axis] = 0;
  for (const Tensor& x : xs) {
    AXON_CHECK(x.dim() == rank, op, "tensors must have the same rank, got shapes {}", shapes_of(xs));
    for (int64_t d = 0; d < rank; ++d)
      AXON_CHECK(d == axis || x.shape()[d] == xs[0].shape()[d], op,
                 "shapes {} and {} differ outside the concatenation axis {}", to_string(xs[0].shape()),
                 to_string(x.shape()), axis);
    AXON_CHECK(!__builtin_add_overflow(out_shape[axis], x.shape()[axis], &out_shape[axis]), op,
               "the concatenated axis of shapes {} is too large", shapes_of(xs));
    dt = promote_types(dt, x.dtype());
  }

  checked_numel(out_shape, op);
  Tensor out = empty(out_shape, dt, dev);
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& x : xs) {
    starts.push_back(start);
    if (x.numel() > 0) {
      // The slab of `out` this input fills.
      detail::copy_to_view(
          x, detail::make_view(out, x.shape(), out.strides(), out.offset() + start * out.strides()[axis]));
    }
    start += x.shape()[axis];
  }
  if (autograd::recording()) {
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.shape()[axis]);
    autograd::record(op, xs, {out}, [starts, sizes, axis](const Grads& g) {
      Grads gs;
      for (size_t i = 0; i < sizes.size(); ++i) gs.push_back(slice(g[0], axis, starts[i], starts[i] + sizes[i]));
      return gs;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  common_device("stack", xs);
  for (const Tensor& x : xs)
    AXON_CHECK(x.shape() == xs[0].shape(), "stack", "tensors must have the same shape, got {}", shapes_of(xs));
  axis = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(unsqueeze(x, axis));
  return concat(parts, axis);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  detail::check_defined("split", x);
  AXON_CHECK(x.dim() > 0, "split", "cannot split a 0-d tensor");
  axis = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    AXON_CHECK(s >= 0, "split", "sizes {} contain a negative size", to_string(sizes));
    AXON_CHECK(!__builtin_add_overflow(total, s, &total), "split", "sizes {} overflow when summed", to_string(sizes));
  }
  AXON_CHECK(total == x.shape()[axis], "split", "sizes {} sum to {} but axis {} of {} has size {}", to_string(sizes),
             total, axis, describe(x), x.shape()[axis]);
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice(x, axis, start, start + s));
    start += s;
  }
  return parts;
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t axis) {
  detail::check_defined("split", x);
  AXON_CHECK(x.dim() > 0, "split", "cannot split a 0-d tensor");
  AXON_CHECK(size > 0, "split", "chunk size must be positive, got {}", size);
  axis = normalize_axis(axis, x.dim(), "split");
  const int64_t n = x.shape()[axis];
  if (n == 0) return {slice(x, axis, 0, 0)};
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += size) parts.push_back(slice(x, axis, start, std::min(n, start + size)));
  return parts;
}

}  // namespace axon
