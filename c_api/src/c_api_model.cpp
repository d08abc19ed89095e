// The C ABI's models (axon_c.h): load, save, predict, input gradients.
#include <axon/error.hpp>
#include <axon/model/model_file.hpp>
#include <axon/ops.hpp>

#include "c_api_internal.hpp"

using namespace axon;
using namespace axon::c_api;

namespace {

axon_model_t& model_of(axon_model m, const char* op) {
  require(m, op, "model");
  return *m;
}

// The model's output on `inputs` (one per model input, in input_names() order), in inference mode.
Tensor forward(const axon_model_t& m, const std::vector<Tensor>& inputs, const char* op) {
  std::vector<std::string> names = m.model.input_names();
  AXON_CHECK(inputs.size() == names.size(), op, "the model has {} input(s) but {} were given", names.size(),
             inputs.size());
  if (names.size() == 1) return apply(m.model, m.params, inputs[0]).output;
  std::map<std::string, Tensor> by_name;
  for (size_t i = 0; i < names.size(); ++i) by_name.emplace(names[i], inputs[i]);
  return apply(m.model, m.params, by_name).output;
}

// What the predict calls run: predict's compiled plan for a one-input model (one pass, as apply),
// which an embedding code calling every time step with the same model gains most from.
Tensor infer(const axon_model_t& m, const std::vector<Tensor>& inputs, const char* op) {
  if (inputs.size() == 1 && m.model.input_names().size() == 1)
    return predict(m.model, m.params, inputs[0], {.batch_size = 0});
  return forward(m, inputs, op);
}

Params on_device(const Params& params, Device device) {
  Params out;
  for (const auto& [layer, entries] : params)
    for (const auto& [name, t] : entries) out[layer][name] = t.to(device);
  return out;
}

}  // namespace

extern "C" {

axon_status axon_model_load(const char* path, int device_type, int device_index, axon_model* out) {
  const char* op = "axon_model_load";
  return guarded([&] {
    require(path, op, "path");
    require(out, op, "out");
    Device device = device_arg(op, device_type, device_index);
    LoadedModel loaded = load_model(path);
    // A file without parameters starts from init()'s (seed 0), as train_step would.
    Params params = loaded.params.empty() ? init(loaded.model, {.device = device}) : on_device(loaded.params, device);
    *out = new axon_model_t{std::move(loaded.model), std::move(params), device};
  });
}

axon_status axon_model_save(axon_model model, const char* path) {
  return guarded([&] {
    const axon_model_t& m = model_of(model, "axon_model_save");
    require(path, "axon_model_save", "path");
    save_model(path, m.model, m.params);
  });
}

axon_status axon_model_destroy(axon_model model) {
  return guarded([&] { delete model; });
}

axon_status axon_model_num_inputs(axon_model model, int* n) {
  return guarded([&] {
    const axon_model_t& m = model_of(model, "axon_model_num_inputs");
    require(n, "axon_model_num_inputs", "n");
    *n = static_cast<int>(m.model.input_names().size());
  });
}

axon_status axon_model_parameter(axon_model model, const char* layer, const char* name, axon_tensor* out) {
  const char* op = "axon_model_parameter";
  return guarded([&] {
    const axon_model_t& m = model_of(model, op);
    require(layer, op, "layer");
    require(name, op, "name");
    require(out, op, "out");
    auto l = m.params.find(layer);
    AXON_CHECK(l != m.params.end(), op, "the model has no layer '{}' with parameters", layer);
    auto p = l->second.find(name);
    AXON_CHECK(p != l->second.end(), op, "layer '{}' has no parameter '{}'", layer, name);
    *out = new_handle(p->second);
  });
}

axon_status axon_model_predict(axon_model model, int n_inputs, const axon_tensor* inputs, axon_tensor* output) {
  const char* op = "axon_model_predict";
  return guarded([&] {
    const axon_model_t& m = model_of(model, op);
    require(output, op, "output");
    NoGrad no_grad;
    *output = new_handle(infer(m, tensors_of(op, n_inputs, inputs, "inputs"), op));
  });
}

axon_status axon_model_predict_into(axon_model model, int n_inputs, const axon_tensor* inputs, axon_tensor output) {
  const char* op = "axon_model_predict_into";
  return guarded([&] {
    const axon_model_t& m = model_of(model, op);
    const Tensor& out = tensor_of(output, op, "output");
    NoGrad no_grad;
    copy_into(op, infer(m, tensors_of(op, n_inputs, inputs, "inputs"), op), out);
  });
}

axon_status axon_model_input_gradients(axon_model model, int n_inputs, const axon_tensor* inputs,
                                       axon_tensor cotangent, axon_tensor output, const axon_tensor* input_grads) {
  const char* op = "axon_model_input_gradients";
  return guarded([&] {
    const axon_model_t& m = model_of(model, op);
    std::vector<Tensor> xs = tensors_of(op, n_inputs, inputs, "inputs");
    std::vector<Tensor> dests = tensors_of(op, n_inputs, input_grads, "input_grads");
    Tensor ct = cotangent ? tensor_of(cotangent, op, "cotangent") : Tensor();
    Tensor y;
    auto f = [&](const std::vector<Tensor>& x) {
      y = forward(m, x, op);
      // Checked here for a message that names this call rather than the backward pass.
      AXON_CHECK(!ct.defined() || ct.shape() == y.shape(), op, "the cotangent has shape {} but the output has shape {}",
                 to_string(ct.shape()), to_string(y.shape()));
      return ct.defined() ? y : sum(y);
    };
    auto grads = autograd::value_and_grad_flat(f, xs, ct).second;
    for (int i = 0; i < n_inputs; ++i) copy_into(op, grads[i], dests[i]);
    if (output) copy_into(op, y, tensor_of(output, op, "output"));
  });
}

}  // extern "C"
