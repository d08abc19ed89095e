// Losses and optimizers by name, as Axon's trainer accepts atoms.
#include <cmath>

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

losses::LossFn loss_by_name(const std::string& name, LossOptions o) {
  using namespace axon::losses;
  // What each name makes from the options, and which options it takes.
  struct Named {
    std::function<LossFn(const LossOptions&)> make;
    bool from_logits = false, sparse = false;
  };
  auto fixed = [](LossFn fn) { return [fn](const LossOptions&) { return fn; }; };
  // A class-id y_true without sparse would fail on its shape: say what to ask for instead.
  auto cce = [](bool sparse) {
    return [sparse](const LossOptions& o) {
      return LossFn([from_logits = o.from_logits, sparse = sparse || o.sparse](const Tensor& y, const Tensor& p) {
        if (!sparse && !is_floating(y.dtype()) && y.dim() + 1 == p.dim())
          AXON_FAIL("categorical_cross_entropy",
                    "y_true {} holds integer class ids for y_pred {}: name the loss with sparse labels, "
                    "Loss(\"categorical_cross_entropy\", {{.sparse = true}})",
                    describe(y), describe(p));
        CrossEntropyOptions c;
        c.from_logits = from_logits;
        c.sparse = sparse;
        c.reduction = Reduction::mean;
        return categorical_cross_entropy(y, p, c);
      });
    };
  };
  static const std::map<std::string, Named> m{
      {"binary_cross_entropy",
       {[](const LossOptions& o) {
          return LossFn([from_logits = o.from_logits](const Tensor& y, const Tensor& p) {
            BinaryCrossEntropyOptions b;
            b.from_logits = from_logits;
            b.reduction = Reduction::mean;
            return binary_cross_entropy(y, p, b);
          });
        },
        true}},
      {"categorical_cross_entropy", {cce(false), true, true}},
      {"sparse_categorical_cross_entropy", {cce(true), true}},
      {"categorical_hinge", {fixed(Loss(categorical_hinge).fn)}},
      {"hinge", {fixed(Loss(hinge).fn)}},
      {"kl_divergence", {fixed(Loss(kl_divergence).fn)}},
      {"log_cosh", {fixed(Loss(log_cosh).fn)}},
      {"mean_absolute_error", {fixed(Loss(losses::mean_absolute_error).fn)}},
      {"mean_squared_error", {fixed(Loss(mean_squared_error).fn)}},
      {"poisson", {fixed(Loss(poisson).fn)}},
      {"soft_margin", {fixed(Loss(soft_margin).fn)}},
      {"huber", {fixed(Loss(huber).fn)}},
      {"smooth_l1", {fixed(Loss(smooth_l1).fn)}},
      {"cosine_similarity", {fixed(Loss(cosine_similarity).fn)}},
  };
  auto it = m.find(name);
  AXON_CHECK(it != m.end(), "loss", "unknown loss '{}' (known: {}); pass a function for others", name, known(m));
  const Named& n = it->second;
  AXON_CHECK(!o.from_logits || n.from_logits, "loss", "loss '{}' takes no option from_logits", name);
  AXON_CHECK(!o.sparse || n.sparse, "loss", "loss '{}' takes no option sparse{}", name,
             name == "sparse_categorical_cross_entropy" ? " (its labels are sparse already)" : "");
  return n.make(o);
}

Loss::Loss(const char* name) : fn(loss_by_name(name)) {}
Loss::Loss(const std::string& name) : fn(loss_by_name(name)) {}
Loss::Loss(const std::string& name, LossOptions options) : fn(loss_by_name(name, options)) {}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  AXON_CHECK(static_cast<bool>(fn), "loss", "no loss function");
  Tensor v = fn(y_true, y_pred);
  return v.dim() == 0 ? v : mean(v);
}

optim::GradientTransformation optimizer_by_name(const std::string& name, double learning_rate) {
  using Make = std::function<optim::GradientTransformation(double lr)>;
  // Each optimizer's own default learning rate unless one is given.
#define AXON_NAMED_OPTIMIZER(f) {#f, [](double lr) { return lr > 0 ? optim::f(lr) : optim::f(); }}
  static const std::map<std::string, Make> m{
      AXON_NAMED_OPTIMIZER(adabelief), AXON_NAMED_OPTIMIZER(adagrad), AXON_NAMED_OPTIMIZER(adam),
      AXON_NAMED_OPTIMIZER(adamw),     AXON_NAMED_OPTIMIZER(lamb),    AXON_NAMED_OPTIMIZER(noisy_sgd),
      AXON_NAMED_OPTIMIZER(radam),     AXON_NAMED_OPTIMIZER(rmsprop), AXON_NAMED_OPTIMIZER(sgd),
      AXON_NAMED_OPTIMIZER(yogi),
  };
#undef AXON_NAMED_OPTIMIZER
  auto it = m.find(name);
  AXON_CHECK(it != m.end(), "optimizer", "unknown optimizer '{}' (known: {}); pass a GradientTransformation for others",
             name, known(m));
  AXON_CHECK(std::isfinite(learning_rate), "optimizer", "{}: learning rate {} is not finite", name, learning_rate);
  return it->second(learning_rate);
}

Optimizer::Optimizer(const char* name) : tx(optimizer_by_name(name)) {}
Optimizer::Optimizer(const std::string& name) : tx(optimizer_by_name(name)) {}

}  // namespace axon::training
