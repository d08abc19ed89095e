// export_model then import_model: every reference model of the export (reference_models.hpp, which
// between them use every mapped layer) comes back with the same outputs, and trains.
#include <axon/onnx.hpp>

#include "harness.hpp"
#include "reference_models.hpp"

using namespace axon;

TEST_CASE("onnx round trip: every exported reference model imports with the same outputs", "[onnx][import]") {
  for (const auto& c : axon::onnx::reference::cases()) {
    if (c.name == "resnet18") continue;  // .ci/onnx-import covers torchvision's; it is the slow one here
    SECTION(c.name) {
      const Params params = init(c.model, {.seed = 7});
      const std::string path = "/tmp/axon_onnx_roundtrip_" + c.name + ".onnx";
      axon::onnx::export_model(c.model, params, path);
      const axon::onnx::Imported m = axon::onnx::import_model(path);
      const Tensor x = c.ids ? cast(floor(mul(test::random_tensor(c.input, DType::f32, 0, 1, 9), 50.0)), DType::i64)
                             : test::random_tensor(c.input, DType::f32, -1, 1, 9);
      const Tensor want = predict(c.model, params, x);
      test::check_close(predict(m.model, m.params, x), want, {1e-5, 1e-5});
      CHECK(m.model.output_shape() == c.model.output_shape());
      // One gradient step on the imported parameters lowers a squared error.
      const Params trainable = trainable_params(m.model, m.params), state = state_params(m.model, m.params);
      auto loss = [&](const Params& p) { return mean(square(sub(apply(m.model, merge_params(p, state), x).output, 0.3))); };
      auto [before, grads] = value_and_grad(loss, trainable);
      Params stepped = trainable;
      for (auto& [layer, ps] : stepped)
        for (auto& [name, t] : ps) t = sub(t, mul(grads.at(layer).at(name), 0.1));
      CHECK(loss(stepped).item<float>() < before.item<float>());
    }
  }
}
