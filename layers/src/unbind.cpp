// unbind / chunk: views made without the tape, then recorded as one op whose backward joins the parts.
#include "unbind.hpp"

#include <axon/autograd.hpp>
#include <axon/ops.hpp>

namespace axon::layers::detail {

std::vector<Tensor> unbind(const Tensor& x, int64_t axis) {
  AXON_CHECK(x.defined() && x.dim() >= 1, "unbind", "needs a tensor of rank >= 1");
  axis = normalize_axis(axis, x.dim(), "unbind");
  std::vector<Tensor> parts;
  {
    NoGrad ng;
    for (int64_t i = 0; i < x.size(axis); ++i) parts.push_back(x.select(axis, i));
  }
  autograd::record("unbind", {x}, parts,
                   [axis](const autograd::Grads& g) { return autograd::Grads{stack(g, axis)}; });
  return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t axis) {
  AXON_CHECK(x.defined() && x.dim() >= 1, "chunk", "needs a tensor of rank >= 1");
  axis = normalize_axis(axis, x.dim(), "chunk");
  AXON_CHECK(n >= 1 && x.size(axis) % n == 0, "chunk", "axis {} of {} does not split into {} equal parts", axis,
             describe(x), n);
  const int64_t len = x.size(axis) / n;
  std::vector<Tensor> parts;
  {
    NoGrad ng;
    for (int64_t i = 0; i < n; ++i) parts.push_back(x.narrow(axis, i * len, len));
  }
  autograd::record("chunk", {x}, parts,
                   [axis](const autograd::Grads& g) { return autograd::Grads{concat(g, axis)}; });
  return parts;
}

}  // namespace axon::layers::detail
