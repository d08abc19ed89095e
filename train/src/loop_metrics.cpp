// Attaching metrics to loops, and printing them as Axon does.
#include <cmath>

#include <axon/ops.hpp>
#include <axon/train/loop.hpp>

namespace axon::training {
namespace {

// What each name makes from the options, and which of them it takes.
struct NamedMetric {
  std::function<metrics::Metric(const MetricOptions&)> make;
  bool sparse = false, from_logits = false, k = false, threshold = false;
};

const std::map<std::string, NamedMetric>& named_metrics() {
  using namespace axon::metrics;
  using ThresholdFn = Tensor (*)(const Tensor&, const Tensor&, ThresholdOptions);
  auto thresholded = [](ThresholdFn f) {
    NamedMetric n{[f](const MetricOptions& o) {
      ThresholdOptions t;
      if (o.threshold) t.threshold = *o.threshold;
      return Metric([f, t](const Tensor& y, const Tensor& p) { return f(y, p, t); });
    }};
    n.threshold = true;
    return n;
  };
  static const std::map<std::string, NamedMetric> m{
      {"accuracy",
       {[](const MetricOptions& o) {
          AccuracyOptions a{.from_logits = o.from_logits, .sparse = o.sparse};
          return Metric([a](const Tensor& y, const Tensor& p) { return accuracy(y, p, a); });
        },
        true, true}},
      {"precision", thresholded(precision)},
      {"recall", thresholded(recall)},
      {"sensitivity", thresholded(sensitivity)},
      {"specificity", thresholded(specificity)},
      {"true_positives", thresholded(true_positives)},
      {"false_positives", thresholded(false_positives)},
      {"true_negatives", thresholded(true_negatives)},
      {"false_negatives", thresholded(false_negatives)},
      {"mean_absolute_error",
       {[](const MetricOptions&) {
         return Metric([](const Tensor& y, const Tensor& p) { return metrics::mean_absolute_error(y, p); });
       }}},
      {"top_k_categorical_accuracy",
       {[](const MetricOptions& o) {
          TopKOptions t{.sparse = o.sparse};
          if (o.k) t.k = *o.k;
          return Metric([t](const Tensor& y, const Tensor& p) { return top_k_categorical_accuracy(y, p, t); });
        },
        true, false, true}},
  };
  return m;
}

AccumulateFn accumulate_of(const MetricOptions& o) { return o.accumulate_fn ? o.accumulate_fn : accumulator(o.accumulate); }

}  // namespace

metrics::Metric metric_by_name(const std::string& name, const MetricOptions& o) {
  const auto& m = named_metrics();
  auto it = m.find(name);
  if (it == m.end()) {
    std::string names;
    for (const auto& [k, v] : m) names += (names.empty() ? "" : ", ") + k;
    AXON_FAIL("metric", "unknown metric '{}' (known: {}); pass a function for others", name, names);
  }
  const NamedMetric& n = it->second;
  auto takes = [&](bool given, bool taken, const char* option) {
    AXON_CHECK(!given || taken, "metric", "metric '{}' takes no option {}", name, option);
  };
  takes(o.sparse, n.sparse, "sparse");
  takes(o.from_logits, n.from_logits, "from_logits");
  takes(o.k.has_value(), n.k, "k");
  takes(o.threshold.has_value(), n.threshold, "threshold");
  return n.make(o);
}

Loop& metric(Loop& loop, const std::string& name, MetricOptions options) {
  metrics::Metric fn = metric_by_name(name, options);
  return metric(loop, name, std::move(fn), std::move(options));
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
