// oneDNN convolutions on axon's layouts: activations channels-last ([N, D..., C] as oneDNN's
// n(d)(h)wc), kernels HWIO ([K..., C/G, Cout]) described by their strides, so nothing is copied
// but the kernel, reordered into the blocked layout oneDNN's JIT kernels take ("any"; a plain
// layout would send it to its slower GEMM-based kernels), and the kernel gradient back.
// The batch is split across the kernels' pool, one primitive call per thread (dnnl_runtime.hpp);
// the kernel gradient's per-thread partials are summed in thread order, so results do not depend on
// scheduling. Primitives are created once per shape (creation costs milliseconds) and cached.
#include <axon/kernels/conv.hpp>

#ifdef AXON_HAS_DNNL
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "conv_geometry.hpp"
#include "dnnl_conv_desc.hpp"
#include "dnnl_runtime.hpp"

namespace axon::kernels::cpu {

namespace onednn {

bool conv_supported(const ConvGeometry& g) {
  if (g.nd < 1 || g.nd > 3 || g.groups < 1 || g.batch < 1) return false;
  for (int d = 0; d < g.nd; ++d)
    if (g.in_dil[d] != 1 || g.pad_lo[d] < 0 || g.pad_hi[d] < 0) return false;
  return true;
}

dnnl::memory::desc conv_activation(int nd, const int64_t* px, int64_t rows, int64_t n, int64_t channels) {
  dnnl::memory::dims dims{n, channels}, strides(2 + nd);
  int64_t s = channels;
  for (int d = nd - 1; d >= 0; --d) {
    const int64_t size = d == 0 ? rows : px[d];
    dims.insert(dims.begin() + 2, size);
    strides[2 + d] = s;
    s *= size;
  }
  strides[1] = 1;
  strides[0] = s;
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

dnnl::memory::desc conv_kernel(const ConvGeometry& g) {
  const int64_t cg = g.channels / g.groups, coutg = g.out_channels / g.groups;
  dnnl::memory::dims dims, strides;
  if (g.groups == 1) {
    dims = {g.out_channels, cg};
    strides = {1, g.out_channels};
  } else {
    dims = {g.groups, coutg, cg};
    strides = {coutg, 1, g.out_channels};
  }
  const size_t spatial = dims.size();
  int64_t s = cg * g.out_channels;
  for (int d = g.nd - 1; d >= 0; --d) {
    dims.insert(dims.begin() + spatial, g.kernel[d]);
    strides.insert(strides.begin() + spatial, s);
    s *= g.kernel[d];
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

dnnl::memory::desc any_layout(const dnnl::memory::desc& md) {
  return dnnl::memory::desc(md.dims(), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

dnnl::memory::desc conv_bias(const ConvGeometry& g) {
  return dnnl::memory::desc({g.out_channels}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
}

ConvWindow conv_window(const ConvGeometry& g) {
  ConvWindow w;
  for (int d = 0; d < g.nd; ++d) {
    w.strides.push_back(g.stride[d]);
    w.dilates.push_back(g.k_dil[d] - 1);
    w.lo.push_back(g.pad_lo[d]);
    w.hi.push_back(g.pad_hi[d]);
  }
  return w;
}

dnnl::primitive_attr attr_relu(bool relu) {
  dnnl::primitive_attr a = attr();
  if (relu) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    a.set_post_ops(po);
  }
  return a;
}

dnnl::memory mem(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, engine(), const_cast<void*>(p));
}

}  // namespace onednn

namespace {

using dnnl::memory;
using onednn::attr;
using onednn::engine;
using onednn::mem;
using Args = std::unordered_map<int, memory>;

// The forward's fused variants add the bias (forward_bias*) and / or relu (*_relu) in the primitive.
enum class Dir { forward, backward_data, backward_filter, forward_bias, forward_relu, forward_bias_relu };
bool is_forward(Dir d) { return d == Dir::forward || d >= Dir::forward_bias; }
bool has_bias(Dir d) { return d == Dir::forward_bias || d == Dir::forward_bias_relu; }
bool has_relu(Dir d) { return d == Dir::forward_relu || d == Dir::forward_bias_relu; }

// One direction's primitive for one batch size (the batch of a thread's slice).
struct Plan {
  dnnl::primitive prim;
  dnnl::primitive_desc_base pd;
  memory::desc x, y, w_user, w_prim;  // w_prim: the kernel (or its gradient) as the primitive takes it
  memory::desc bias;                  // the fused forward's bias, when it takes one
  dnnl::reorder w_reorder;            // w_user -> w_prim (forward, backward data) or back (filter)
  dnnl::reorder::primitive_desc reorder_pd;
  bool reorder = false;
};

// The kernel's reorder between the user's layout and the primitive's, where they differ.
void finish_plan(Plan& plan, Dir dir) {
  using namespace dnnl;
  plan.reorder = plan.w_prim != plan.w_user;
  if (plan.reorder) {
    const bool to_prim = dir != Dir::backward_filter;
    const memory::desc& from = to_prim ? plan.w_user : plan.w_prim;
    const memory::desc& to = to_prim ? plan.w_prim : plan.w_user;
    plan.reorder_pd = reorder::primitive_desc(engine(), from, engine(), to, attr());
    plan.w_reorder = reorder(plan.reorder_pd);
  }
}

std::unique_ptr<Plan> make_plan(Dir dir, const ConvGeometry& g, int64_t batch) {
  using namespace dnnl;
  const memory::desc x = onednn::conv_activation(g.nd, g.in, g.in[0], batch, g.channels);
  const memory::desc y = onednn::conv_activation(g.nd, g.out, g.out[0], batch, g.out_channels);
  const memory::desc w_user = onednn::conv_kernel(g), w_any = onednn::any_layout(w_user);
  const auto [strides, dilates, lo, hi] = onednn::conv_window(g);
  const auto alg = algorithm::convolution_direct;
  const convolution_forward::primitive_desc fwd(
      convolution_forward::desc(prop_kind::forward_training, alg, x, w_any, y, strides, dilates, lo, hi), attr(),
      engine());
  auto plan = std::make_unique<Plan>();
  plan->x = x;
  plan->y = y;
  plan->w_user = w_user;
  switch (dir) {
    case Dir::forward:
    case Dir::forward_bias:
    case Dir::forward_relu:
    case Dir::forward_bias_relu: {
      const convolution_forward::primitive_desc pd =
          dir == Dir::forward ? fwd
                              : convolution_forward::primitive_desc(
                                    convolution_forward::desc(prop_kind::forward_training, alg, x, w_any,
                                                              has_bias(dir) ? onednn::conv_bias(g) : memory::desc(),
                                                              y, strides, dilates, lo, hi),
                                    onednn::attr_relu(has_relu(dir)), engine());
      plan->prim = convolution_forward(pd);
      plan->pd = pd;
      plan->w_prim = pd.weights_desc();
      if (has_bias(dir)) plan->bias = pd.bias_desc();
      break;
    }
    case Dir::backward_data: {
      const convolution_backward_data::primitive_desc pd(
          convolution_backward_data::desc(alg, x, w_any, y, strides, dilates, lo, hi), attr(), engine(), fwd);
      plan->prim = convolution_backward_data(pd);
      plan->pd = pd;
      plan->w_prim = pd.weights_desc();
      break;
    }
    case Dir::backward_filter: {
      const convolution_backward_weights::primitive_desc pd(
          convolution_backward_weights::desc(alg, x, w_any, y, strides, dilates, lo, hi), attr(), engine(), fwd);
      plan->prim = convolution_backward_weights(pd);
      plan->pd = pd;
      plan->w_prim = pd.diff_weights_desc();
      break;
    }
  }
  finish_plan(*plan, dir);
  return plan;
}

// The cached plan, or nullptr when oneDNN has no primitive for the problem (remembered too).
const Plan* plan_for(Dir dir, const ConvGeometry& g, int64_t batch) {
  static std::mutex mu;
  static auto* cache = new std::map<conv_detail::ConvKey, std::unique_ptr<Plan>>();  // never destroyed
  ConvGeometry sliced = g;
  sliced.batch = batch;
  const auto key = conv_detail::conv_key(int64_t(dir), sliced);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(key);
  if (it == cache->end()) {
    std::unique_ptr<Plan> p;
    try {
      onednn::OneOmpThread one;
      p = make_plan(dir, g, batch);
    } catch (const dnnl::error&) {
      p = nullptr;
    }
    it = cache->emplace(key, std::move(p)).first;
  }
  return it->second.get();
}

// The batch split into at most num_threads() slices whose sizes differ by at most one, so there are
// at most two plans (sizes `base` and `base + 1`, the first `rem` slices the larger).
struct Slices {
  int64_t count, base, rem;
  int64_t begin(int64_t s) const { return s * base + std::min(s, rem); }
  int64_t size(int64_t s) const { return base + (s < rem ? 1 : 0); }
};
Slices slices(int64_t batch) {
  const int64_t count = std::min<int64_t>(num_threads(), batch);
  return {count, batch / count, batch % count};
}

// The plans for each slice size, or false when oneDNN cannot run one of them.
struct Plans {
  const Plan* small = nullptr;
  const Plan* large = nullptr;  // for the first `rem` slices
  const Plan* of(const Slices& s, int64_t i) const { return i < s.rem ? large : small; }
};
bool plans(Dir dir, const ConvGeometry& g, const Slices& s, Plans& p) {
  p.small = s.base > 0 ? plan_for(dir, g, s.base) : nullptr;
  p.large = s.rem > 0 ? plan_for(dir, g, s.base + 1) : nullptr;
  return (s.base == 0 || p.small) && (s.rem == 0 || p.large);
}

void reorder(const Plan& plan, const memory& from, const memory& to) {
  Args args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  onednn::add_scratchpad(plan.reorder_pd, args);
  onednn::execute(plan.w_reorder, args);
}

// The kernel in each plan's layout (one reorder per distinct plan), or the user's where it is the same.
struct Kernels {
  std::vector<float> small_buf, large_buf;
  memory small, large;
};
Kernels kernels_for(const Plans& p, const float* w) {
  Kernels k;
  auto one = [&](const Plan* plan, std::vector<float>& buf, memory& m) {
    if (!plan) return;
    if (!plan->reorder) {
      m = mem(plan->w_user, w);
      return;
    }
    if (plan == p.large && p.small && p.small->w_prim == plan->w_prim) {
      m = mem(plan->w_prim, k.small_buf.data());
      return;
    }
    buf.resize(plan->w_prim.get_size() / sizeof(float));
    m = mem(plan->w_prim, buf.data());
    reorder(*plan, mem(plan->w_user, w), m);
  };
  one(p.small, k.small_buf, k.small);
  one(p.large, k.large_buf, k.large);
  return k;
}

bool run_data_direction(Dir dir, const float* in, const float* w, float* out, const ConvGeometry& g,
                        const float* bias = nullptr) {
  if (!onednn::conv_supported(g)) return false;
  const Slices s = slices(g.batch);
  Plans p;
  if (!plans(dir, g, s, p)) return false;
  const Kernels k = kernels_for(p, w);
  const bool fwd = is_forward(dir);
  const int64_t in_item = (fwd ? g.in_pixels() * g.channels : g.out_pixels() * g.out_channels);
  const int64_t out_item = (fwd ? g.out_pixels() * g.out_channels : g.in_pixels() * g.channels);
  parallel_for(s.count, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t i = s0; i < s1; ++i) {
      const Plan* plan = p.of(s, i);
      const int64_t n0 = s.begin(i);
      const memory a = mem(fwd ? plan->x : plan->y, in + n0 * in_item);
      const memory b = mem(fwd ? plan->y : plan->x, out + n0 * out_item);
      Args args{{DNNL_ARG_WEIGHTS, plan == p.large ? k.large : k.small}};
      args.insert({fwd ? DNNL_ARG_SRC : DNNL_ARG_DIFF_DST, a});
      args.insert({fwd ? DNNL_ARG_DST : DNNL_ARG_DIFF_SRC, b});
      if (has_bias(dir)) args.insert({DNNL_ARG_BIAS, mem(plan->bias, bias)});
      onednn::add_scratchpad(plan->pd, args);
      onednn::execute(plan->prim, args);
    }
  });
  return true;
}

}  // namespace

bool onednn_available() { return true; }

bool onednn_conv_forward(const float* x, const float* w, float* y, const ConvGeometry& g) {
  return run_data_direction(Dir::forward, x, w, y, g);
}

bool onednn_conv_forward_bias_relu(const float* x, const float* w, const float* b, bool relu, float* y,
                                   const ConvGeometry& g) {
  const Dir dir = b != nullptr ? (relu ? Dir::forward_bias_relu : Dir::forward_bias)
                               : (relu ? Dir::forward_relu : Dir::forward);
  return run_data_direction(dir, x, w, y, g, b);
}

bool onednn_conv_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g) {
  return run_data_direction(Dir::backward_data, dy, w, dx, g);
}

bool onednn_conv_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g) {
  if (!onednn::conv_supported(g)) return false;
  const Slices s = slices(g.batch);
  Plans p;
  if (!plans(Dir::backward_filter, g, s, p)) return false;
  const int64_t wsize = g.kernel_pixels() * (g.channels / g.groups) * g.out_channels;
  const int64_t x_item = g.in_pixels() * g.channels, y_item = g.out_pixels() * g.out_channels;
  // Slice 0 writes dw, the others a partial each, summed below in slice order.
  std::vector<float> partial(static_cast<size_t>((s.count - 1) * wsize));
  parallel_for(s.count, 1, [&](int64_t s0, int64_t s1) {
    std::vector<float> blocked;
    for (int64_t i = s0; i < s1; ++i) {
      const Plan* plan = p.of(s, i);
      const int64_t n0 = s.begin(i);
      float* acc = i == 0 ? dw : partial.data() + (i - 1) * wsize;
      memory user = mem(plan->w_user, acc), target = user;
      if (plan->reorder) {
        blocked.resize(plan->w_prim.get_size() / sizeof(float));
        target = mem(plan->w_prim, blocked.data());
      }
      Args args{{DNNL_ARG_SRC, mem(plan->x, x + n0 * x_item)},
                {DNNL_ARG_DIFF_DST, mem(plan->y, dy + n0 * y_item)},
                {DNNL_ARG_DIFF_WEIGHTS, target}};
      onednn::add_scratchpad(plan->pd, args);
      onednn::execute(plan->prim, args);
      if (plan->reorder) reorder(*plan, target, user);
    }
  });
  for (int64_t i = 1; i < s.count; ++i) {
    const float* q = partial.data() + (i - 1) * wsize;
    for (int64_t j = 0; j < wsize; ++j) dw[j] += q[j];
  }
  return true;
}

}  // namespace axon::kernels::cpu

#else  // without oneDNN: every problem goes to the im2col kernels

namespace axon::kernels::cpu {
bool onednn_available() { return false; }
bool onednn_conv_forward(const float*, const float*, float*, const ConvGeometry&) { return false; }
bool onednn_conv_backward_data(const float*, const float*, float*, const ConvGeometry&) { return false; }
bool onednn_conv_forward_bias_relu(const float*, const float*, const float*, bool, float*, const ConvGeometry&) {
  return false;
}
bool onednn_conv_backward_filter(const float*, const float*, float*, const ConvGeometry&) { return false; }
}  // namespace axon::kernels::cpu

#endif
