// Shape layers and combinators: thin checks over the core view / join ops.
#include <axon/layers/shape.hpp>
#include <axon/ops.hpp>

namespace axon::layers {

Tensor flatten(const Tensor& x) {
  AXON_CHECK(x.defined() && x.dim() >= 1, "flatten", "the input must have rank >= 1, got {}",
             x.defined() ? describe(x) : std::string("undefined"));
  int64_t rest = 1;
  for (int64_t d = 1; d < x.dim(); ++d) rest *= x.size(d);
  return axon::reshape(x, {x.size(0), rest});
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  AXON_CHECK(x.defined() && x.dim() >= 1, "reshape", "the input must have rank >= 1 (a batch axis)");
  Shape s{x.size(0)};
  s.insert(s.end(), shape.begin(), shape.end());
  int64_t known = 1, unknown = 0;
  for (int64_t v : shape) {
    if (v == -1)
      ++unknown;
    else
      known *= v;
  }
  int64_t rest = x.size(0) == 0 ? 0 : x.numel() / x.size(0);
  AXON_CHECK(unknown <= 1 && (unknown ? known != 0 && rest % known == 0 : known == rest), "reshape",
             "cannot reshape input {} to [batch] + {}", describe(x), to_string(shape));
  for (auto& v : s)
    if (v == -1) v = rest / known;
  return axon::reshape(x, s);
}

Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes) {
  AXON_CHECK(x.defined(), "transpose", "the input must be defined");
  std::vector<int64_t> order = axes;
  if (order.empty())
    for (int64_t d = x.dim() - 1; d >= 0; --d) order.push_back(d);
  AXON_CHECK(static_cast<int64_t>(order.size()) == x.dim(), "transpose",
             "axes {} must permute all {} axes of {}", to_string(Shape(order.begin(), order.end())), x.dim(),
             describe(x));
  return permute(x, order);
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, double value,
           Channels channels) {
  AXON_CHECK(x.defined() && x.dim() >= 2, "pad", "the input must have rank >= 2 ([batch, ..., channels])");
  const int64_t spatial = x.dim() - 2;
  AXON_CHECK(static_cast<int64_t>(pads.size()) == spatial, "pad",
             "{} padding pairs given for the {} spatial axes of {}", pads.size(), spatial, describe(x));
  std::vector<std::pair<int64_t, int64_t>> full(static_cast<size_t>(x.dim()), {0, 0});
  const int64_t first = channels == Channels::last ? 1 : 2;
  for (int64_t i = 0; i < spatial; ++i) full[static_cast<size_t>(first + i)] = pads[static_cast<size_t>(i)];
  return axon::pad(x, full, value);
}

namespace {
void check_list(const char* op, const std::vector<Tensor>& xs) {
  AXON_CHECK(!xs.empty(), op, "needs at least one input");
  for (const auto& t : xs) AXON_CHECK(t.defined(), op, "inputs must be defined");
}
}  // namespace

Tensor add(const std::vector<Tensor>& xs) {
  check_list("add", xs);
  Tensor y = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) y = axon::add(y, xs[i]);
  return y;
}
Tensor subtract(const std::vector<Tensor>& xs) {
  check_list("subtract", xs);
  Tensor y = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) y = axon::sub(y, xs[i]);
  return y;
}
Tensor multiply(const std::vector<Tensor>& xs) {
  check_list("multiply", xs);
  Tensor y = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) y = axon::mul(y, xs[i]);
  return y;
}
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  check_list("concatenate", xs);
  return concat(xs, axis < 0 ? axis + xs[0].dim() : axis);
}

std::vector<Tensor> split(const Tensor& x, int64_t splits, int64_t axis) {
  AXON_CHECK(x.defined(), "split", "the input must be defined");
  AXON_CHECK(axis >= -x.dim() && axis < x.dim(), "split", "axis {} is out of range for {}", axis,
             describe(x));
  if (axis < 0) axis += x.dim();
  AXON_CHECK(splits > 0 && x.size(axis) % splits == 0, "split", "{} splits do not divide axis {} of {}",
             splits, axis, describe(x));
  return axon::split(x, std::vector<int64_t>(static_cast<size_t>(splits), x.size(axis) / splits), axis);
}

}  // namespace axon::layers
