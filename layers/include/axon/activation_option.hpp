#pragma once
// An `activation` option (dense, conv, lstm/gru's activation and gate, ...): the name of a function of
// <axon/activations.hpp> ("relu"), or the function itself (activations::relu, a lambda). Empty: none.
#include <functional>
#include <string>
#include <type_traits>

#include <axon/tensor.hpp>

namespace axon {

struct Activation {
  std::string name;
  std::function<Tensor(const Tensor&)> fn;
  Activation() = default;
  Activation(const char* n) : name(n) {}
  Activation(std::string n) : name(std::move(n)) {}
  template <class F>
    requires(std::is_invocable_r_v<Tensor, F, const Tensor&> && !std::is_convertible_v<F, std::string>)
  Activation(F f) : fn(std::move(f)) {}
  bool empty() const { return name.empty() && !fn; }
  // How options tables and errors show it: the name, or "<function>".
  std::string label() const { return fn ? std::string("<function>") : name; }
};

}  // namespace axon
