// Shape, indexing and constant operators of onnx::import_model. Shape inputs (Reshape's shape,
// Slice's starts, ...) are read as values at run time, so a graph that computes them from Shape
// (torch.onnx.export's dynamic batch) runs; import_model folds them away when they are constant.
#include <algorithm>
#include <limits>
#include <numeric>

#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Outs = std::vector<Tensor>;

OpImpl make_flatten(const Attrs& a) {
  const int64_t axis = a.i("axis", 1);
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the input");
    const int64_t ax = axis < 0 ? axis + x.dim() : axis;
    AXON_CHECK(ax >= 0 && ax <= x.dim(), kImport, "{}: axis {} is out of range for {}", who, axis, describe(x));
    const Shape& s = x.shape();
    const int64_t outer = std::accumulate(s.begin(), s.begin() + ax, int64_t{1}, std::multiplies<>());
    const int64_t inner = std::accumulate(s.begin() + ax, s.end(), int64_t{1}, std::multiplies<>());
    return {reshape(x, {outer, inner})};
  }};
}

OpImpl make_reshape(const Attrs& a) {
  const bool allowzero = a.i("allowzero", 0) != 0;
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the data");
    std::vector<int64_t> shape = int_values(input(in, 1, who, "the shape"), who, "the shape");
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] == 0 && !allowzero) {
        AXON_CHECK(static_cast<int64_t>(k) < x.dim(), kImport, "{}: shape {} copies dim {} of {}", who,
                   to_string(shape), k, describe(x));
        shape[k] = x.shape()[k];
      }
      if (shape[k] == -1) {
        AXON_CHECK(infer < 0, kImport, "{}: shape {} has two -1", who, to_string(shape));
        infer = static_cast<int64_t>(k);
        continue;
      }
      AXON_CHECK(shape[k] >= 0, kImport, "{}: shape {} has a negative dim", who, to_string(shape));
      known *= shape[k];
    }
    if (infer >= 0) {
      AXON_CHECK(known > 0 && x.numel() % known == 0, kImport, "{}: cannot reshape {} to {}", who, describe(x),
                 to_string(shape));
      shape[infer] = x.numel() / known;
    }
    AXON_CHECK(axon::numel(shape) == x.numel(), kImport, "{}: cannot reshape {} to {}", who, describe(x),
               to_string(shape));
    return {reshape(x, shape)};
  }};
}

OpImpl make_transpose(const Attrs& a) {
  const std::vector<int64_t> perm = a.ints("perm");
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the input");
    std::vector<int64_t> p = perm;
    if (p.empty()) {
      p.resize(x.dim());
      for (int64_t k = 0; k < x.dim(); ++k) p[k] = x.dim() - 1 - k;
    }
    AXON_CHECK(static_cast<int64_t>(p.size()) == x.dim(), kImport, "{}: perm {} does not fit {}", who, to_string(p),
               describe(x));
    return {permute(x, p)};
  }};
}

OpImpl make_concat(const Attrs& a) {
  const int64_t axis = a.i("axis", 0);
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    std::vector<Tensor> xs;
    for (const Tensor& t : in)
      if (t.defined()) xs.push_back(t);
    AXON_CHECK(!xs.empty(), kImport, "{}: no inputs", who);
    return {concat(xs, norm_axis(axis, xs[0].dim(), who))};
  }};
}

// Split: sizes from input 1 (opset 13+), the "split" attribute (before 13), num_outputs (18+), or
// equal parts for every output.
OpImpl make_split(const Attrs& a) {
  {
    const size_t outputs = a.num_outputs();
    AXON_CHECK(outputs >= 1, kImport, "{}: the node has no output", a.who());
    const int64_t axis = a.i("axis", 0);
    const std::vector<int64_t> attr_split = a.ints("split");
    return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
      const Tensor& x = input(in, 0, who, "the input");
      const int64_t ax = norm_axis(axis, x.dim(), who);
      const Tensor s = optional_input(in, 1);
      std::vector<int64_t> sizes = s.defined() ? int_values(s, who, "split") : attr_split;
      if (sizes.empty()) {
        const int64_t n = static_cast<int64_t>(outputs), d = x.shape()[ax];
        const int64_t part = (d + n - 1) / n;  // the last part smaller, as opset 18's num_outputs
        for (int64_t k = 0; k < n; ++k) sizes.push_back(std::max<int64_t>(0, std::min(part, d - k * part)));
      }
      AXON_CHECK(sizes.size() == outputs, kImport, "{}: {} sizes for {} outputs", who, sizes.size(), outputs);
      return split(x, sizes, ax);
    }};
  }
}

std::vector<int64_t> axes_of(const Outs& in, const std::vector<int64_t>& attr, const std::string& who) {
  const Tensor t = optional_input(in, 1);
  return t.defined() ? int_values(t, who, "axes") : attr;
}

OpImpl make_squeeze(const Attrs& a) {
  const std::vector<int64_t> attr = a.ints("axes");
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    Tensor x = input(in, 0, who, "the input");
    std::vector<int64_t> axes = axes_of(in, attr, who);
    if (axes.empty())
      for (int64_t k = 0; k < x.dim(); ++k)
        if (x.shape()[k] == 1) axes.push_back(k);
    for (int64_t& ax : axes) ax = norm_axis(ax, x.dim(), who);
    std::sort(axes.rbegin(), axes.rend());
    for (int64_t ax : axes) {
      AXON_CHECK(x.shape()[ax] == 1, kImport, "{}: axis {} of {} is not 1", who, ax, describe(x));
      x = squeeze(x, ax);
    }
    return {x};
  }};
}

OpImpl make_unsqueeze(const Attrs& a) {
  const std::vector<int64_t> attr = a.ints("axes");
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    Tensor x = input(in, 0, who, "the input");
    std::vector<int64_t> axes = axes_of(in, attr, who);
    const int64_t rank = x.dim() + static_cast<int64_t>(axes.size());
    for (int64_t& ax : axes) ax = norm_axis(ax, rank, who);
    std::sort(axes.begin(), axes.end());
    for (int64_t ax : axes) x = unsqueeze(x, ax);
    return {x};
  }};
}

// Slice (opset 10+): starts, ends, optional axes and steps as inputs, clamped as ONNX specifies.
OpImpl make_slice(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    Tensor x = input(in, 0, who, "the data");
    const std::vector<int64_t> starts = int_values(input(in, 1, who, "starts"), who, "starts");
    const std::vector<int64_t> ends = int_values(input(in, 2, who, "ends"), who, "ends");
    const Tensor axes_t = optional_input(in, 3), steps_t = optional_input(in, 4);
    std::vector<int64_t> axes = axes_t.defined() ? int_values(axes_t, who, "axes") : std::vector<int64_t>{};
    std::vector<int64_t> steps = steps_t.defined() ? int_values(steps_t, who, "steps") : std::vector<int64_t>{};
    if (axes.empty())
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    AXON_CHECK(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(), kImport,
               "{}: starts, ends, axes and steps differ in length", who);
    for (size_t k = 0; k < starts.size(); ++k) {
      const int64_t ax = norm_axis(axes[k], x.dim(), who), d = x.shape()[ax], step = steps[k];
      AXON_CHECK(step > 0, kImport, "{}: step {} is not supported (positive steps only)", who, step);
      auto clamp_index = [d](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + d : i, 0, d); };
      const int64_t start = clamp_index(starts[k]), end = std::max(start, clamp_index(ends[k]));
      x = slice(x, ax, start, end, step);
    }
    return {x};
  }};
}

// Gather: NumPy's take along axis, negative indices counted from the end.
OpImpl make_gather(const Attrs& a) {
  const int64_t axis = a.i("axis", 0);
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the data");
    Tensor idx = input(in, 1, who, "the indices");
    AXON_CHECK(idx.dtype() == DType::i64 || idx.dtype() == DType::i32, kImport, "{}: indices must be integers, got {}",
               who, describe(idx));
    const int64_t ax = norm_axis(axis, x.dim(), who), d = x.shape()[ax];
    idx = where(lt(idx, 0), add(idx, d), idx);
    AXON_CHECK(idx.numel() == 0 || (min(idx).to(Device::cpu()).item<int64_t>() >= 0 &&
                                    max(idx).to(Device::cpu()).item<int64_t>() < d),
               kImport, "{}: an index is out of range for axis {} of {}", who, ax, describe(x));
    return {take(x, idx, ax)};
  }};
}

Tensor shape_vector(const Shape& s) { return from_vector<int64_t>(std::vector<int64_t>(s.begin(), s.end()), {static_cast<int64_t>(s.size())}); }

OpImpl make_shape(const Attrs& a) {
  const int64_t start = a.i("start", 0), end = a.i("end", std::numeric_limits<int64_t>::max());
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Shape& s = input(in, 0, who, "the input").shape();
    const int64_t r = static_cast<int64_t>(s.size());
    auto clamp_index = [r](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + r : i, 0, r); };
    const int64_t lo = clamp_index(start), hi = std::max(lo, clamp_index(end));
    return {shape_vector(Shape(s.begin() + lo, s.begin() + hi))};
  }};
}

OpImpl make_size(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    return {scalar_tensor(Scalar(static_cast<double>(input(in, 0, who, "the input").numel())), DType::i64)};
  }};
}

OpImpl make_constant(const Attrs& a) {
  Tensor value;
  if (a.has("value")) {
    value = a.t("value");
  } else if (a.has("value_float")) {
    value = scalar_tensor(a.f("value_float", 0), DType::f32);
  } else if (a.has("value_floats")) {
    const std::vector<float> v = a.floats("value_floats");
    value = from_vector<float>(v, {static_cast<int64_t>(v.size())});
  } else if (a.has("value_int")) {
    value = from_vector<int64_t>({a.i("value_int", 0)}, {});
  } else if (a.has("value_ints")) {
    const std::vector<int64_t> v = a.ints("value_ints");
    value = from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
  } else {
    AXON_FAIL(kImport, "{}: no value (value, value_float(s), value_int(s)); sparse and string constants are not supported",
              a.who());
  }
  return {[value](const Outs&, OpRun&) -> Outs { return {value}; }};
}

OpImpl make_constant_of_shape(const Attrs& a) {
  const Tensor value = a.has("value") ? a.t("value") : zeros({1});
  AXON_CHECK(value.numel() == 1, kImport, "{}: value must hold one element, got {}", a.who(), describe(value));
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Shape s = checked_shape(int_values(input(in, 0, who, "the shape"), who, "the shape"), who);
    return {expand(value.reshape({}), s).contiguous()};
  }};
}

// Expand: NumPy broadcasting of the input and the shape (either may have the larger dims).
OpImpl make_expand(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the input");
    std::vector<int64_t> s = int_values(input(in, 1, who, "the shape"), who, "the shape");
    const size_t rank = std::max(s.size(), static_cast<size_t>(x.dim()));
    s.insert(s.begin(), rank - s.size(), 1);
    for (size_t k = 0; k < static_cast<size_t>(x.dim()); ++k) {
      int64_t& d = s[rank - x.dim() + k];
      const int64_t xd = x.shape()[k];
      AXON_CHECK(d == 1 || xd == 1 || d == xd, kImport, "{}: {} does not broadcast to {}", who, describe(x),
                 to_string(s));
      if (d == 1) d = xd;
    }
    return {expand(x, checked_shape(s, who))};
  }};
}

OpImpl make_range(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& start = input(in, 0, who, "start");
    auto value = [&](size_t k) { return cast(input(in, k, who, "start, limit and delta"), DType::f64).to(Device::cpu()).reshape({}).item<double>(); };
    const double s = value(0), l = value(1), d = value(2);
    AXON_CHECK(d != 0, kImport, "{}: delta is 0", who);
    AXON_CHECK(std::ceil((l - s) / d) <= static_cast<double>(kMaxElements), kImport, "{}: the range is too long", who);
    return {arange(s, l, d, start.dtype())};
  }};
}

// Dropout at inference (what export writes): the identity, the mask all true.
OpImpl make_dropout(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the input");
    return {x, ones(x.shape(), DType::boolean, x.device())};
  }};
}

OpImpl make_tile(const Attrs& a) {
  return {[who = a.who()](const Outs& in, OpRun&) -> Outs {
    Tensor x = input(in, 0, who, "the input");
    const std::vector<int64_t> reps = int_values(input(in, 1, who, "repeats"), who, "repeats");
    AXON_CHECK(static_cast<int64_t>(reps.size()) == x.dim(), kImport, "{}: {} repeats for {}", who, reps.size(),
               describe(x));
    for (int64_t ax = 0; ax < x.dim(); ++ax) {
      AXON_CHECK(reps[ax] >= 0 && reps[ax] <= kMaxElements / std::max<int64_t>(1, x.numel()), kImport,
                 "{}: repeats {} is out of range", who, reps[ax]);
      Shape grown = x.shape();
      grown[ax] *= reps[ax];
      checked_shape(grown, who);
      if (reps[ax] != 1) x = concat(std::vector<Tensor>(reps[ax], x), ax);
    }
    return {x};
  }};
}

// Trilu: the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes, zeros elsewhere.
OpImpl make_trilu(const Attrs& a) {
  const bool upper = a.i("upper", 1) != 0;
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const Tensor& x = input(in, 0, who, "the input");
    AXON_CHECK(x.dim() >= 2, kImport, "{}: the input must have rank >= 2, got {}", who, describe(x));
    const Tensor kt = optional_input(in, 1);
    const int64_t k = kt.defined() ? int_values(kt, who, "k").at(0) : 0;
    const int64_t rows = x.shape()[x.dim() - 2], cols = x.shape()[x.dim() - 1];
    const Tensor i = arange(0, static_cast<double>(rows), 1, DType::i64, x.device()).reshape({rows, 1});
    const Tensor j = arange(0, static_cast<double>(cols), 1, DType::i64, x.device()).reshape({1, cols});
    const Tensor offset = sub(j, i);
    const Tensor keep = upper ? ge(offset, static_cast<double>(k)) : le(offset, static_cast<double>(k));
    return {where(keep, x, 0.0)};
  }};
}

}  // namespace

void add_shape_ops(std::map<std::string, OpFactory>& ops) {
  ops["Flatten"] = make_flatten;
  ops["Reshape"] = make_reshape;
  ops["Transpose"] = make_transpose;
  ops["Concat"] = make_concat;
  ops["Split"] = make_split;
  ops["Squeeze"] = make_squeeze;
  ops["Unsqueeze"] = make_unsqueeze;
  ops["Slice"] = make_slice;
  ops["Gather"] = make_gather;
  ops["Shape"] = make_shape;
  ops["Size"] = make_size;
  ops["Constant"] = make_constant;
  ops["ConstantOfShape"] = make_constant_of_shape;
  ops["Expand"] = make_expand;
  ops["Range"] = make_range;
  ops["Dropout"] = make_dropout;
  ops["Tile"] = make_tile;
  ops["Trilu"] = make_trilu;
}

}  // namespace axon::onnx::detail
