// Checkpoints (loop states in safetensors) from hostile bytes: loading fails with axon::Error or
// gives a state that serializes back to a file that loads to the same bytes, and resuming a small
// least-squares training loop from it either trains one more epoch or fails with axon::Error.
#include <axon/axon.hpp>
#include <axon/optim.hpp>
#include <axon/train/checkpoint.hpp>

#include "fuzz_common.hpp"

using namespace axon;
using namespace axon::training;

namespace {

// A parameter of the loaded state: a checkpoint from elsewhere may lack it, which is an axon::Error
// here as in any step that checks its inputs (not the std::out_of_range of Params::at).
const Tensor& param(const Params& p, const std::string& name) {
  auto layer = p.find("lin");
  AXON_CHECK(layer != p.end() && layer->second.count(name), "fuzz_checkpoint", "the state has no parameter lin/{}", name);
  return layer->second.at(name);
}

// y = x w + b on 6 rows in batches of 4, minimised by SGD with momentum.
Dataset least_squares_data() {
  Tensor x = arange(0, 12, 1, DType::f64).reshape({6, 2});
  Tensor y = add(matmul(x, from_vector(std::vector<double>{0.5, -1.0}, {2, 1})), 0.25);
  return tensor_dataset(x, y, {.batch_size = 4});
}

Loop least_squares_loop() {
  optim::GradientTransformation opt = optim::sgd(0.01, {.momentum = 0.9});
  StepInit init = [opt](const Batch& b, const StepState& given) {
    StepState s = given;
    s.set_params("params", Params{{"lin", {{"w", zeros({2, 1}, DType::f64)}, {"b", zeros({1}, DType::f64)}}}});
    s.set_sub("optimizer_state", opt.init(s.params("params")));
    return s;
  };
  StepFn step = [opt](const Batch& b, const StepState& s) {
    Params p = s.params("params");
    auto [loss, g] = value_and_grad(
        [&](const Params& q) { return mean(square(sub(add(matmul(b.x, param(q, "w")), param(q, "b")), b.y))); }, p);
    auto [u, os] = opt.update(g, s.sub("optimizer_state"), p);
    StepState n = s;
    n.set_params("params", optim::apply_updates(p, u));
    n.set_sub("optimizer_state", os);
    n["batch_loss"] = loss;
    return n;
  };
  Loop loop(Step{init, step});
  metric(loop, "loss", [](const StepState& s) { return s.at("batch_loss"); });
  return loop;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    LoopState one = least_squares_loop().run(least_squares_data(), {}, {.epochs = 1});
    fuzz::write_file(dir + "/after_one_epoch.safetensors", serialize_state(resume_point(one)));
    Loop again = least_squares_loop();
    again.from_state(resume_point(one));
    LoopState two = again.run(least_squares_data(), {}, {.epochs = 1});
    fuzz::write_file(dir + "/after_two_epochs.safetensors", serialize_state(resume_point(two)));
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  LoopState state;
  try {
    state = deserialize_state(bytes);
  } catch (const Error&) {
    return 0;
  }
  std::string saved = serialize_state(state, {});
  if (serialize_state(deserialize_state(saved), {}) != saved) fuzz::invariant_failed("a loaded checkpoint does not round-trip");
  try {
    Loop loop = least_squares_loop();
    loop.from_state(state);
    loop.run(least_squares_data(), {}, {.epochs = 1});
  } catch (const Error&) {
  }
  return 0;
}
