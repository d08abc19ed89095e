#pragma once
// predict()'s compiled plans (internal): what apply() works out on every call - the order of the
// nodes, where each one's arguments are, when a value is dead, each layer's checked parameters -
// worked out once for a (model, params, input shape/dtype/device) and replayed. Dense layers write
// into buffers kept between calls (matmul_out + add_out: no tensor is created for them), and the
// last one straight into the caller's `out`.
//
// Each thread keeps its own few plans (predict from several threads is safe, as apply is; the
// threads share nothing but the read-only model and params). A plan holds handles on the params it
// was built for, so a call finds a stale plan by comparing handles, with no string lookups: a
// parameter replaced in the Params (or a Params object with other tensors at the same address), a
// new input shape or dtype builds a new plan, while values changed in place are simply read.
#include <axon/model.hpp>

namespace axon::detail {

// The prediction of one pass (inference mode, NoGrad held by the caller) through a plan, written
// into `out` when defined; nullopt when the model or input is one the plans leave to apply()
// (several inputs, mixed precision, ties, a non-CPU input, an undefined or rank-0 input).
std::optional<Tensor> predict_planned(const Model& model, const Params& params, const Tensor& input, const Tensor& out);

}  // namespace axon::detail
