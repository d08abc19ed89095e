#pragma once
// What a loop's step function carries from one batch to the next: a flat map of named tensors with
// '/'-separated keys, laid out like an optimizer's State, so that a whole step state (parameters,
// optimizer state, counters, the last predictions) saves to one tensor file as is:
//   "model_state/<layer>/<name>"   Params, via params() / set_params()
//   "optimizer_state/<key>"        an optim::State, via sub() / set_sub()
//   "loss", "y_true", "y_pred"     single tensors
#include <map>
#include <string>

#include <axon/autograd.hpp>
#include <axon/tensor.hpp>

namespace axon::training {

struct StepState {
  std::map<std::string, Tensor> tensors;

  bool contains(const std::string& key) const { return tensors.count(key) != 0; }
  // The tensor at `key`; the error names the key and what the state holds.
  const Tensor& at(const std::string& key) const;
  Tensor& operator[](const std::string& key) { return tensors[key]; }
  void set(const std::string& key, Tensor value) { tensors[key] = std::move(value); }
  void erase(const std::string& key) { tensors.erase(key); }

  // Whether any key lies under "<prefix>/".
  bool has_prefix(const std::string& prefix) const;
  // The entries under "<prefix>/", with the prefix removed (an optim::State, for instance).
  std::map<std::string, Tensor> sub(const std::string& prefix) const;
  // Replaces every entry under "<prefix>/" with `values`.
  void set_sub(const std::string& prefix, const std::map<std::string, Tensor>& values);
  void erase_prefix(const std::string& prefix);
  // Params stored under "<prefix>/<layer>/<name>".
  Params params(const std::string& prefix) const;
  void set_params(const std::string& prefix, const Params& params);
};

}  // namespace axon::training
