#pragma once
// Shared by the handlers that read a metric back to the host.
#include <string>

#include <axon/train/loop.hpp>

namespace axon::training::detail {

// The value of metric `metric` of the loop's current metrics; the error names `op`, the metric and
// the metrics there are.
double metric_value(const char* op, const LoopState& state, const std::string& metric);

}  // namespace axon::training::detail
