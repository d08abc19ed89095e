#include "internal.hpp"

#include <axon/kernels/copy.hpp>

namespace axon::detail {

std::vector<kernels::Indexer> make_indexers(const Shape& out, std::initializer_list<const Tensor*> operands) {
  const size_t rank = out.size();
  const size_t k = operands.size();
  // Per-operand strides aligned to out (right-aligned broadcasting).
  std::vector<Strides> st(k, Strides(rank, 0));
  size_t j = 0;
  for (const Tensor* t : operands) {
    const auto& s = t->shape();
    const auto& ts = t->strides();
    size_t lead = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) st[j][lead + d] = (s[d] == 1 && out[lead + d] != 1) ? 0 : ts[d];
    ++j;
  }
  // Drop size-1 axes, then merge axis d into d+1 where every operand is contiguous across them.
  Shape sizes;
  std::vector<Strides> ms(k);
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    bool merge = !sizes.empty();
    for (size_t o = 0; o < k && merge; ++o) merge = ms[o].back() == st[o][d] * out[d];
    if (merge) {
      sizes.back() *= out[d];
      for (size_t o = 0; o < k; ++o) ms[o].back() = st[o][d];
    } else {
      sizes.push_back(out[d]);
      for (size_t o = 0; o < k; ++o) ms[o].push_back(st[o][d]);
    }
  }
  AXON_CHECK(sizes.size() <= static_cast<size_t>(kernels::kMaxDims), "elementwise",
             "tensors of shape {} with this layout need {} axes; at most {} are supported (call contiguous())",
             to_string(out), sizes.size(), kernels::kMaxDims);
  std::vector<kernels::Indexer> res(k);
  for (size_t o = 0; o < k; ++o) {
    res[o].ndim = static_cast<int>(sizes.size());
    for (size_t d = 0; d < sizes.size(); ++d) {
      res[o].sizes[d] = sizes[d];
      res[o].strides[d] = ms[o][d];
    }
  }
  return res;
}

kernels::Indexer make_indexer(const Tensor& t) { return make_indexers(t.shape(), {&t})[0]; }

void copy_to_view(const Tensor& src, const Tensor& dst) {
  auto ix = make_indexers(src.shape(), {&src, &dst});
  AXON_ON_DEVICE(src.device(),
                 kernels::cpu::copy_cast(src.dtype(), src.data_ptr(), ix[0], dst.dtype(), dst.data_ptr(), src.numel(),
                                         &ix[1]),
                 cuda::backend().copy_cast(src.dtype(), src.data_ptr(), ix[0], dst.dtype(), dst.data_ptr(), src.numel(),
                                           stream_for(src.device()), &ix[1]));
}

Tensor make_view(const Tensor& t, Shape shape, Strides strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl().storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

Device same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (!(t->device() == first->device())) {
      AXON_FAIL(op, "tensors are on different devices: {} and {}", describe(*first), describe(*t));
    }
  }
  AXON_CHECK(first, op, "no defined input tensor");
  return first->device();
}

void check_defined(const char* op, const Tensor& t, const char* what) {
  AXON_CHECK(t.defined(), op, "{} is an undefined tensor", what);
}

DType scalar_result_dtype(DType with, const Scalar& s) {
  if (is_floating(with)) return with;
  if (s.integral) return with == DType::boolean ? DType::i64 : with;
  return DType::f32;
}

}  // namespace axon::detail
