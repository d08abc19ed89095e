// Gradients through apply() and user-defined layers.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_grad;
using axon::test::random_tensor;

namespace {

Model tiny() {
  return input("x", {-1, 3}) | dense(4, {.activation = "tanh"}) | batch_norm() | dense(2);
}

}  // namespace

TEST_CASE("apply is differentiable: harness check against finite differences", "[model]") {
  Model m = tiny();
  Params p = init(m, {.dtype = DType::f64, .seed = 4});
  Tensor x = random_tensor({5, 3}, DType::f64, -1, 1, 7);
  // Inputs: x, then the trainable tensors in a fixed order; the state comes from p. Train mode
  // exercises the batch statistics path.
  auto f = [m, p](const std::vector<Tensor>& in) {
    Params q = p;
    q["dense_0"]["kernel"] = in[1];
    q["dense_0"]["bias"] = in[2];
    q["batch_norm_0"]["gamma"] = in[3];
    q["batch_norm_0"]["beta"] = in[4];
    q["dense_1"]["kernel"] = in[5];
    for (auto& [layer, entries] : q)
      for (auto& [name, t] : entries) t = t.to(in[0].device()).to(in[0].dtype());
    return apply(m, q, in[0], {.mode = Mode::train}).output;
  };
  check_grad(f, {x, p["dense_0"]["kernel"], p["dense_0"]["bias"], p["batch_norm_0"]["gamma"],
                 p["batch_norm_0"]["beta"], p["dense_1"]["kernel"]});
}

TEST_CASE("value_and_grad over trainable_params matches central differences", "[model]") {
  Model m = tiny();
  Params all = init(m, {.dtype = DType::f64, .seed = 5});
  Params state = state_params(m, all), trainable = trainable_params(m, all);
  CHECK(trainable.at("batch_norm_0").count("mean") == 0);
  Tensor x = random_tensor({6, 3}, DType::f64, -1, 1, 8);
  Tensor y = random_tensor({6, 2}, DType::f64, -1, 1, 9);
  Params new_state;
  auto loss = [&](const Params& tp) {
    auto r = apply(m, merge_params(tp, state), x, {.mode = Mode::train});
    new_state = r.state;
    Tensor d = r.output - y;
    return (d * d).mean();
  };
  auto [value, grads] = value_and_grad(loss, trainable);
  CHECK(new_state.at("batch_norm_0").size() == 2);
  REQUIRE(grads.size() == trainable.size());
  const double h = 1e-6;
  // Plain references rather than structured bindings: the lambda below captures them (clang 14
  // cannot capture a structured binding).
  for (const auto& layer_entries : trainable)
    for (const auto& entry : layer_entries.second) {
      const std::string& layer = layer_entries.first;
      const std::string& name = entry.first;
      const Tensor& t = entry.second;
      INFO(layer << "." << name);
      const Tensor& g = grads.at(layer).at(name);
      REQUIRE(g.shape() == t.shape());
      auto gv = g.to_vector<double>();
      auto base = t.to_vector<double>();
      std::vector<double> fd(base.size());
      for (size_t i = 0; i < base.size(); ++i) {
        auto eval = [&](double delta) {
          auto v = base;
          v[i] += delta;
          Params q = trainable;
          q[layer][name] = from_vector(v, t.shape());
          NoGrad ng;
          return loss(q).item<double>();
        };
        fd[i] = (eval(h) - eval(-h)) / (2 * h);
      }
      check_close(g, fd, t.shape(), {1e-5, 1e-7});
    }
  // The loss value is the forward's.
  NoGrad ng;
  CHECK(std::abs(value.item<double>() - loss(trainable).item<double>()) < 1e-14);
}

TEST_CASE("custom layer: parameters, state, train mode and gradients", "[model]") {
  // y = x * scale + offset, with a running count of train-mode calls as state.
  ForwardFn fwd = [](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
    if (ctx.mode == Mode::train) ctx.state["calls"] = p.at("calls") + 1.0;
    return in[0] * p.at("scale") + p.at("offset");
  };
  Model m = input("x", {-1, 4}) |
            layer(fwd, {.params = {{.name = "scale",
                                    .shape_fn = [](const std::vector<Shape>& s) { return Shape{s[0].back()}; },
                                    .initializer = "ones"},
                                   {.name = "offset", .shape = {1}, .initializer = "zeros"},
                                   {.name = "calls", .shape = {1}, .initializer = "zeros", .state = true}},
                        .op_name = "affine",
                        .name = "aff"});
  CHECK(m.name() == "aff");
  CHECK(m.op_name() == "affine");
  CHECK(m.output_shape() == Shape{-1, 4});  // found by running the layer on zeros
  Params p = init(m, {.dtype = DType::f64});
  CHECK(p["aff"]["scale"].shape() == Shape{4});
  CHECK(is_state(m, "aff", "calls"));
  Tensor x = random_tensor({3, 4}, DType::f64, -1, 1, 2);
  check_close(predict(m, p, x), x, {0, 0});
  auto r = apply(m, p, x, {.mode = Mode::train});
  check_close(r.state.at("aff").at("calls"), {1.0}, {1}, {0, 0});
  CHECK(summary(m).find("| aff (affine) |") != std::string::npos);
  check_grad(
      [m, p](const std::vector<Tensor>& in) {
        Params q = p;
        q["aff"]["scale"] = in[1];
        q["aff"]["offset"] = in[2];
        for (auto& [name, t] : q["aff"]) t = t.to(in[0].device()).to(in[0].dtype());
        return apply(m, q, in[0]).output;
      },
      {x, random_tensor({4}, DType::f64, -1, 1, 3), random_tensor({1}, DType::f64, -1, 1, 4)});
  // An explicit output shape, several inputs.
  Model two = layer(
      {input("a", {-1, 2}), input("b", {-1, 2})},
      [](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) { return concat({in[0], in[1]}, 0); },
      {.output_shape = [](const std::vector<Shape>&) { return Shape{-1, 2}; }});
  CHECK(two.output_shape() == Shape{-1, 2});
  CHECK(predict(two, {}, {{"a", zeros({1, 2})}, {"b", ones({3, 2})}}).shape() == Shape{4, 2});
}
