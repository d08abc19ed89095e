#include <axon/activations.hpp>

#include <functional>
#include <map>

#include <fmt/format.h>

#include <axon/nn_ops.hpp>
#include <axon/ops.hpp>

namespace axon::activations {

Tensor celu(const Tensor& x, CeluOptions o) { return axon::celu(x, o.alpha); }
Tensor elu(const Tensor& x, EluOptions o) { return axon::elu(x, o.alpha); }
Tensor gelu(const Tensor& x, GeluOptions o) { return axon::gelu_fused(x, o.tanh_approximation); }
Tensor hard_sigmoid(const Tensor& x, HardSigmoidOptions o) { return axon::hard_sigmoid(x, o.alpha, o.beta); }
Tensor hard_silu(const Tensor& x, HardSiluOptions o) { return axon::hard_silu(x, o.alpha, o.beta); }
Tensor leaky_relu(const Tensor& x, LeakyReluOptions o) { return axon::leaky_relu(x, o.alpha); }
Tensor linear(const Tensor& x) { return x; }
Tensor log_sumexp(const Tensor& x, AxisOptions o) { return axon::logsumexp(x, {o.axis}, true); }
Tensor log_softmax(const Tensor& x, AxisOptions o) { return axon::log_softmax(x, o.axis); }
Tensor selu(const Tensor& x, SeluOptions o) { return axon::selu(x, o.alpha, o.gamma); }
Tensor softmax(const Tensor& x, AxisOptions o) { return axon::softmax(x, o.axis); }

namespace {
const std::map<std::string, std::function<Tensor(const Tensor&)>>& table() {
  static const std::map<std::string, std::function<Tensor(const Tensor&)>> t = {
      {"celu", [](const Tensor& x) { return activations::celu(x); }},
      {"elu", [](const Tensor& x) { return activations::elu(x); }},
      {"exp", [](const Tensor& x) { return activations::exp(x); }},
      {"gelu", [](const Tensor& x) { return activations::gelu(x); }},
      {"hard_sigmoid", [](const Tensor& x) { return activations::hard_sigmoid(x); }},
      {"hard_silu", [](const Tensor& x) { return activations::hard_silu(x); }},
      {"hard_tanh", [](const Tensor& x) { return activations::hard_tanh(x); }},
      {"leaky_relu", [](const Tensor& x) { return activations::leaky_relu(x); }},
      {"linear", [](const Tensor& x) { return activations::linear(x); }},
      {"log_sumexp", [](const Tensor& x) { return activations::log_sumexp(x); }},
      {"log_sigmoid", [](const Tensor& x) { return activations::log_sigmoid(x); }},
      {"log_softmax", [](const Tensor& x) { return activations::log_softmax(x); }},
      {"mish", [](const Tensor& x) { return activations::mish(x); }},
      {"relu", [](const Tensor& x) { return activations::relu(x); }},
      {"relu6", [](const Tensor& x) { return activations::relu6(x); }},
      {"sigmoid", [](const Tensor& x) { return activations::sigmoid(x); }},
      {"silu", [](const Tensor& x) { return activations::silu(x); }},
      {"selu", [](const Tensor& x) { return activations::selu(x); }},
      {"softmax", [](const Tensor& x) { return activations::softmax(x); }},
      {"softplus", [](const Tensor& x) { return activations::softplus(x); }},
      {"softsign", [](const Tensor& x) { return activations::softsign(x); }},
      {"tanh", [](const Tensor& x) { return activations::tanh(x); }},
  };
  return t;
}
}  // namespace

const std::vector<std::string>& names() {
  static const std::vector<std::string> n = [] {
    std::vector<std::string> v;
    for (const auto& [k, f] : table()) v.push_back(k);
    return v;
  }();
  return n;
}

Tensor activate(const std::string& name, const Tensor& x) {
  auto it = table().find(name);
  AXON_CHECK(it != table().end(), "activate", "unknown activation \"{}\"; valid names: {}", name,
             fmt::join(names(), ", "));
  return it->second(x);
}

}  // namespace axon::activations
