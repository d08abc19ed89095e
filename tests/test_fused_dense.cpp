// fused_dense (GEMM, then bias + activation in one pass; the backward's act' and bias gradient in one
// pass) against float64 loops, the unfused ops, finite differences and the CPU on CUDA; and the model
// graph's dense + activation pair run as one fused op by apply().
#include <cmath>

#include "fused_act_reference.hpp"
#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;
using namespace axon::test::fused_act;

namespace {
Tensor unfused(const Tensor& x, const Tensor& w, const Tensor& b, FusedActivation a) {
  Tensor z = matmul(x, w);
  return activate(a, b.defined() ? add(z, b) : z);
}
}  // namespace

TEST_CASE("fused_dense forward against float64 loops: activations, bias, rank 3, strided input", "[fused_dense]") {
  for (DType dt : {DType::f32, DType::f64}) {
    for (FusedActivation a : kActs) {
      for (int layout = 0; layout < 2; ++layout) {
        for (bool bias : {true, false}) {
          Tensor x = layout == 0 ? random_tensor({2, 3, 7}, dt, -2, 2, 1)
                                 : random_tensor({2, 7, 3}, dt, -2, 2, 1).transpose(1, 2);
          Tensor w = random_tensor({7, 5}, dt, -1, 1, 2);
          Tensor b = bias ? random_tensor({5}, dt, -1, 1, 3) : Tensor();
          auto xv = contiguous(x).to_vector<double>(), wv = w.to_vector<double>();
          std::vector<double> bv = bias ? b.to_vector<double>() : std::vector<double>(5, 0.0);
          std::vector<double> ref(6 * 5);
          for (int r = 0; r < 6; ++r)
            for (int o = 0; o < 5; ++o) {
              double s = bv[o];
              for (int i = 0; i < 7; ++i) s += xv[r * 7 + i] * wv[i * 5 + o];
              ref[r * 5 + o] = act_ref(a, s);
            }
          INFO(dtype_name(dt) << " " << act_name(a) << " layout " << layout << " bias " << bias);
          check_close(fused_dense(x, w, b, a), ref, {2, 3, 5}, tol_for(dt));
          check_cuda_matches_cpu(
              [a](const std::vector<Tensor>& in) { return fused_dense(in[0], in[1], in[2], a); }, {x, w, b},
              tol_for(dt));
        }
      }
    }
  }
}

TEST_CASE("fused_dense matches matmul + add + activation, values and gradients", "[fused_dense]") {
  // Sizes past the CPU epilogue's parallel split (2^15 elements): 300 x 130 outputs.
  Tensor x = random_tensor({300, 40}, DType::f32, -1, 1, 21), w = random_tensor({40, 130}, DType::f32, -1, 1, 22);
  Tensor b = random_tensor({130}, DType::f32, -1, 1, 23), t = random_tensor({300, 130}, DType::f32, -1, 1, 24);
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    check_close(fused_dense(x, w, b, a), unfused(x, w, b, a), {1e-6, 1e-6});
    auto loss = [&](bool fused) {
      return [&, fused](const std::vector<Tensor>& p) {
        Tensor y = fused ? fused_dense(p[0], p[1], p[2], a) : unfused(p[0], p[1], p[2], a);
        return sum(mul(y, t));
      };
    };
    auto [v1, g1] = axon::value_and_grad(loss(true), std::vector<Tensor>{x, w, b});
    auto [v2, g2] = axon::value_and_grad(loss(false), std::vector<Tensor>{x, w, b});
    check_close(v1, v2, {1e-5, 1e-4});
    for (size_t i = 0; i < 3; ++i) check_close(g1[i], g2[i], {1e-5, 1e-5});
  }
}

TEST_CASE("fused_dense gradients against finite differences, and grad of grad", "[fused_dense][grad]") {
  Tensor x = random_tensor({2, 3, 4}, DType::f64, -1, 1, 31), w = random_tensor({4, 5}, DType::f64, -1, 1, 32);
  Tensor b = random_tensor({5}, DType::f64, -1, 1, 33);
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    check_grad([a](const std::vector<Tensor>& in) { return fused_dense(in[0], in[1], in[2], a); }, {x, w, b});
    check_grad([a](const std::vector<Tensor>& in) { return fused_dense(in[0], in[1], Tensor(), a); }, {x, w});
    // The gradient itself differentiated (the backward's composite formulas): d/dx of sum(dL/dw * c).
    Tensor c = random_tensor({4, 5}, DType::f64, -1, 1, 34);
    auto inner = [&](bool fused) {
      return [&, fused](const std::vector<Tensor>& p) {
        Tensor gw = axon::grad(
            [&](const Tensor& wv) {
              Tensor y = fused ? fused_dense(p[0], wv, b, a) : unfused(p[0], wv, b, a);
              return sum(mul(y, y));
            },
            w);
        return sum(mul(gw, c));
      };
    };
    auto g1 = axon::grad(inner(true), std::vector<Tensor>{x});
    auto g2 = axon::grad(inner(false), std::vector<Tensor>{x});
    check_close(g1[0], g2[0], {1e-10, 1e-10});
  }
}

TEST_CASE("fused_dense: 16-bit dtypes through the composite ops, empty batches, bad input", "[fused_dense]") {
  Tensor x = random_tensor({3, 4}, DType::bf16, -1, 1, 41), w = random_tensor({4, 2}, DType::bf16, -1, 1, 42);
  Tensor b = random_tensor({2}, DType::bf16, -1, 1, 43);
  check_close(fused_dense(x, w, b, FusedActivation::relu), unfused(x, w, b, FusedActivation::relu), {0, 0});
  CHECK(fused_dense(zeros({0, 4}), zeros({4, 5}), ones({5}), FusedActivation::relu).shape() == Shape{0, 5});
  check_close(fused_dense(zeros({2, 0}), zeros({0, 3}), full({3}, -1.0), FusedActivation::relu),
              std::vector<double>(6, 0.0), {2, 3}, {0, 0});
  check_close(fused_dense(zeros({2, 0}), zeros({0, 3}), full({3}, -1.0)), std::vector<double>(6, -1.0), {2, 3},
              {0, 0});

  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}), zeros({5, 2}), Tensor()), "has 4 features but the kernel");
  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}), zeros({4}), Tensor()), "kernel must have shape [in, out]");
  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}), zeros({4, 2}), zeros({3})), "bias must have shape [2]");
  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}), zeros({4, 2}, DType::f64), Tensor()), "same floating dtype");
  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}), zeros({4, 2}), zeros({2}, DType::f64)), "bias must have");
  AXON_REQUIRE_THROWS_WITH(fused_dense(Tensor(), zeros({4, 2}), Tensor()), "fused_dense");
  AXON_REQUIRE_THROWS_WITH(fused_dense(zeros({3, 4}, DType::i32), zeros({4, 2}, DType::i32), Tensor()),
                           "same floating dtype");
}

TEST_CASE("fused_dense_out writes fused_dense's values into the caller's tensor", "[fused_dense]") {
  Tensor x = random_tensor({5, 2, 6}, DType::f32, -2, 2, 61), w = random_tensor({6, 3}, DType::f32, -1, 1, 62);
  Tensor b = random_tensor({3}, DType::f32, -1, 1, 63);
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    Tensor out = full({5, 2, 3}, 7.0);
    Tensor r = fused_dense_out(out, x, w, b, a);
    CHECK(r.data_ptr() == out.data_ptr());
    check_close(out, fused_dense(x, w, b, a), {0, 0});
    Tensor strided = full({3, 10}, 7.0).transpose(0, 1).slice(0, 0, 10);  // not contiguous: computed, copied in
    check_close(fused_dense_out(strided, x.reshape({10, 6}), w, Tensor(), a), fused_dense(x.reshape({10, 6}), w, Tensor(), a),
                {0, 0});
  }
  AXON_REQUIRE_THROWS_WITH(fused_dense_out(zeros({5, 2, 4}), x, w, b), "fused_dense_out");
  AXON_REQUIRE_THROWS_WITH(fused_dense_out(zeros({5, 2, 3}, DType::f64), x, w, b), "dtype");
  AXON_REQUIRE_THROWS_WITH(axon::grad([&](const Params& q) {
                             fused_dense_out(zeros({5, 2, 3}), x, q.at("l").at("w"), b);
                             return sum(q.at("l").at("w"));
                           },
                           Params{{"l", {{"w", w}}}}),
                           "autograd tape records");
}

TEST_CASE("a model's dense + relu/tanh/sigmoid pair runs fused with the unfused results", "[fused_dense][model]") {
  for (const char* act : {"relu", "tanh", "sigmoid", "softplus"}) {
    INFO(act);
    Model m = input("x", {-1, 6}) | dense(8, {.activation = act}) | dense(3, {.activation = act});
    Params p = init(m, {.seed = 7});
    Tensor x = random_tensor({5, 6}, DType::f32, -2, 2, 51);
    auto composite = [&](const Params& q) {
      Tensor h = activations::activate(act, add(matmul(x, q.at("dense_0").at("kernel")), q.at("dense_0").at("bias")));
      return activations::activate(act, add(matmul(h, q.at("dense_1").at("kernel")), q.at("dense_1").at("bias")));
    };
    check_close(predict(m, p, x), composite(p), {1e-6, 1e-6});
    auto g1 = axon::grad([&](const Params& q) { return sum(apply(m, q, x).output); }, p);
    auto g2 = axon::grad([&](const Params& q) { return sum(composite(q)); }, p);
    for (const auto& [layer, ps] : g2)
      for (const auto& [name, g] : ps) check_close(g1.at(layer).at(name), g, {1e-5, 1e-5});
  }
}

TEST_CASE("fused_dense on CUDA matches the CPU, values and gradients", "[fused_dense][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  Tensor x = random_tensor({300, 40}, DType::f32, -1, 1, 61), w = random_tensor({40, 130}, DType::f32, -1, 1, 62);
  Tensor b = random_tensor({130}, DType::f32, -1, 1, 63), t = random_tensor({300, 130}, DType::f32, -1, 1, 64);
  for (FusedActivation a : kActs) {
    INFO(act_name(a));
    auto loss = [&](const Tensor& tt) {
      return [&, tt](const std::vector<Tensor>& p) { return sum(mul(fused_dense(p[0], p[1], p[2], a), tt)); };
    };
    check_close(fused_dense(x.to(gpu), w.to(gpu), b.to(gpu), a).to(Device::cpu()), fused_dense(x, w, b, a),
                {1e-5, 1e-5});
    auto gc = axon::grad(loss(t), std::vector<Tensor>{x, w, b});
    auto gg = axon::grad(loss(t.to(gpu)), std::vector<Tensor>{x.to(gpu), w.to(gpu), b.to(gpu)});
    for (size_t i = 0; i < 3; ++i) check_close(gg[i].to(Device::cpu()), gc[i], {1e-4, 1e-4});
  }
}

TEST_CASE("apply fuses only the builders' own dense and activation forwards", "[fused_dense][model]") {
  Model m = input("x", {-1, 6}) | dense(8, {.activation = "relu"});
  Params p = init(m, {.seed = 9});
  Tensor x = random_tensor({5, 6}, DType::f32, -2, 2, 71);
  const Tensor& w = p.at("dense_0").at("kernel");
  const Tensor& b = p.at("dense_0").at("bias");
  auto with_relu_forward = [&](ForwardFn f) {
    return map_nodes(m, [f](NodeView v) {
      if (v.op == "relu") v.forward = f;
      return v;
    });
  };
  // A relu node given another forward (here the identity) runs that forward: no fusion past it.
  Model identity = with_relu_forward([](const std::vector<Tensor>& xs, const ParamMap&, ForwardContext&) { return xs[0]; });
  check_close(predict(identity, p, x), add(matmul(x, w), b), {1e-6, 1e-6});
  // The fused pair makes one output tensor where the unfused pair makes two (apply: predict's plans
  // keep their intermediate buffers, so there both make one).
  Model unfusable = with_relu_forward([](const std::vector<Tensor>& xs, const ParamMap&, ForwardContext&) { return relu(xs[0]); });
  auto allocations = [&](const Model& model) {
    const size_t a0 = memory_stats(Device::cpu()).allocations;
    Tensor y = apply(model, p, x).output;
    return memory_stats(Device::cpu()).allocations - a0;
  };
  check_close(predict(unfusable, p, x), predict(m, p, x), {0, 0});
  CHECK(allocations(m) + 1 == allocations(unfusable));
}
