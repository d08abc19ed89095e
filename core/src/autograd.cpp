// The tape (see axon/autograd.hpp for the model).
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include <axon/autograd.hpp>
#include <axon/ops.hpp>

namespace axon::autograd {

namespace {

struct Node {
  const char* op;
  std::vector<int64_t> in_ids;  // -1: no gradient flows to this input
  std::vector<Shape> in_shapes;
  std::vector<DType> in_dtypes;
  std::vector<int64_t> out_ids;
  std::vector<Tensor> outs;     // keeps outputs (and their TensorImpl addresses) alive
  BackwardFn backward;
};

class Tape {
 public:
  int64_t id_of(const Tensor& t) const {
    auto it = ids_.find(t.impl_ptr().get());
    return it == ids_.end() ? -1 : it->second;
  }
  int64_t watch(const Tensor& t) {
    int64_t id = id_of(t);
    if (id >= 0) return id;
    id = next_id_++;
    ids_.emplace(t.impl_ptr().get(), id);
    alive_.push_back(t);
    return id;
  }
  void add(Node&& n) { nodes_.push_back(std::move(n)); }
  int64_t size() const { return next_id_; }
  std::vector<Node>& nodes() { return nodes_; }

 private:
  std::unordered_map<const TensorImpl*, int64_t> ids_;
  std::vector<Tensor> alive_;  // watched leaves: their addresses must stay valid
  std::vector<Node> nodes_;
  int64_t next_id_ = 0;
};

// The active tapes of this thread, innermost last. nullptr entries are no_grad barriers.
thread_local std::vector<Tape*> tl_tapes;
// The input ids of the node whose backward runs now (see needs_input_grad).
thread_local const std::vector<int64_t>* tl_current_inputs = nullptr;
// Live DetectAnomaly guards of this thread.
thread_local int tl_anomaly_guards = 0;

struct TapeScope {
  Tape* tape;
  explicit TapeScope(Tape* t) : tape(t) { tl_tapes.push_back(t); }
  void pop() {
    if (tape) {
      // Normally the top; after an exception or misuse, remove wherever it is.
      for (size_t i = tl_tapes.size(); i-- > 0;) {
        if (tl_tapes[i] == tape) {
          tl_tapes.erase(tl_tapes.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
      tape = nullptr;
    }
  }
  ~TapeScope() { pop(); }
};

}  // namespace

namespace detail {

bool recording() { return !tl_tapes.empty() && tl_tapes.back() != nullptr; }

void record(const char* op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward) {
  // Record on every active tape (above the innermost no_grad) that tracks one of the inputs.
  for (size_t t = tl_tapes.size(); t-- > 0;) {
    Tape* tape = tl_tapes[t];
    if (!tape) break;
    Node n;
    bool any = false;
    n.in_ids.reserve(inputs.size());
    for (const Tensor& x : inputs) {
      int64_t id = x.defined() && is_floating(x.dtype()) ? tape->id_of(x) : -1;
      any |= id >= 0;
      n.in_ids.push_back(id);
    }
    if (!any) continue;
    n.op = op;
    for (const Tensor& x : inputs) {
      n.in_shapes.push_back(x.defined() ? x.shape() : Shape{});
      n.in_dtypes.push_back(x.defined() ? x.dtype() : DType::f32);
    }
    for (const Tensor& y : outputs) {
      // Integer outputs (argmax, comparisons) carry no gradient.
      n.out_ids.push_back(y.defined() && is_floating(y.dtype()) ? tape->watch(y) : -1);
      n.outs.push_back(y);
    }
    n.backward = backward;
    tape->add(std::move(n));
  }
}

}  // namespace detail

bool needs_input_grad(std::size_t i) {
  return !tl_current_inputs || (i < tl_current_inputs->size() && (*tl_current_inputs)[i] >= 0);
}

NoGrad::NoGrad() { tl_tapes.push_back(nullptr); }
NoGrad::~NoGrad() {
  for (size_t i = tl_tapes.size(); i-- > 0;) {
    if (tl_tapes[i] == nullptr) {
      tl_tapes.erase(tl_tapes.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
}

DetectAnomaly::DetectAnomaly() { ++tl_anomaly_guards; }
DetectAnomaly::~DetectAnomaly() { --tl_anomaly_guards; }
bool anomaly_detection_enabled() { return tl_anomaly_guards > 0; }

namespace {

// Where gradient slot `id` comes from, for an anomaly message: a parameter or an earlier node.
std::string origin_of(int64_t id, const std::vector<int64_t>& param_ids, const std::vector<Node>& nodes, size_t before) {
  for (size_t i = 0; i < param_ids.size(); ++i)
    if (param_ids[i] == id) return fmt::format("parameter {}", i);
  for (size_t k = before; k-- > 0;)
    for (int64_t o : nodes[k].out_ids)
      if (o == id) return fmt::format("the output of '{}' (tape node {})", nodes[k].op, k);
  return "a tensor of the tape";
}

// Raises when an anomaly guard is on and a gradient that node k's backward returned is not finite.
void check_anomaly(const Node& n, size_t k, const Grads& gin, const std::vector<int64_t>& param_ids,
                   const std::vector<Node>& nodes) {
  NoGrad no_grad;  // the checks are not part of any enclosing tape's computation
  for (size_t j = 0; j < gin.size(); ++j) {
    const Tensor& g = gin[j];
    if (n.in_ids[j] < 0 || !g.defined() || !is_floating(g.dtype()) || g.numel() == 0) continue;
    Tensor a = abs(g);
    if (all(lt(a, std::numeric_limits<double>::infinity())).to(Device::cpu()).item<bool>()) continue;
    int64_t nans = sum(ne(g, g)).to(Device::cpu()).item<int64_t>();
    int64_t infs = sum(eq(a, std::numeric_limits<double>::infinity())).to(Device::cpu()).item<int64_t>();
    AXON_FAIL("detect_anomaly",
              "the backward of '{}' (tape node {}) returned a gradient with {} NaN and {} infinite values out of {} "
              "({}) for its input {}, which is {}",
              n.op, k, nans, infs, g.numel(), describe(g), j, origin_of(n.in_ids[j], param_ids, nodes, k));
  }
}

// A new identity for one argument position, recorded as an identity op on the enclosing tapes
// (so grad of grad still reaches the tensor it aliases).
Tensor alias(const Tensor& p) {
  Tensor a = stop_gradient(p);
  detail::record("alias", {p}, {a}, [](const Grads& g) { return Grads{g[0]}; });
  return a;
}

}  // namespace

Tensor stop_gradient(const Tensor& x) {
  if (!x.defined()) return x;
  auto impl = std::make_shared<TensorImpl>(x.impl());  // same storage, a new identity
  return Tensor(std::move(impl));
}

std::pair<Tensor, std::vector<Tensor>> value_and_grad_flat(
    const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& params,
    const Tensor& output_grad, const GradReadyFn& grad_ready) {
  for (size_t i = 0; i < params.size(); ++i) {
    AXON_CHECK(params[i].defined(), "grad", "parameter {} is an undefined tensor", i);
    AXON_CHECK(is_floating(params[i].dtype()), "grad",
               "cannot differentiate with respect to parameter {} of integer type ({})", i, describe(params[i]));
  }
  std::vector<Tensor> args;
  args.reserve(params.size());
  for (const Tensor& p : params) args.push_back(alias(p));
  Tape tape;
  std::vector<int64_t> param_ids;
  param_ids.reserve(args.size());
  for (const Tensor& a : args) param_ids.push_back(tape.watch(a));

  TapeScope scope(&tape);
  Tensor out = f(args);
  scope.pop();  // the sweep's own ops are recorded on enclosing tapes only

  AXON_CHECK(out.defined(), "grad", "the function returned an undefined tensor");
  Tensor seed;
  if (output_grad.defined()) {
    AXON_CHECK(output_grad.shape() == out.shape(), "vjp", "output gradient {} does not match the output {}",
               describe(output_grad), describe(out));
    seed = output_grad;
  } else {
    AXON_CHECK(out.numel() == 1, "grad",
               "the function must return a scalar to be differentiated, got {}; pass an output gradient (vjp)",
               describe(out));
    AXON_CHECK(is_floating(out.dtype()), "grad", "the function returned a non-float tensor {}", describe(out));
    seed = ones_like(out);
  }

  std::vector<Tensor> grads(static_cast<size_t>(tape.size()));
  int64_t out_id = tape.id_of(out);
  if (out_id >= 0) grads[out_id] = seed;

  auto& nodes = tape.nodes();
  // grad_ready: parameter i is final once the sweep has passed its earliest consumer (ready_at).
  std::vector<std::vector<size_t>> ready_at;
  std::vector<size_t> unused;
  if (grad_ready) {
    std::map<int64_t, size_t> index_of;
    for (size_t i = 0; i < param_ids.size(); ++i) index_of.emplace(param_ids[i], i);
    std::vector<size_t> first(params.size(), nodes.size());
    for (size_t k = 0; k < nodes.size(); ++k)
      for (int64_t id : nodes[k].in_ids)
        if (auto it = index_of.find(id); it != index_of.end()) first[it->second] = std::min(first[it->second], k);
    ready_at.resize(nodes.size());
    for (size_t i = 0; i < first.size(); ++i) (first[i] < nodes.size() ? ready_at[first[i]] : unused).push_back(i);
  }
  auto report = [&](size_t i) {
    const Tensor& g = grads[size_t(param_ids[i])];
    grad_ready(i, g.defined() ? g : zeros_like(params[i]));
  };
  for (size_t k = nodes.size(); k-- > 0;) {
    Node& n = nodes[k];
    bool any = false;
    for (int64_t id : n.out_ids) any |= id >= 0 && grads[id].defined();
    if (any) {
      Grads gout(n.out_ids.size());
      for (size_t j = 0; j < n.out_ids.size(); ++j) {
        int64_t id = n.out_ids[j];
        gout[j] = id >= 0 && grads[id].defined() ? grads[id] : zeros_like(n.outs[j]);
        if (id >= 0 && id != out_id) grads[id] = Tensor();  // consumed: free it early
      }
      const std::vector<int64_t>* outer = tl_current_inputs;
      tl_current_inputs = &n.in_ids;
      Grads gin;
      try {
        gin = n.backward(gout);
      } catch (...) {
        tl_current_inputs = outer;
        throw;
      }
      tl_current_inputs = outer;
      AXON_CHECK(gin.size() == n.in_ids.size(), "grad", "backward of '{}' returned {} gradients for {} inputs",
                 n.op, gin.size(), n.in_ids.size());
      if (tl_anomaly_guards > 0) check_anomaly(n, k, gin, param_ids, nodes);
      for (size_t j = 0; j < gin.size(); ++j) {
        int64_t id = n.in_ids[j];
        if (id < 0 || !gin[j].defined()) continue;
        Tensor g = gin[j];
        if (g.shape() != n.in_shapes[j]) g = sum_to(g, n.in_shapes[j]);
        if (g.dtype() != n.in_dtypes[j]) g = cast(g, n.in_dtypes[j]);
        grads[id] = grads[id].defined() ? add(grads[id], g) : g;
      }
    }
    n.backward = nullptr;  // release saved tensors as the sweep passes
    n.outs.clear();
    if (grad_ready)
      for (size_t i : ready_at[k]) report(i);
  }
  for (size_t i : unused) report(i);

  std::vector<Tensor> result;
  result.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& g = grads[param_ids[i]];
    result.push_back(g.defined() ? g : zeros_like(params[i]));
  }
  return {out, result};
}

}  // namespace axon::autograd
