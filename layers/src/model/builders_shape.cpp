// Shape builders and the multi-input combinators over <axon/layers/shape.hpp>.
#include "spec.hpp"

#include <algorithm>
#include <numeric>

#include <axon/ops.hpp>

namespace axon {

using detail::NodeBuild;

Model flatten(const Model& x, NameOptions o) {
  return detail::make_node("flatten", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() >= 2, b.who, "input shape {} must have rank >= 2", to_string(s));
    int64_t rest = 1;
    for (size_t d = 1; d < s.size(); ++d) rest = (rest < 0 || s[d] < 0) ? -1 : rest * s[d];
    b.node.shape = {s[0], rest};
    b.node.forward = [](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::flatten(in[0]);
    };
  });
}
Layer flatten(NameOptions o) {
  return detail::as_layer([=](const Model& x) { return flatten(x, o); });
}

Model reshape(const Model& x, const Shape& shape, NameOptions o) {
  return detail::make_node("reshape", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("shape", shape).str();
    const Shape& s = b.in[0];
    AXON_CHECK(!s.empty(), b.who, "input shape {} needs a batch axis", to_string(s));
    int64_t rest = 1, known = 1, unknown = 0;
    for (size_t d = 1; d < s.size(); ++d) rest = (rest < 0 || s[d] < 0) ? -1 : rest * s[d];
    for (int64_t v : shape) {
      AXON_CHECK(v == -1 || v > 0, b.who, "target shape {} may hold positive dims and one -1", to_string(shape));
      if (v == -1)
        ++unknown;
      else
        known *= v;
    }
    AXON_CHECK(unknown <= 1, b.who, "target shape {} may hold one -1", to_string(shape));
    Shape out{s[0]};
    out.insert(out.end(), shape.begin(), shape.end());
    if (rest >= 0) {
      AXON_CHECK(unknown ? rest % known == 0 : rest == known, b.who,
                 "cannot reshape input shape {} ({} elements per sample) to [batch] + {}", to_string(s), rest,
                 to_string(shape));
      for (size_t d = 1; d < out.size(); ++d)
        if (out[d] == -1) out[d] = rest / known;
    }
    b.node.shape = out;
    b.node.options = {{"shape", detail::show_shape(out)}};
    b.node.forward = [shape](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::reshape(in[0], shape);
    };
  });
}
Layer reshape(const Shape& shape, NameOptions o) {
  return detail::as_layer([=](const Model& x) { return reshape(x, shape, o); });
}

Model transpose(const Model& x, const std::vector<int64_t>& permutation, NameOptions o) {
  return detail::make_node("transpose", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("permutation", permutation).str();
    const Shape& s = b.in[0];
    std::vector<int64_t> perm = permutation;
    if (perm.empty())
      for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) perm.push_back(d);
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> iota(s.size());
    std::iota(iota.begin(), iota.end(), 0);
    AXON_CHECK(sorted == iota, b.who, "permutation {} must permute the {} axes of input shape {}",
               detail::show_list(perm), s.size(), to_string(s));
    for (int64_t a : perm) b.node.shape.push_back(s[a]);
    b.node.options = {{"permutation", detail::show_list(perm)}};
    b.node.forward = [perm](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::transpose(in[0], perm);
    };
  });
}
Layer transpose(const std::vector<int64_t>& permutation, NameOptions o) {
  return detail::as_layer([=](const Model& x) { return transpose(x, permutation, o); });
}

Model pad(const Model& x, const std::vector<std::pair<int64_t, int64_t>>& padding, PadOptions o) {
  return detail::make_node("pad", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("padding", padding).options(o).str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() >= 2 && padding.size() == s.size() - 2, b.who,
               "{} (lo, hi) pairs given for the spatial dims of input shape {} (rank - 2 needed)", padding.size(),
               to_string(s));
    const size_t first = o.channels == Channels::last ? 1 : 2;
    b.node.shape = s;
    for (size_t d = 0; d < padding.size(); ++d) {
      int64_t& v = b.node.shape[first + d];
      if (v < 0) continue;
      v += padding[d].first + padding[d].second;
      AXON_CHECK(v >= 0, b.who, "padding {} crops spatial dim {} of input shape {} below 0",
                 detail::show_padding(Padding(padding)), d, to_string(s));
    }
    b.node.options = {{"padding_config", detail::show_padding(Padding(padding))},
                      {"value", detail::show_number(o.value)},
                      {"channels", detail::show_channels(o.channels)}};
    b.node.forward = [padding, o](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::pad(in[0], padding, o.value, o.channels);
    };
  });
}
Layer pad(const std::vector<std::pair<int64_t, int64_t>>& padding, PadOptions o) {
  return detail::as_layer([=](const Model& x) { return pad(x, padding, o); });
}

Model resize(const Model& x, std::pair<int64_t, int64_t> size, ResizeLayerOptions o) {
  return detail::make_node("resize", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("size", size).options(o).str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() == 4, b.who, "input shape {} must have rank 4", to_string(s));
    AXON_CHECK(size.first > 0 && size.second > 0, b.who, "size {{{}, {}}} must be positive", size.first,
               size.second);
    const size_t first = o.channels == Channels::last ? 1 : 2;
    b.node.shape = s;
    b.node.shape[first] = size.first;
    b.node.shape[first + 1] = size.second;
    b.node.options = {{"size", fmt::format("[{}, {}]", size.first, size.second)},
                      {"method", detail::enum_name(o.method)},
                      {"antialias", o.antialias ? "true" : "false"},
                      {"channels", detail::show_channels(o.channels)}};
    layers::ResizeOptions ro{{size.first, size.second}, o.method, o.antialias, o.channels};
    b.node.forward = [ro](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::resize(in[0], ro);
    };
  });
}
Layer resize(std::pair<int64_t, int64_t> size, ResizeLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return resize(x, size, o); });
}

Model concatenate(const std::vector<Model>& xs, ConcatenateOptions o) {
  AXON_CHECK(!xs.empty(), "concatenate", "needs at least one input");
  return detail::make_node("concatenate", xs, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().options(o).str();
    const Shape& s0 = b.in[0];
    AXON_CHECK(!s0.empty(), b.who, "inputs must have rank >= 1");
    const int64_t axis = normalize_axis(o.axis, static_cast<int64_t>(s0.size()), b.who.c_str());
    Shape out = s0;
    for (size_t i = 1; i < b.in.size(); ++i) {
      const Shape& s = b.in[i];
      bool ok = s.size() == s0.size();
      for (size_t d = 0; ok && d < s.size(); ++d)
        ok = static_cast<int64_t>(d) == axis || s[d] == out[d] || s[d] == -1 || out[d] == -1;
      AXON_CHECK(ok, b.who, "input shapes {} and {} must agree on every axis but {}", to_string(s0), to_string(s),
                 axis);
      for (size_t d = 0; d < s.size(); ++d)
        if (static_cast<int64_t>(d) == axis)
          out[d] = (out[d] < 0 || s[d] < 0) ? -1 : out[d] + s[d];
        else if (out[d] == -1)
          out[d] = s[d];
    }
    b.node.shape = out;
    b.node.options = {{"axis", std::to_string(o.axis)}};
    b.node.forward = [axis = o.axis](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return layers::concatenate(in, axis);
    };
  });
}
Model concatenate(const Model& x, const Model& y, ConcatenateOptions o) { return concatenate({x, y}, o); }
Layer concatenate(const Model& other, ConcatenateOptions o) {
  return detail::as_layer([=](const Model& x) { return concatenate({x, other}, o); });
}

namespace {

using CombineFn = Tensor (*)(const std::vector<Tensor>&);

Model combine(const char* op, CombineFn fn, const std::vector<Model>& xs, const NameOptions& o) {
  AXON_CHECK(!xs.empty(), op, "needs at least one input");
  return detail::make_node(op, xs, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter().str();
    Shape out = b.in[0];
    for (size_t i = 1; i < b.in.size(); ++i) out = detail::broadcast_known(b, out, b.in[i]);
    b.node.shape = out;
    b.node.forward = [fn](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) { return fn(in); };
  });
}

}  // namespace

#define AXON_COMBINATOR_BUILDER(fn)                                                                    \
  Model fn(const std::vector<Model>& xs, NameOptions o) { return combine(#fn, layers::fn, xs, o); }     \
  Model fn(const Model& x, const Model& y, NameOptions o) { return combine(#fn, layers::fn, {x, y}, o); } \
  Layer fn(const Model& other, NameOptions o) {                                                        \
    return detail::as_layer([=](const Model& x) { return combine(#fn, layers::fn, {x, other}, o); });   \
  }
AXON_COMBINATOR_BUILDER(add)
AXON_COMBINATOR_BUILDER(subtract)
AXON_COMBINATOR_BUILDER(multiply)
#undef AXON_COMBINATOR_BUILDER

std::vector<Model> split(const Model& x, int64_t parts, SplitOptions o) {
  AXON_CHECK(parts >= 1, "split", "parts must be positive, got {}", parts);
  AXON_CHECK(o.names.empty() || static_cast<int64_t>(o.names.size()) == parts, "split",
             "{} names given for {} parts", o.names.size(), parts);
  std::vector<Model> out;
  for (int64_t i = 0; i < parts; ++i) {
    out.push_back(detail::make_node("split", {x}, o.names.empty() ? "" : o.names[i], [&](NodeBuild& b) {
      b.node.spec = detail::SpecWriter()("parts", parts)("axis", o.axis)("index", i).str();
      const Shape& s = b.in[0];
      AXON_CHECK(!s.empty(), b.who, "the input must have rank >= 1");
      const int64_t axis = normalize_axis(o.axis, static_cast<int64_t>(s.size()), b.who.c_str());
      AXON_CHECK(s[axis] > 0 && s[axis] % parts == 0, b.who, "axis {} of input shape {} does not split into {} equal parts",
                 axis, to_string(s), parts);
      const int64_t len = s[axis] / parts;
      b.node.shape = s;
      b.node.shape[axis] = len;
      b.node.options = {{"index", std::to_string(i)}, {"splits", std::to_string(parts)}, {"axis", std::to_string(o.axis)}};
      b.node.forward = [axis, len, i](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
        return in[0].narrow(axis, i * len, len);
      };
    }));
  }
  return out;
}

}  // namespace axon
