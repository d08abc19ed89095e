// sort and topk along one axis (stable; NaN sorts as the greatest value). The gradient of the
// values scatters the incoming gradient back to the positions the indices name.
#include <axon/kernels/sort.hpp>
#include <limits>
#include <numeric>

#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

#ifdef AXON_HAS_CUDA
void cuda_sort(const Tensor& src, const Tensor& values, const Tensor& indices, int64_t rows, int64_t n,
               bool descending) {
  Device dev = src.device();
  size_t ws = cuda::backend().sort_workspace_bytes(src.dtype(), rows, n);
  Tensor w = ws ? empty({static_cast<int64_t>(ws)}, DType::u8, dev) : Tensor();
  cuda::backend().sort(src.dtype(), src.data_ptr(), values.data_ptr(), indices.data<int64_t>(), rows, n,
                       descending, ws ? w.data_ptr() : nullptr, ws, detail::stream_for(dev));
}
#endif

// Sorted values and indices along `axis` (already normalised), unrecorded.
std::pair<Tensor, Tensor> sort_raw(const char* op, const Tensor& x, int64_t axis, bool descending) {
  NoGrad ng;
  if (x.dim() == 0) {
    auto [v, i] = sort_raw(op, x.reshape({1}), 0, descending);
    return {v.reshape({}), i.reshape({})};
  }
  int64_t r = x.dim(), n = x.shape()[axis];
  AXON_CHECK(n <= std::numeric_limits<int32_t>::max(), op, "axis {} of {} is too long to sort", axis,
             describe(x));
  // Move the axis last, where the kernels sort contiguous rows.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < r; ++d)
    if (d != axis) perm.push_back(d);
  perm.push_back(axis);
  bool moved = axis != r - 1;
  Tensor src = contiguous(moved ? permute(x, perm) : x);
  Tensor values(src.shape(), x.dtype(), x.device()), indices(src.shape(), DType::i64, x.device());
  int64_t rows = n ? src.numel() / n : 0;
  if (src.numel() > 0) {
    AXON_ON_DEVICE(x.device(),
                   kernels::cpu::sort(x.dtype(), src.data_ptr(), values.data_ptr(), indices.data<int64_t>(),
                                      rows, n, descending),
                   cuda_sort(src, values, indices, rows, n, descending));
  }
  if (!moved) return {values, indices};
  std::vector<int64_t> inv(r);
  for (int64_t d = 0; d < r; ++d) inv[perm[d]] = d;
  return {contiguous(permute(values, inv)), contiguous(permute(indices, inv))};
}

// d values / d x: g scattered to the sorted positions.
void record_scatter_back(const char* op, const Tensor& x, const Tensor& values, const Tensor& indices,
                         int64_t axis) {
  if (!autograd::recording()) return;
  Shape in = x.shape();
  int64_t ax = x.dim() == 0 ? 0 : axis;
  autograd::record(op, {x}, {values, indices}, [in, indices, ax](const Grads& g) {
    if (in.empty()) return Grads{g[0]};
    return Grads{scatter_add(zeros(in, g[0].dtype(), g[0].device()), ax, indices, g[0])};
  });
}
}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t axis, bool descending) {
  detail::check_defined("sort", x);
  axis = normalize_axis(axis, x.dim(), "sort");
  auto [values, indices] = sort_raw("sort", x, axis, descending);
  record_scatter_back("sort", x, values, indices, axis);
  return {values, indices};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t axis, bool largest) {
  detail::check_defined("topk", x);
  axis = normalize_axis(axis, x.dim(), "topk");
  int64_t n = x.dim() == 0 ? 1 : x.shape()[axis];
  AXON_CHECK(k >= 0 && k <= n, "topk", "k = {} is out of range for axis {} of size {} ({})", k, axis, n,
             describe(x));
  auto [values, indices] = sort_raw("topk", x, axis, largest);
  if (x.dim() > 0 && k < n) {
    NoGrad ng;
    values = contiguous(slice(values, axis, 0, k));
    indices = contiguous(slice(indices, axis, 0, k));
  }
  record_scatter_back("topk", x, values, indices, axis);
  return {values, indices};
}

}  // namespace axon
