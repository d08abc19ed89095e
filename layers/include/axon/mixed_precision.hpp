#pragma once
// Mixed precision for models (Axon.MixedPrecision), in the way PyTorch's autocast is
// used: a Policy says in which dtype a layer's parameters are stored (`params`), in which it computes
// (`compute`) and in which it hands its output on (`output`); an unset field casts nothing.
//
//   Model mp = apply_policy(model, create_policy({.params = DType::f32, .compute = DType::bf16,
//                                                 .output = DType::f32}));
//   Params params = init(mp);                 // f32 master parameters
//   Tensor y = predict(mp, params, x);        // matmuls in bf16, outputs f32
//
// What a layer with a policy does (Axon's compiler): init() creates its parameters in `params`;
// apply() casts its floating inputs and parameters to `compute` before the op and its output to
// `output` after it. Integer and bool tensors are never cast (embedding ids, masks), and nothing is
// cast to an integer dtype. The casts are differentiable between float dtypes, so the gradients of
// f32 master parameters come back in f32. New state entries (batch_norm's running mean / var) are
// cast back to the dtype their stored value has.
//
// Numerically sensitive ops stay in f32 by default, as PyTorch's autocast keeps them (Axon applies
// the policy to whatever the filter selects): the ops of f32_ops() -- batch_norm, instance_norm,
// layer_norm, group_norm, rms_norm, softmax, log_softmax, log_sumexp -- get no policy unless the
// filter asks for them (named in `only`, or a predicate is given, or keep_f32_ops = false). Such a
// layer raises its bf16 / f16 inputs and parameters to f32 and leaves its output f32; f32 and f64
// pass unchanged, and its parameters are created in InitOptions::dtype.
//
// summary(model) shows each layer's parameters in their stored dtype (and the memory they take).
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <axon/model.hpp>

namespace axon {

struct Policy {
  std::optional<DType> params = {};   // storage of the layer's parameters
  std::optional<DType> compute = {};  // inputs and parameters during the op
  std::optional<DType> output = {};   // the layer's result
  bool operator==(const Policy&) const = default;
};

// Axon's create_policy(params:, compute:, output:), e.g. create_policy({.compute = DType::bf16}).
// Throws for a dtype that is not floating.
Policy create_policy(const Policy& fields = {});

// "Policy(params=f32, compute=bf16, output=f32)" (unset fields left out).
std::string to_string(const Policy& policy);
std::ostream& operator<<(std::ostream& os, const Policy& policy);

// Axon's cast(policy, x, :params | :compute | :output): x in that dtype; x itself when the field is
// unset, when x is an integer or bool tensor, or when the field names a non-floating dtype.
enum class PolicyPart { params, compute, output };
Tensor cast(const Policy& policy, const Tensor& x, PolicyPart which);
ParamMap cast(const Policy& policy, const ParamMap& xs, PolicyPart which);
Params cast(const Policy& policy, const Params& xs, PolicyPart which);

// Which layers get the policy. A layer is selected when its op is in `only` (empty: every op), is
// not in `except`, and `predicate(layer name, op name)` holds (when given); the ops of f32_ops() are
// also left out unless `only` names them, a predicate is given, or keep_f32_ops is false. Input
// layers never carry a policy.
struct PolicyFilter {
  std::vector<std::string> only = {};
  std::vector<std::string> except = {};
  std::function<bool(const std::string& layer, const std::string& op)> predicate = {};
  bool keep_f32_ops = true;
};

// The ops kept in f32 by default (see above).
const std::vector<std::string>& f32_ops();

// A new Model whose selected layers carry `policy` (Axon's apply_policy / map_nodes): the same
// layers, names and parameter names; the original model is unchanged. Applying a policy again
// replaces the earlier one on the layers the new filter selects; the others keep what they had.
Model apply_policy(const Model& model, const Policy& policy, const PolicyFilter& filter = {});

// The policy of a layer of the model (none for layers without one, and for layers kept in f32).
std::optional<Policy> policy_of(const Model& model, const std::string& layer);
// Whether apply_policy left the layer in f32 (one of f32_ops() that the filter did not select).
bool kept_in_f32(const Model& model, const std::string& layer);

}  // namespace axon
