// Attaching metrics to loops, and printing them as Axon does.
#include <cmath>

#include <axon/ops.hpp>
#include <axon/train/loop.hpp>

namespace axon::training {
namespace {

const std::map<std::string, metrics::Metric>& named_metrics() {
  using namespace axon::metrics;
  static const std::map<std::string, Metric> m{
      {"accuracy", [](const Tensor& y, const Tensor& p) { return accuracy(y, p); }},
      {"precision", [](const Tensor& y, const Tensor& p) { return precision(y, p); }},
      {"recall", [](const Tensor& y, const Tensor& p) { return recall(y, p); }},
      {"sensitivity", [](const Tensor& y, const Tensor& p) { return sensitivity(y, p); }},
      {"specificity", [](const Tensor& y, const Tensor& p) { return specificity(y, p); }},
      {"true_positives", [](const Tensor& y, const Tensor& p) { return true_positives(y, p); }},
      {"false_positives", [](const Tensor& y, const Tensor& p) { return false_positives(y, p); }},
      {"true_negatives", [](const Tensor& y, const Tensor& p) { return true_negatives(y, p); }},
      {"false_negatives", [](const Tensor& y, const Tensor& p) { return false_negatives(y, p); }},
      {"mean_absolute_error", [](const Tensor& y, const Tensor& p) { return metrics::mean_absolute_error(y, p); }},
      {"top_k_categorical_accuracy", [](const Tensor& y, const Tensor& p) { return top_k_categorical_accuracy(y, p); }},
  };
  return m;
}

AccumulateFn accumulate_of(const MetricOptions& o) { return o.accumulate_fn ? o.accumulate_fn : accumulator(o.accumulate); }

}  // namespace

metrics::Metric metric_by_name(const std::string& name) {
  const auto& m = named_metrics();
  auto it = m.find(name);
  if (it == m.end()) {
    std::string names;
    for (const auto& [k, v] : m) names += (names.empty() ? "" : ", ") + k;
    AXON_FAIL("metric", "unknown metric '{}' (known: {}); pass a function for others", name, names);
  }
  return it->second;
}

Loop& metric(Loop& loop, const std::string& name, MetricOptions options) {
  return metric(loop, name, metric_by_name(name), std::move(options));
}

Loop& metric(Loop& loop, const std::string& name, metrics::Metric fn, MetricOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "metric", "empty function for metric '{}'", name);
  std::string yt = o.y_true, yp = o.y_pred;
  auto observe = [fn = std::move(fn), yt, yp](const StepState& s) { return fn(s.at(yt), s.at(yp)); };
  return loop.add_metric({name, observe, accumulate_of(o)});
}

Loop& metric(Loop& loop, const std::string& name, std::function<Tensor(const StepState&)> observe, MetricOptions o) {
  AXON_CHECK(static_cast<bool>(observe), "metric", "empty function for metric '{}'", name);
  return loop.add_metric({name, std::move(observe), accumulate_of(o)});
}

std::string format_metric(const Tensor& value) {
  AXON_CHECK(value.defined(), "format_metric", "undefined metric value");
  AXON_CHECK(value.numel() == 1, "format_metric", "a metric must hold one value, got {}", describe(value));
  Tensor v = value.reshape({});
  if (!v.is_floating_point()) return std::to_string(v.to(DType::i64).item<int64_t>());
  double d = v.to(DType::f64).item<double>();
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Inf" : "-Inf";
  return v.dtype() == DType::bf16 ? fmt::format("{:.3f}", d) : fmt::format("{:.7f}", d);
}

std::string format_metrics(const std::map<std::string, Tensor>& metrics) {
  std::string out;
  for (const auto& [name, v] : metrics) out += (out.empty() ? "" : " ") + name + ": " + format_metric(v);
  return out;
}

std::map<std::string, double> metric_values(const std::map<std::string, Tensor>& metrics) {
  std::map<std::string, double> out;
  for (const auto& [name, v] : metrics) out[name] = v.reshape({}).to(DType::f64).item<double>();
  return out;
}

}  // namespace axon::training
