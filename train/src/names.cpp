// Losses and optimizers by name, as Axon's trainer accepts atoms.
#include <axon/optim.hpp>
#include <axon/ops.hpp>
#include <axon/train/trainer.hpp>

namespace axon::training {
namespace {

template <class Map>
std::string known(const Map& m) {
  std::string names;
  for (const auto& [k, v] : m) names += (names.empty() ? "" : ", ") + k;
  return names;
}

}  // namespace

losses::LossFn loss_by_name(const std::string& name) {
  using namespace axon::losses;
  static const std::map<std::string, LossFn> m{
      {"binary_cross_entropy", Loss(binary_cross_entropy).fn},
      {"categorical_cross_entropy", Loss(categorical_cross_entropy).fn},
      {"categorical_hinge", Loss(categorical_hinge).fn},
      {"hinge", Loss(hinge).fn},
      {"kl_divergence", Loss(kl_divergence).fn},
      {"log_cosh", Loss(log_cosh).fn},
      {"mean_absolute_error", Loss(losses::mean_absolute_error).fn},
      {"mean_squared_error", Loss(mean_squared_error).fn},
      {"poisson", Loss(poisson).fn},
      {"soft_margin", Loss(soft_margin).fn},
      {"huber", Loss(huber).fn},
      {"cosine_similarity", Loss(cosine_similarity).fn},
  };
  auto it = m.find(name);
  AXON_CHECK(it != m.end(), "loss", "unknown loss '{}' (known: {}); pass a function for others", name, known(m));
  return it->second;
}

Loss::Loss(const char* name) : fn(loss_by_name(name)) {}
Loss::Loss(const std::string& name) : fn(loss_by_name(name)) {}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  AXON_CHECK(static_cast<bool>(fn), "loss", "no loss function");
  Tensor v = fn(y_true, y_pred);
  return v.dim() == 0 ? v : mean(v);
}

optim::GradientTransformation optimizer_by_name(const std::string& name) {
  using Make = std::function<optim::GradientTransformation()>;
  static const std::map<std::string, Make> m{
      {"adabelief", [] { return optim::adabelief(); }}, {"adagrad", [] { return optim::adagrad(); }},
      {"adam", [] { return optim::adam(); }},           {"adamw", [] { return optim::adamw(); }},
      {"lamb", [] { return optim::lamb(); }},           {"noisy_sgd", [] { return optim::noisy_sgd(); }},
      {"radam", [] { return optim::radam(); }},         {"rmsprop", [] { return optim::rmsprop(); }},
      {"sgd", [] { return optim::sgd(); }},             {"yogi", [] { return optim::yogi(); }},
  };
  auto it = m.find(name);
  AXON_CHECK(it != m.end(), "optimizer", "unknown optimizer '{}' (known: {}); pass a GradientTransformation for others",
             name, known(m));
  return it->second();
}

Optimizer::Optimizer(const char* name) : tx(optimizer_by_name(name)) {}
Optimizer::Optimizer(const std::string& name) : tx(optimizer_by_name(name)) {}

}  // namespace axon::training
