#pragma once
// Gradient transformations (optax's and Polaris' shape): an optimizer is a pair
//   init(params) -> state
//   update(grads, state, params) -> (updates, new state)
// composed with chain(). Nothing is applied in place: apply_updates(params, updates) returns new
// parameters. All of it is written with axon ops, so it runs wherever the parameters live.
//
// State is a flat, saveable map of named tensors with hierarchical '/'-separated keys:
//   "count"                    a 0-d i64 step counter, kept on the parameters' device so that an
//                              update needs no host synchronisation
//   "mu/<layer>/<name>"        a per-parameter slot (moments, traces, accumulators)
//   "0/mu/<layer>/<name>"      chain() prefixes each member's keys with its position
// so a whole optimizer state can be written to / read from any tensor file format as is.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <axon/autograd.hpp>
#include <axon/tensor.hpp>

namespace axon::optim {

using axon::ParamMap;
using axon::Params;
using State = std::map<std::string, Tensor>;

using InitFn = std::function<State(const Params& params)>;
using UpdateFn =
    std::function<std::pair<Params, State>(const Params& grads, const State& state, const Params& params)>;

struct GradientTransformation {
  InitFn init;
  UpdateFn update;
};

// ---- composition
// a, then b, then ... (each member's state under "<i>/").
GradientTransformation chain(std::vector<GradientTransformation> members);
// The identity (no state).
GradientTransformation identity();
// A transformation without state: apply(updates, params) -> updates.
GradientTransformation stateless(std::function<Params(const Params& updates, const Params& params)> apply);
// A transformation with state (GradientTransformation itself; spelled out for Polaris users).
GradientTransformation stateful(InitFn init, UpdateFn apply);

// params + updates (each update cast to its parameter's dtype). Throws, naming the parameter, when
// the structures, shapes or devices differ: an update never broadcasts a parameter to a new shape.
Params apply_updates(const Params& params, const Params& updates);

// ---- flat adapters: a std::vector<Tensor> / ParamMap viewed as Params ({"", {"0": t0, "1": t1...}}
// for vectors, {"", map} for a ParamMap) and back.
Params as_params(const std::vector<Tensor>& tensors);
Params as_params(const ParamMap& map);
std::vector<Tensor> to_vector(const Params& params);  // in the order as_params(vector) gave them
ParamMap to_param_map(const Params& params);           // inverse of as_params(ParamMap)

// ---- helpers for writing transformations
// Applies f to every tensor (same structure).
Params map_params(const Params& a, const std::function<Tensor(const Tensor&)>& f);
// Applies f to matching tensors of a and b: b must hold exactly a's parameters, each with the same
// shape on the same device (nothing broadcasts); the error names `op` and the parameter.
Params map_params(const char* op, const Params& a, const Params& b,
                  const std::function<Tensor(const Tensor&, const Tensor&)>& f);
// The check every optimizer's update makes first (chain() and the fused paths): the gradients hold
// exactly the parameters, with their shapes and devices. Skipped when `params` is empty (a
// transformation that does not read the parameters may be called without them, as in optax).
void check_grads_match_params(const char* op, const Params& grads, const Params& params);
// Stores `slot` under "<key>/<layer>/<name>".
void put_slot(State& state, const std::string& key, const Params& slot);
// Reads the slot stored by put_slot with the structure of `like` (error names `op` and the missing key).
Params get_slot(const char* op, const State& state, const std::string& key, const Params& like);
// Reads one tensor (error names `op` and the key).
const Tensor& get_tensor(const char* op, const State& state, const std::string& key);
// The members of `state` under "<prefix>/", with the prefix removed.
State sub_state(const State& state, const std::string& prefix);
// Adds every entry of `sub` under "<prefix>/".
void merge_state(State& state, const std::string& prefix, const State& sub);
// The device of the first parameter (cpu when there is none).
Device params_device(const Params& params);
// The dtype moments of a parameter are kept in: f64 for f64 parameters, else f32 (as Polaris).
DType moment_dtype(DType param);
// zeros (or `value`) with the shape of every parameter, in moment_dtype, on its device.
Params full_like_params(const Params& params, double value);
// A 0-d i64 counter (value 0) on the parameters' device.
Tensor make_count(const Params& params);
// 1 - b^t for a counter tensor t, in `dtype` (computed as -expm1(t·log b) for precision).
Tensor one_minus_pow(double b, const Tensor& t, DType dtype);

}  // namespace axon::optim
