// Mismatched gradients, updates and optimizer state are errors naming the parameter, never a
// broadcast that silently changes a parameter's shape (issue 16, item 4).
#include <axon/optim.hpp>

#include "harness.hpp"

using namespace axon;
using namespace axon::optim;

namespace {

Params dense_params() {
  Params p;
  p["dense_0"]["kernel"] = ones({4});
  p["dense_0"]["bias"] = zeros({2});
  return p;
}

// The parameters' gradients with dense_0/kernel replaced by a [2, 4] tensor, which broadcasts
// against the [4] parameter.
Params broadcastable_grads() {
  Params g = dense_params();
  g["dense_0"]["kernel"] = full({2, 4}, 0.5);
  return g;
}

}  // namespace

TEST_CASE("optimizer.update rejects a gradient of another shape, naming the parameter", "[optim][errors]") {
  const Params p = dense_params();
  const Params g = broadcastable_grads();
  struct Named {
    const char* name;
    GradientTransformation tx;
  };
  const std::vector<Named> optimizers = {
      {"sgd", sgd(0.1)},
      {"sgd momentum (fused)", sgd(0.1, {.momentum = 0.9})},
      {"sgd momentum (composite)", sgd(0.1, {.momentum = 0.9, .fused = Fused::never})},
      {"adam (fused)", adam(1e-3)},
      {"adam (composite)", adam(1e-3, {.fused = Fused::never})},
      {"adamw (fused)", adamw(1e-3)},
      {"rmsprop", rmsprop(1e-3)},
      {"lamb", lamb(1e-3)},
  };
  for (const auto& [name, tx] : optimizers) {
    INFO(name);
    State s = tx.init(p);
    AXON_REQUIRE_THROWS_WITH(tx.update(g, s, p), "optimizer.update: parameter \"dense_0/kernel\"");
    AXON_REQUIRE_THROWS_WITH(tx.update(g, s, p), "f32[2, 4]");
    AXON_REQUIRE_THROWS_WITH(tx.update(g, s, p), "f32[4]");
  }
}

TEST_CASE("without parameters, the optimizer state's shape is checked against the gradient", "[optim][errors]") {
  const Params p = dense_params();
  const Params g = broadcastable_grads();
  auto tx = adam(1e-3, {.fused = Fused::never});
  State s = tx.init(p);
  AXON_REQUIRE_THROWS_WITH(tx.update(g, s, Params{}), "scale_by_adam: parameter \"dense_0/kernel\"");
  auto mom = sgd(0.1, {.momentum = 0.9});
  AXON_REQUIRE_THROWS_WITH(mom.update(g, mom.init(p), Params{}), "trace: parameter \"dense_0/kernel\"");
}

TEST_CASE("apply_updates never broadcasts a parameter to a new shape", "[optim][errors]") {
  const Params p = dense_params();
  const Params u = broadcastable_grads();
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, u), "apply_updates: parameter \"dense_0/kernel\"");
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, u), "the parameters hold f32[4]");
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, u), "the updates hold f32[2, 4]");
  // A 0-d update (also broadcastable) is rejected the same way.
  Params scalar = dense_params();
  scalar["dense_0"]["bias"] = zeros({});
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, scalar), "parameter \"dense_0/bias\"");
  Params undefined = dense_params();
  undefined["dense_0"]["bias"] = Tensor();
  AXON_REQUIRE_THROWS_WITH(apply_updates(p, undefined), "parameter \"dense_0/bias\" is undefined in the updates");
}

TEST_CASE("matching gradients still update, with their dtypes cast as before", "[optim]") {
  Params p = dense_params();
  p["dense_0"]["kernel"] = ones({4}, DType::bf16);
  Params g = p;
  g["dense_0"]["kernel"] = full({4}, 1.0, DType::bf16);
  g["dense_0"]["bias"] = full({2}, 1.0);
  p["relu_0"] = {};  // a layer without parameters keeps its place
  g["relu_0"] = {};
  auto tx = adam(0.5);
  auto [u, s] = tx.update(g, tx.init(p), p);
  CHECK(u.at("dense_0").at("kernel").dtype() == DType::f32);  // moments and updates in f32
  Params np = apply_updates(p, u);
  CHECK(np.count("relu_0") == 1);
  CHECK(np.at("dense_0").at("kernel").dtype() == DType::bf16);
  CHECK(np.at("dense_0").at("kernel").shape() == Shape{4});
  // Adam's first step moves each entry by lr against the gradient's sign.
  test::check_close(np.at("dense_0").at("kernel"), {0.5, 0.5, 0.5, 0.5}, {4}, {1e-2, 1e-2});
  test::check_close(np.at("dense_0").at("bias"), {-0.5, -0.5}, {2}, {1e-5, 1e-5});
}
