// The C ABI's training (axon_c.h): a named optimizer and loss bound to a model, one step per batch.
#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "c_api_internal.hpp"

using namespace axon;
using namespace axon::c_api;

extern "C" {

axon_status axon_optimizer_create(axon_model model, const char* optimizer, double learning_rate, const char* loss,
                                  int loss_flags, axon_optimizer* out) {
  const char* op = "axon_optimizer_create";
  return guarded([&] {
    require(model, op, "model");
    require(optimizer, op, "optimizer");
    require(loss, op, "loss");
    require(out, op, "out");
    if (loss_flags & ~(AXON_LOSS_FROM_LOGITS | AXON_LOSS_SPARSE))
      throw InvalidArgument(fmt::format("{}: unknown loss flags {:#x}", op, loss_flags));
    training::Loss l(loss, {.from_logits = (loss_flags & AXON_LOSS_FROM_LOGITS) != 0,
                            .sparse = (loss_flags & AXON_LOSS_SPARSE) != 0});
    training::Step step = training::train_step(model->model, l, training::optimizer_by_name(optimizer, learning_rate));
    *out = new axon_optimizer_t{model, std::move(step), {}, false};
  });
}

axon_status axon_optimizer_destroy(axon_optimizer opt) {
  return guarded([&] { delete opt; });
}

axon_status axon_train_step(axon_optimizer opt, axon_tensor x, axon_tensor y, double* loss) {
  const char* op = "axon_train_step";
  return guarded([&] {
    require(opt, op, "optimizer");
    training::Batch batch{tensor_of(x, op, "x"), tensor_of(y, op, "y")};
    axon_model_t& m = *opt->model;
    if (!opt->started) {
      opt->state = opt->step.init(batch, training::initial_state(m.params));
      opt->started = true;
    } else {
      opt->state.set_params("model_state", m.params);  // the caller may have replaced the model's parameters
    }
    // The step keeps a running mean of its losses: restarted so that "loss" is this batch's.
    opt->state.set("loss", zeros({}, DType::f32, batch.x.device()));
    opt->state.set("i", zeros({}, DType::i64, batch.x.device()));
    opt->state = opt->step.step(batch, opt->state);
    m.params = opt->state.params("model_state");
    if (loss) *loss = opt->state.at("loss").to(DType::f64).to(Device::cpu()).item<double>();
  });
}

}  // extern "C"
