// predict()'s plans (predict_plan.hpp).
#include "predict_plan.hpp"

#include <algorithm>
#include <memory>

#include <axon/kernels/conv_infer.hpp>
#include <axon/kernels/dense.hpp>
#include <axon/nn_ops.hpp>
#include <axon/out.hpp>

#include "../../../core/src/ops/conv_geometry.hpp"
#include "../../../kernels/cpu/conv_pool_infer.hpp"
#include "../../../kernels/cpu/gemm_small.hpp"
#include "../../../kernels/cpu/parallel.hpp"
#include "../../../core/src/ops/fused_epilogue.hpp"
#include "graph.hpp"
#include "predict_chunks.hpp"

namespace axon::detail {

namespace {

// Every parameter handle of a Params in its (sorted) order: equal lists mean the same tensors.
std::vector<const TensorImpl*> fingerprint(const Params& params) {
  std::vector<const TensorImpl*> f;
  for (const auto& [layer, map] : params)
    for (const auto& [name, t] : map) f.push_back(t.impl_ptr().get());
  return f;
}

bool same_fingerprint(const Params& params, const std::vector<const TensorImpl*>& f) {
  size_t i = 0;
  for (const auto& [layer, map] : params)
    for (const auto& [name, t] : map)
      if (i >= f.size() || f[i++] != t.impl_ptr().get()) return false;
  return i == f.size();
}

bool plannable(const Graph& g, const Tensor& input) {
  if (!input.defined() || input.dim() == 0 || !input.device().is_cpu() || g.nodes.size() < 2) return false;
  int inputs = 0;
  for (const auto& n : g.nodes) {
    if (n->op == "input") ++inputs;
    if (n->precision || !n->ties.empty()) return false;
  }
  return inputs == 1;
}

struct Step {
  const Node* node = nullptr;
  size_t slot = 0;  // where its value goes
  std::string name;
  std::vector<size_t> args;     // slots of its arguments
  std::vector<size_t> release;  // slots dead after it
  ParamMap params;              // its own parameters, checked when the plan was built
  // A dense layer on a contiguous 2-D input: fused_dense_out (the GEMM, then bias and activation in
  // one pass) into `buffer` (kept between calls). The last step has no buffer: it writes into the
  // caller's `out` or a new tensor. When the dense layer's only consumer is the next node and that is a
  // relu / tanh / sigmoid, the activation runs in the same pass (as apply() fuses it): the dense step
  // writes the activation's slot and the activation's step is skipped.
  bool dense = false, skip = false;
  FusedActivation act = FusedActivation::none;
  Tensor kernel, bias, buffer;
  // f32 / f64 with a contiguous kernel and bias on the CPU: fused_dense_out's checks were made when
  // the plan was built (the handles, so the layouts, are fixed while it holds), so a call hands the
  // pointers straight to the CPU kernel, without the op's checks and reshaped views (~1 us a layer,
  // a tenth of a batch-16 call) unless the input itself is not contiguous.
  bool direct = false;
  // Few rows (f32, direct) of a large layer on several threads: each thread a slice of the kernel's
  // rows (K), a contiguous part of it that it streams whole lines of, into its own partial sums
  // (`partial`), added up with the bias and the activation after. gemm() splits such a product by
  // columns, each thread reading 96 of every row's 512 bytes (W2's 3136 x 128 layer, 1.6 MB,
  // which batch 1 reads from L3 on every call).
  int split_k = 0;
  std::vector<float> partial;
  kernels::DenseAct kernel_act = kernels::DenseAct::none;
  // A channels-last f32 conv (its relu absorbed as a dense layer's is) or max pool on an inference
  // primitive (conv_infer.hpp), writing `buffer` (or, last, the result) like a dense step.
  std::shared_ptr<kernels::cpu::InferConv> conv;
  std::shared_ptr<kernels::cpu::InferMaxPool> pool;
  ChunkLayer layer;  // the same as a layer of a chunked run
};

bool f32_contiguous(const Tensor& t) { return !t.defined() || (t.dtype() == DType::f32 && t.is_contiguous()); }

// The inference primitive for a conv node's call on x, or null where the layer's own forward runs.
std::shared_ptr<kernels::cpu::InferConv> infer_conv(const ConvForward& f, const Tensor& x, const Tensor& w,
                                                    const Tensor& b, bool relu, ChunkLayer& layer) {
  if (f.options.channels != Channels::last || !f32_contiguous(x) || !f32_contiguous(w) || !f32_contiguous(b))
    return nullptr;
  layer.is_conv = true;
  layer.conv = conv_geometry(x.shape(), w.shape(), f.options, "conv");
  layer.relu = relu;
  layer.kernel = w;
  layer.bias = b;
  return kernels::cpu::make_infer_conv(layer.conv, b.defined(), relu);
}

// The same for a max pool node whose call on x gave y.
std::shared_ptr<kernels::cpu::InferMaxPool> infer_max_pool(const MaxPoolForward& f, const Tensor& x, const Tensor& y,
                                                           ChunkLayer& layer) {
  const layers::PoolOptions& o = f.options;
  const int64_t nd = x.dim() - 2;
  if (o.channels != Channels::last || !f32_contiguous(x) || nd < 1 || nd > 3 || y.dim() != x.dim()) return nullptr;
  kernels::PoolGeometry g;
  g.n = x.shape()[0];
  g.c = x.shape().back();
  for (int64_t d = 0; d < nd; ++d) {
    const size_t k = static_cast<size_t>(d), at = static_cast<size_t>(3 - nd + d);
    if (o.window_dilations[k] != 1) return nullptr;
    g.in[at] = x.shape()[1 + k];
    g.out[at] = y.shape()[1 + k];
    g.window[at] = o.kernel_size[k];
    g.stride[at] = o.strides[k];
    if (o.padding.mode == PaddingMode::explicit_pads) g.pad_lo[at] = o.padding.pads[k].first;
    if (o.padding.mode == PaddingMode::same)  // the odd cell on the high side, as conv.hpp says
      g.pad_lo[at] = std::max<int64_t>((g.out[at] - 1) * g.stride[at] + g.window[at] - g.in[at], 0) / 2;
  }
  layer.pool = g;
  return kernels::cpu::make_infer_max_pool(g);
}

// Step::split_k: up to this many rows, for kernels from 1 MiB (beyond a core's L2, so read from L3
// on every call; smaller ones, such as the surrogate MLP's 256 KiB, stay with gemm(), whose split
// gives apply()'s bits).
constexpr int64_t kSplitKRows = 4;
constexpr double kSplitKWeights = 1 << 18;

void dense_split_k(Step& s, const float* x, float* y, int64_t m) {
  const int64_t k = s.kernel.size(0), n = s.kernel.size(1), parts = s.split_k;
  const float* w = s.kernel.data<float>();
  float* partial = s.partial.data();
  kernels::cpu::parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t k0 = k * p / parts, k1 = k * (p + 1) / parts;
      kernels::cpu::small_gemm(m, n, k1 - k0, x + k0, k, w + k0 * n, n, partial + p * m * n, n);
    }
  });
  for (int64_t i = 0; i < m * n; ++i) {
    float sum = partial[i];
    for (int64_t p = 1; p < parts; ++p) sum += partial[p * m * n + i];
    y[i] = sum;
  }
  kernels::cpu::dense_epilogue(s.kernel_act, DType::f32, y, s.bias.defined() ? s.bias.data_ptr() : nullptr, m, n);
}

class Plan {
 public:
  // Runs apply()'s walk once on `input`, checking what apply() checks, and records it.
  Plan(const Model& model, const Params& params, const Tensor& input)
      : model_(model), params_(&params), fingerprint_(fingerprint(params)), shape_(input.shape()),
        dtype_(input.dtype()) {
    const Graph& g = model.graph();
    const size_t n = g.nodes.size();
    std::vector<size_t> last_use(n, 0);
    std::vector<int> uses(n, 0);
    for (size_t i = 0; i < n; ++i)
      for (const auto& in : g.nodes[i]->inputs) {
        last_use[g.position.at(in.get())] = i;
        ++uses[g.position.at(in.get())];
      }
    bool absorbed = false;  // the previous dense step runs this activation
    // The reference pass: apply() itself, so every error is the one apply() gives.
    (void)apply(model, params, input);
    std::vector<Tensor> values(n);
    for (size_t i = 0; i < n; ++i) {
      const Node& node = *g.nodes[i];
      if (node.op == "input") {
        input_slot_ = i;
        values[i] = input;
        continue;
      }
      Step s;
      s.skip = absorbed;
      absorbed = false;
      s.node = &node;
      s.slot = i;
      s.name = g.names[i];
      for (const auto& in : node.inputs) s.args.push_back(g.position.at(in.get()));
      for (size_t a : s.args)
        if (last_use[a] == i && a + 1 != n && std::find(s.release.begin(), s.release.end(), a) == s.release.end())
          s.release.push_back(a);
      if (!node.params.empty()) s.params = params.at(s.name);
      std::vector<Tensor> args;
      for (size_t a : s.args) args.push_back(values[a]);
      const Tensor& x = args.empty() ? Tensor() : args[0];
      if (node.op == "dense" && args.size() == 1 && x.dim() == 2 && x.is_contiguous()) {
        s.dense = true;
        s.kernel = s.params.at("kernel");
        if (auto b = s.params.find("bias"); b != s.params.end()) s.bias = b->second;
        s.act = fused_activation(g, i, uses[i]);
        s.kernel_act = kernel_act(s.act, "predict");
        s.direct = x.device().is_cpu() && (x.dtype() == DType::f32 || x.dtype() == DType::f64) &&
                   s.kernel.dtype() == x.dtype() && s.kernel.is_contiguous() &&
                   (!s.bias.defined() || (s.bias.is_contiguous() && s.bias.dtype() == x.dtype()));
        if (s.act != FusedActivation::none) {
          s.slot = i + 1;
          absorbed = true;
        }
        const int64_t m = x.size(0), k = s.kernel.size(0), cols = s.kernel.size(1);
        if (s.direct && x.dtype() == DType::f32 && m <= kSplitKRows && double(k * cols) >= kSplitKWeights)
          s.split_k = static_cast<int>(std::min<int64_t>(kernels::cpu::num_threads(), k / 64));
        if (s.split_k > 1) s.partial.resize(static_cast<size_t>(s.split_k * m * cols));
        else s.split_k = 0;
      }
      ForwardContext ctx{Mode::inference, &default_generator(), s.name, {}};
      values[i] = node.forward(args, s.params, ctx);
      if (const auto* f = node.forward.target<ConvForward>(); f && args.size() == 1) {
        const bool relu = fused_activation(g, i, uses[i]) == FusedActivation::relu;
        s.kernel = s.params.at("kernel");
        if (auto b = s.params.find("bias"); b != s.params.end()) s.bias = b->second;
        s.conv = infer_conv(*f, x, s.kernel, s.bias, relu, s.layer);
        if (s.conv && relu) {
          s.slot = i + 1;
          absorbed = true;
        }
      }
      if (const auto* f = node.forward.target<MaxPoolForward>(); f && args.size() == 1)
        s.pool = infer_max_pool(*f, x, values[i], s.layer);
      if (s.conv || s.pool) s.layer.out_item = values[i].numel() / std::max<int64_t>(values[i].size(0), 1);
      if ((s.dense || s.conv || s.pool) && s.slot + 1 != n) s.buffer = empty(values[i].shape(), values[i].dtype(), values[i].device());
      out_shape_ = values[i].shape();
      out_dtype_ = values[i].dtype();
      steps_.push_back(std::move(s));
    }
    slots_ = n;
    fuse_conv_pools(uses);
    plan_chunks(uses);
  }

  bool busy = false;  // running on this thread

  // A conv step whose only reader is a pool step that conv_pool_forward takes with it: the conv step
  // writes the pool's value, the pool step is skipped.
  void fuse_conv_pools(const std::vector<int>& uses) {
    for (size_t k = 0; k < steps_.size(); ++k) {
      Step& s = steps_[k];
      if (s.skip || !s.conv) continue;
      size_t next = k + 1;
      while (next < steps_.size() && steps_[next].skip) ++next;
      if (next == steps_.size()) break;
      Step& q = steps_[next];
      if (!q.pool || q.args.size() != 1 || q.args[0] != s.slot || uses[s.slot] != 1 ||
          !kernels::cpu::conv_pool_fits(s.layer.conv, q.layer.pool))
        continue;
      s.layer.conv_pool = true;
      s.layer.pool = q.layer.pool;
      s.layer.out_item = q.layer.out_item;
      s.slot = q.slot;
      s.buffer = q.buffer;
      q.skip = true;
    }
  }

  // The leading run of conv and pool steps that a chunked run takes (predict_chunks.hpp): from the
  // input, each step reading only the one before it, whose value nothing else reads, each but the
  // graph's last (the run's output is the last step's kept buffer).
  void plan_chunks(const std::vector<int>& uses) {
    if (shape_.empty() || shape_[0] < 2) return;
    std::vector<ChunkLayer> layers;
    size_t from = input_slot_, first = 0, end = 0;
    int lanes = 1;
    for (size_t k = 0; k < steps_.size(); ++k) {
      const Step& s = steps_[k];
      if (s.skip) continue;
      const bool chained = s.args.size() == 1 && s.args[0] == from && (from == input_slot_ || uses[from] == 1);
      if (!(s.conv || s.pool) || !chained || !s.buffer.defined()) break;
      if (layers.empty()) first = k;
      end = k + 1;
      layers.push_back(s.layer);
      lanes = std::max(lanes, s.conv ? s.conv->parts() : s.pool->parts());
      from = s.slot;
    }
    const int64_t in_item = numel(shape_) / shape_[0];
    chunked_ = ChunkedRun::make(std::move(layers), shape_[0], in_item, lanes);
    chunk_first_ = first;
    chunk_end_ = end;
  }

  bool matches(const Model& model, const Params& params, const Tensor& input) const {
    return &model.graph() == &model_.graph() && &params == params_ && input.dtype() == dtype_ &&
           input.shape() == shape_ && same_fingerprint(params, fingerprint_);
  }

  Tensor run(const Tensor& input, const Tensor& out) {
    // The last dense layer writes into `out` itself when it can (and `out` is not the input).
    const bool into_out = out.defined() && out.is_contiguous() && out.shape() == out_shape_ &&
                          out.dtype() == out_dtype_ && out.device().is_cpu() &&
                          out.impl().storage != input.impl().storage;
    values_.resize(slots_);
    values_[input_slot_] = input;
    Tensor result;
    for (size_t k = 0; k < steps_.size(); ++k) {
      if (chunked_ && k == chunk_first_) {
        const Tensor x = input.contiguous();
        const Step& last = steps_[chunk_end_ - 1];
        chunked_->run(x.data<float>(), last.buffer.data<float>());
        values_[last.slot] = last.buffer;
        k = chunk_end_ - 1;
        continue;
      }
      Step& s = steps_[k];
      if (s.skip) continue;
      const bool last = s.slot + 1 == slots_;
      Tensor y;
      if (s.dense) {
        const Tensor& x = values_[s.args[0]];
        y = !last ? s.buffer : into_out ? out : empty(out_shape_, out_dtype_);
        if (s.split_k && x.is_contiguous())
          dense_split_k(s, x.data<float>(), y.data<float>(), x.size(0));
        else if (s.direct && x.is_contiguous())
          kernels::cpu::dense_forward(s.kernel_act, x.dtype(), x.data_ptr(), s.kernel.data_ptr(),
                                      s.bias.defined() ? s.bias.data_ptr() : nullptr, y.data_ptr(), x.size(0),
                                      s.kernel.size(0), s.kernel.size(1));
        else
          fused_dense_out(y, x, s.kernel, s.bias, s.act);
      } else if (s.conv || s.pool) {
        const Tensor x = values_[s.args[0]].contiguous();
        y = !last ? s.buffer : into_out ? out : empty(out_shape_, out_dtype_);
        if (s.layer.conv_pool)
          kernels::cpu::conv_pool_run(s.layer.conv, s.layer.pool, s.layer.relu, x.data<float>(), s.kernel.data<float>(),
                                      s.bias.defined() ? s.bias.data<float>() : nullptr, y.data<float>(), 0,
                                      x.size(0));
        else if (s.conv)
          s.conv->run(x.data<float>(), s.kernel.data<float>(), s.bias.defined() ? s.bias.data<float>() : nullptr,
                      y.data<float>());
        else
          s.pool->run(x.data<float>(), y.data<float>());
      } else {
        args_.clear();
        for (size_t a : s.args) args_.push_back(values_[a]);
        ForwardContext ctx{Mode::inference, &default_generator(), s.name, {}};
        try {
          y = s.node->forward(args_, s.params, ctx);
        } catch (const Error& e) {
          throw Error(fmt::format("{} [in layer \"{}\" ({})]", e.what(), s.name, s.node->op), e.file(), e.line());
        }
      }
      for (size_t a : s.release) values_[a] = Tensor();
      if (last) result = std::move(y);
      else values_[s.slot] = std::move(y);
    }
    args_.clear();
    std::fill(values_.begin(), values_.end(), Tensor());  // hold nothing of the caller's between calls
    if (out.defined()) return result.impl_ptr() == out.impl_ptr() ? out : copy_into(out, result);
    // A layer's view of a kept buffer (a reshape after a dense layer) must not reach the caller:
    // the next call overwrites it.
    for (const Step& s : steps_)
      if (s.buffer.defined() && s.buffer.impl().storage == result.impl().storage) return result.clone();
    return result;
  }

 private:
  Model model_;  // keeps the graph (whose address is the key) alive
  const Params* params_;
  std::vector<const TensorImpl*> fingerprint_;
  Shape shape_;
  DType dtype_;
  size_t input_slot_ = 0, slots_ = 0;
  std::vector<Step> steps_;
  Shape out_shape_;
  DType out_dtype_ = DType::f32;
  std::vector<Tensor> values_, args_;  // reused between calls
  std::unique_ptr<ChunkedRun> chunked_;   // steps [chunk_first_, chunk_end_), when they run in chunks
  size_t chunk_first_ = 0, chunk_end_ = 0;
};

// Recently used first; a handful, since each holds handles on its params and its buffers.
constexpr size_t kPlansPerThread = 4;
// Shared: a layer's forward may itself call predict (a custom layer around another model), which
// may evict the plan that is running; the running call keeps it alive.
thread_local std::vector<std::shared_ptr<Plan>> t_plans;

}  // namespace

std::optional<Tensor> predict_planned(const Model& model, const Params& params, const Tensor& input, const Tensor& out) {
  const Graph& g = graph_of(model, "predict");
  if (!plannable(g, input)) return std::nullopt;
  auto hit = std::find_if(t_plans.begin(), t_plans.end(), [&](const auto& p) { return p->matches(model, params, input); });
  if (hit == t_plans.end()) {
    auto plan = std::make_shared<Plan>(model, params, input);
    if (t_plans.size() == kPlansPerThread) t_plans.pop_back();
    t_plans.insert(t_plans.begin(), std::move(plan));
  } else if (hit != t_plans.begin()) {
    std::rotate(t_plans.begin(), hit, hit + 1);
  }
  const std::shared_ptr<Plan> plan = t_plans.front();
  if (plan->busy) return std::nullopt;  // the same model inside itself: its buffers are in use
  plan->busy = true;
  struct Idle {
    Plan& p;
    ~Idle() { p.busy = false; }
  } idle{*plan};
  return plan->run(input, out);
}

}  // namespace axon::detail
