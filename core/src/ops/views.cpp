// View ops: new shape/strides/offset over the same storage, each with its backward.
#include <algorithm>
#include <numeric>

#include <axon/kernels/copy.hpp>

#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

using detail::make_view;

// Strides for viewing (shape, strides) as new_shape without copying, if possible
// (the algorithm PyTorch's view uses: match chunks of contiguous dimensions).
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape) {
  Strides ns(new_shape.size());
  if (old_shape.empty()) {
    std::fill(ns.begin(), ns.end(), 1);
    return ns;
  }
  if (numel(old_shape) == 0) return contiguous_strides(new_shape);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        ns[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return ns;
}

Shape infer_shape(const char* op, const Shape& in, Shape shape) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      AXON_CHECK(infer < 0, op, "only one dimension can be -1 in {}", to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      AXON_CHECK(shape[i] >= 0, op, "invalid dimension {} in {}", shape[i], to_string(shape));
      if (shape[i] != 0) known = checked_mul(known, shape[i], op, "the target shape");
    }
  }
  int64_t n = numel(in);
  if (infer >= 0) {
    bool zero = std::find(shape.begin(), shape.end(), 0) != shape.end();
    AXON_CHECK(!zero && n % known == 0, op, "cannot reshape {} into {}", to_string(in), to_string(shape));
    shape[infer] = n / known;
  }
  AXON_CHECK(checked_numel(shape, op) == n, op, "cannot reshape {} ({} elements) into {}", to_string(in), n, to_string(shape));
  return shape;
}

Tensor record_reshape(const Tensor& x, Tensor y, const char* op) {
  Shape in = x.shape();
  autograd::record(op, {x}, {y}, [in](const Grads& g) { return Grads{reshape(g[0], in)}; });
  return y;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  detail::check_defined("reshape", x);
  Shape shape = infer_shape("reshape", x.shape(), shape_in);
  if (auto st = view_strides(x.shape(), x.strides(), shape))
    return record_reshape(x, make_view(x, shape, *st, x.offset()), "reshape");
  Tensor c;
  {
    NoGrad ng;  // one tape entry for the whole reshape
    c = contiguous(x);
  }
  return record_reshape(x, make_view(c, shape, contiguous_strides(shape), c.offset()), "reshape");
}
Tensor Tensor::reshape(const Shape& shape) const { return axon::reshape(*this, shape); }

Tensor Tensor::view(const Shape& shape_in) const {
  Shape shape = infer_shape("view", this->shape(), shape_in);
  auto st = view_strides(this->shape(), strides(), shape);
  AXON_CHECK(st.has_value(), "view", "a tensor of shape {} with strides {} cannot be viewed as {}; use reshape()",
             to_string(this->shape()), to_string(strides()), to_string(shape));
  return record_reshape(*this, make_view(*this, shape, *st, offset()), "view");
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = normalize_axis(start, dim(), "flatten");
  end = normalize_axis(end, dim(), "flatten");
  AXON_CHECK(start <= end, "flatten", "start axis {} is after end axis {}", start, end);
  Shape s(shape().begin(), shape().begin() + start);
  int64_t m = 1;
  for (int64_t i = start; i <= end; ++i) m *= shape()[i];
  s.push_back(m);
  s.insert(s.end(), shape().begin() + end + 1, shape().end());
  return reshape(s);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  detail::check_defined("permute", x);
  int64_t r = x.dim();
  AXON_CHECK(static_cast<int64_t>(order.size()) == r, "permute", "order has {} axes, tensor {} has {}",
             order.size(), describe(x), r);
  std::vector<int64_t> ax(order.size());
  std::vector<bool> seen(order.size(), false);
  Shape s(r);
  Strides st(r);
  for (int64_t i = 0; i < r; ++i) {
    ax[i] = normalize_axis(order[i], r, "permute");
    AXON_CHECK(!seen[ax[i]], "permute", "axis {} repeated in order", ax[i]);
    seen[ax[i]] = true;
    s[i] = x.shape()[ax[i]];
    st[i] = x.strides()[ax[i]];
  }
  Tensor y = make_view(x, s, st, x.offset());
  std::vector<int64_t> inv(r);
  for (int64_t i = 0; i < r; ++i) inv[ax[i]] = i;
  autograd::record("permute", {x}, {y}, [inv](const Grads& g) { return Grads{permute(g[0], inv)}; });
  return y;
}
Tensor Tensor::permute(const std::vector<int64_t>& order) const { return axon::permute(*this, order); }

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
  detail::check_defined("transpose", x);
  int64_t r = x.dim();
  std::vector<int64_t> order(r);
  std::iota(order.begin(), order.end(), 0);
  if (r == 0) return x;
  std::swap(order[normalize_axis(a, r, "transpose")], order[normalize_axis(b, r, "transpose")]);
  return permute(x, order);
}
Tensor Tensor::transpose(int64_t a, int64_t b) const { return axon::transpose(*this, a, b); }
Tensor Tensor::t() const {
  AXON_CHECK(dim() >= 2, "t", "needs a tensor of rank >= 2, got {}", describe(*this));
  return axon::transpose(*this, -2, -1);
}

namespace {
// The gradient of slice: g written into zeros of the input's shape. Differentiable itself.
Tensor slice_backward(const Tensor& g, const Shape& in_shape, int64_t axis, int64_t start, int64_t step) {
  Tensor out = zeros(in_shape, g.dtype(), g.device());
  Strides st = out.strides();
  int64_t off = start * st[axis];
  if (g.shape()[axis] > 1) st[axis] *= step;
  detail::copy_to_view(g, make_view(out, g.shape(), st, off));
  // The last element's index + 1: no overflow for any step (slice clamps `end` anyway).
  int64_t end = g.shape()[axis] == 0 ? start : start + (g.shape()[axis] - 1) * step + 1;
  autograd::record("slice_backward", {g}, {out}, [axis, start, end, step](const Grads& gg) {
    return Grads{slice(gg[0], axis, start, end, step)};
  });
  return out;
}
}  // namespace

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  detail::check_defined("slice", x);
  AXON_CHECK(x.dim() > 0, "slice", "cannot slice a 0-d tensor");
  axis = normalize_axis(axis, x.dim(), "slice");
  AXON_CHECK(step > 0, "slice", "step must be positive, got {}", step);
  int64_t n = x.shape()[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = x.shape();
  Strides st = x.strides();
  // Written so that no step (up to INT64_MAX) can overflow; a stride only matters with 2+ elements.
  s[axis] = end > start ? (end - start - 1) / step + 1 : 0;
  int64_t off = x.offset() + start * st[axis];
  if (s[axis] > 1) st[axis] *= step;
  Tensor y = make_view(x, s, st, off);
  Shape in = x.shape();
  autograd::record("slice", {x}, {y}, [in, axis, start, step](const Grads& g) {
    return Grads{slice_backward(g[0], in, axis, start, step)};
  });
  return y;
}
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  return axon::slice(*this, axis, start, end, step);
}
Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  axis = normalize_axis(axis, dim(), "narrow");
  AXON_CHECK(start >= 0 && length >= 0 && start <= shape()[axis] && length <= shape()[axis] - start, "narrow",
             "start {} and length {} are out of bounds for axis {} of size {}", start, length, axis, shape()[axis]);
  return axon::slice(*this, axis, start, start + length);
}
Tensor Tensor::select(int64_t axis, int64_t index) const {
  axis = normalize_axis(axis, dim(), "select");
  int64_t n = shape()[axis];
  AXON_CHECK(index >= -n && index < n, "select", "index {} is out of range for axis {} of size {}", index, axis, n);
  if (index < 0) index += n;
  return axon::slice(*this, axis, index, index + 1).squeeze(axis);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined("expand", x);
  AXON_CHECK(shape.size() >= x.shape().size(), "expand", "cannot expand {} to the lower rank shape {}",
             to_string(x.shape()), to_string(shape));
  size_t lead = shape.size() - x.shape().size();
  Shape s(shape.size());
  Strides st(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      AXON_CHECK(shape[i] >= 0, "expand", "invalid target shape {}", to_string(shape));
      s[i] = shape[i];
      continue;
    }
    int64_t d = x.shape()[i - lead];
    int64_t want = shape[i] == -1 ? d : shape[i];
    AXON_CHECK(d == want || d == 1, "expand", "cannot expand shape {} to {}", to_string(x.shape()), to_string(shape));
    s[i] = want;
    st[i] = d == want ? x.strides()[i - lead] : 0;
  }
  checked_numel(s, "expand");
  Tensor y = make_view(x, s, st, x.offset());
  Shape in = x.shape();
  autograd::record("expand", {x}, {y}, [in](const Grads& g) { return Grads{sum_to(g[0], in)}; });
  return y;
}
Tensor Tensor::expand(const Shape& shape) const { return axon::expand(*this, shape); }

Tensor squeeze(const Tensor& x, std::optional<int64_t> axis) {
  detail::check_defined("squeeze", x);
  Shape s;
  Strides st;
  int64_t ax = axis ? normalize_axis(*axis, x.dim(), "squeeze") : -1;
  for (int64_t i = 0; i < x.dim(); ++i) {
    bool drop = x.shape()[i] == 1 && (ax < 0 || i == ax);
    if (!drop) {
      s.push_back(x.shape()[i]);
      st.push_back(x.strides()[i]);
    }
  }
  return record_reshape(x, make_view(x, s, st, x.offset()), "squeeze");
}
Tensor Tensor::squeeze() const { return axon::squeeze(*this); }
Tensor Tensor::squeeze(int64_t axis) const { return axon::squeeze(*this, axis); }

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  detail::check_defined("unsqueeze", x);
  axis = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  Strides st = x.strides();
  int64_t stride = axis < x.dim() ? st[axis] * s[axis] : 1;
  s.insert(s.begin() + axis, 1);
  st.insert(st.begin() + axis, stride);
  return record_reshape(x, make_view(x, s, st, x.offset()), "unsqueeze");
}
Tensor Tensor::unsqueeze(int64_t axis) const { return axon::unsqueeze(*this, axis); }

}  // namespace axon
