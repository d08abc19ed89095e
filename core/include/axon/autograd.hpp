#pragma once
// Reverse-mode automatic differentiation with a thread-local tape.
//
// value_and_grad(f, params) pushes a tape, marks the parameters, and runs f. Every op whose inputs
// include a marked tensor appends one entry (its inputs, its outputs and a backward closure) in
// execution order. The reverse sweep then accumulates gradients; the tape, and with it every saved
// tensor, is released when the call returns. Tapes nest: while a tape's sweep runs it is no longer
// active, so the ops of its backward formulas are recorded on the enclosing tapes, which is what
// makes grad of grad work.
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <axon/tensor.hpp>

namespace axon::autograd {

using Grads = std::vector<Tensor>;
// Maps the gradients of an op's outputs (each defined: missing ones arrive as zeros) to the
// gradients of its inputs, one per input in order; an undefined Tensor means "no gradient".
// A returned gradient may have the op's broadcast shape: the tape sums it back to the input's shape.
using BackwardFn = std::function<Grads(const Grads& grad_outputs)>;

namespace detail {
bool recording();  // some tape is active (and not hidden by no_grad)
void record(const char* op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward);
}  // namespace detail

// Inside a backward closure during the sweep: whether the tape needs the gradient of input i
// (false for inputs that are constants to every tracking tape, so a fused backward can skip
// computing them). True outside a sweep.
bool needs_input_grad(std::size_t i);

// Whether an op called now would be recorded. Front-ends test this before building a closure,
// so untracked calls pay nothing for autograd.
inline bool recording() { return detail::recording(); }

// Records one op. `inputs` are the tensors gradients flow to; `outputs` are the results. This is
// the public custom-op API: an op written by a user (for instance around their own CUDA kernel)
// computes its outputs and calls record() with its backward, exactly as axon's own ops do.
template <class F>
inline void record(const char* op, std::initializer_list<Tensor> inputs,
                   std::initializer_list<Tensor> outputs, F&& backward) {
  if (!detail::recording()) return;
  detail::record(op, std::vector<Tensor>(inputs), std::vector<Tensor>(outputs),
                 BackwardFn(std::forward<F>(backward)));
}
template <class F>
inline void record(const char* op, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& outputs, F&& backward) {
  if (!detail::recording()) return;
  detail::record(op, inputs, outputs, BackwardFn(std::forward<F>(backward)));
}

// While alive, no op is recorded on this thread.
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;
};

// The same values, cut off from the tape: no gradient flows through the result.
Tensor stop_gradient(const Tensor& x);

// Anomaly detection (PyTorch's torch.autograd.detect_anomaly): while a DetectAnomaly is alive on
// this thread, every gradient a tape node's backward returns is checked for NaN and ±inf, and the
// first bad one raises an axon::Error naming the op whose backward produced it, the input it was
// for and the op that produced that input (or the parameter it is). Each check reads the
// gradient back to the host (one synchronisation per node), so it is a debugging tool. Guards nest;
// off by default, and then the sweep pays one thread-local test per node.
//   { autograd::DetectAnomaly guard; auto [v, g] = value_and_grad(f, params); }
class DetectAnomaly {
 public:
  DetectAnomaly();
  ~DetectAnomaly();
  DetectAnomaly(const DetectAnomaly&) = delete;
  DetectAnomaly& operator=(const DetectAnomaly&) = delete;
};
// Whether a DetectAnomaly guard is alive on this thread.
bool anomaly_detection_enabled();

// The flat core: differentiates f at `params`. f must return a scalar unless `output_grad` is given
// (a vector-Jacobian product). Gradients for parameters f does not use are zeros.
// As jax.grad with several arguments, each position is its own variable: f receives a fresh alias
// of each parameter (same storage, its own identity on the tape), so the same tensor passed in two
// positions gets one gradient per position, not their sum in both. Gradients flow to what f does
// with its arguments; a tensor f captures from outside is a constant, even if it is a parameter.
//
// grad_ready, when given, is called during the reverse sweep with a parameter's index and its final
// gradient as soon as no node left to sweep can add to it (its earliest consumer on the tape has
// run), each parameter once; those f does not use, at the end with zeros. Data-parallel training
// starts a gradient bucket's all-reduce there, while the rest of the backward runs.
using GradReadyFn = std::function<void(std::size_t index, const Tensor& grad)>;
std::pair<Tensor, std::vector<Tensor>> value_and_grad_flat(
    const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& params,
    const Tensor& output_grad = Tensor(), const GradReadyFn& grad_ready = {});

}  // namespace axon::autograd

namespace axon {

using autograd::NoGrad;
using autograd::stop_gradient;
// Model parameters: layer name -> parameter name -> tensor.
using ParamMap = std::map<std::string, Tensor>;
using Params = std::map<std::string, ParamMap>;

namespace autograd::detail {
inline void flatten(const Tensor& t, std::vector<Tensor>& out) { out.push_back(t); }
inline void flatten(const std::vector<Tensor>& v, std::vector<Tensor>& out) {
  out.insert(out.end(), v.begin(), v.end());
}
template <class V> void flatten(const std::map<std::string, V>& m, std::vector<Tensor>& out) {
  for (const auto& [k, v] : m) flatten(v, out);
}
inline Tensor unflatten(const Tensor&, const std::vector<Tensor>& flat, size_t& i) { return flat[i++]; }
inline std::vector<Tensor> unflatten(const std::vector<Tensor>& like, const std::vector<Tensor>& flat, size_t& i) {
  std::vector<Tensor> out(flat.begin() + i, flat.begin() + i + like.size());
  i += like.size();
  return out;
}
template <class V>
std::map<std::string, V> unflatten(const std::map<std::string, V>& like, const std::vector<Tensor>& flat, size_t& i) {
  std::map<std::string, V> out;
  for (const auto& [k, v] : like) out.emplace(k, unflatten(v, flat, i));
  return out;
}
}  // namespace autograd::detail

// value_and_grad(f, params): f(params) -> scalar Tensor; params is a Tensor, a std::vector<Tensor>,
// a ParamMap or a Params; the gradients come back in the same structure.
template <class P, class F>
std::pair<Tensor, P> value_and_grad(F&& f, const P& params) {
  std::vector<Tensor> flat;
  autograd::detail::flatten(params, flat);
  auto [value, grads] = autograd::value_and_grad_flat(
      [&](const std::vector<Tensor>& ps) {
        size_t i = 0;
        return f(autograd::detail::unflatten(params, ps, i));
      },
      flat);
  size_t i = 0;
  return {value, autograd::detail::unflatten(params, grads, i)};
}
template <class P, class F>
P grad(F&& f, const P& params) {
  return value_and_grad(std::forward<F>(f), params).second;
}
// Vector-Jacobian product of a non-scalar f: the gradient of sum(f(params) * output_grad).
template <class P, class F>
std::pair<Tensor, P> vjp(F&& f, const P& params, const Tensor& output_grad) {
  std::vector<Tensor> flat;
  autograd::detail::flatten(params, flat);
  auto [value, grads] = autograd::value_and_grad_flat(
      [&](const std::vector<Tensor>& ps) {
        size_t i = 0;
        return f(autograd::detail::unflatten(params, ps, i));
      },
      flat, output_grad);
  size_t i = 0;
  return {value, autograd::detail::unflatten(params, grads, i)};
}

}  // namespace axon
