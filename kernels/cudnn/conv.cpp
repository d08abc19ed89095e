// cuDNN convolutions (legacy descriptor API, still shipped in cuDNN 9): channels-last (NHWC/NDHWC)
// tensors, the kernel as [Cout, K..., C/G] (cuDNN's NHWC filter layout; the front-end transposes
// axon's HWIO kernel), cross-correlation or, with Setup::flip_kernel, true convolution (the kernel
// flipped: the transposed problems of conv_compute.cpp). 1-D problems run as 2-D with a unit height.
// The plan for a problem (its descriptors and the algorithm of each direction, picked by
// cudnnFind*Ex on the first call, i.e. measured once per shape like PyTorch's cudnn.benchmark) is
// cached for the process; one templated runner serves the three directions.
// Without cuDNN (AXON_HAS_CUDNN unset) only the run counters and stubs that support nothing are
// compiled, and every CUDA conv takes the im2col path.
#include <atomic>
#include <axon/kernels/conv.hpp>

namespace axon::kernels::cudnn {

namespace {
std::atomic<int64_t> g_runs[3];  // forward, backward data, backward filter
}  // namespace

bool available() {
#ifdef AXON_HAS_CUDNN
  return true;
#else
  return false;
#endif
}

Runs runs() { return {g_runs[0].load(), g_runs[1].load(), g_runs[2].load()}; }

}  // namespace axon::kernels::cudnn

#ifdef AXON_HAS_CUDNN
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cudnn_common.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace axon::kernels::cudnn {

namespace {

using namespace detail;

constexpr std::size_t kFindWorkspaceBytes = std::size_t(256) << 20;
constexpr int kMaxAlgos = 16;

// What cudnnFind*Ex chose for one direction of a plan. cudnnFind*Ex reports (algorithm, math type)
// pairs and each workspace size holds for its pair; the descriptor is searched with the plan's
// `search_math` and set to the found pair's math type before each run.
template <class Algo>
struct Found {
  // 0: not searched yet, 1: found, -1: cuDNN has no algorithm (the caller falls back to im2col).
  int state = 0;
  Algo algo{};
  std::size_t workspace = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Found<cudnnConvolutionFwdAlgo_t> fwd;
  Found<cudnnConvolutionBwdDataAlgo_t> bwd_data;
  Found<cudnnConvolutionBwdFilterAlgo_t> bwd_filter;
  cudnnMathType_t search_math = CUDNN_DEFAULT_MATH;
};

std::vector<int64_t> plan_key(DType dt, const ConvGeometry& g, const Setup& s, int64_t align) {
  std::vector<int64_t> k{static_cast<int64_t>(dt),
                         g.nd,
                         g.batch,
                         g.channels,
                         g.groups,
                         g.out_channels,
                         s.allow_tf32,
                         s.flip_kernel,
                         reinterpret_cast<int64_t>(s.handle),
                         align};
  for (int d = 0; d < g.nd; ++d)
    for (int64_t v : {g.in[d], g.kernel[d], g.stride[d], g.pad_lo[d], g.k_dil[d]}) k.push_back(v);
  return k;
}

// Builds descriptors in cuDNN's NCHW dimension order with NHWC strides.
std::unique_ptr<Plan> make_plan(DType dt, const ConvGeometry& g, const Setup& s) {
  const char* op = "conv (cuDNN)";
  auto p = std::make_unique<Plan>();
  const int nd = std::max(g.nd, 2);
  const int lead = nd - g.nd;  // unit spatial dims in front for 1-D
  std::vector<int> xd{int(g.batch), int(g.channels)}, yd{int(g.batch), int(g.out_channels)},
      wd{int(g.out_channels), int(g.channels / g.groups)};
  std::vector<int> pad, stride, dil;
  for (int d = 0; d < nd; ++d) {
    const bool real = d >= lead;
    const int s = d - lead;
    xd.push_back(real ? int(g.in[s]) : 1);
    yd.push_back(real ? int(g.out[s]) : 1);
    wd.push_back(real ? int(g.kernel[s]) : 1);
    pad.push_back(real ? int(g.pad_lo[s]) : 0);
    stride.push_back(real ? int(g.stride[s]) : 1);
    dil.push_back(real ? int(g.k_dil[s]) : 1);
  }
  const cudnnDataType_t t = data_type(dt);
  const cudnnDataType_t compute = dt == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x), op);
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y), op);
  AXON_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w), op);
  AXON_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv), op);
  // A problem cuDNN's descriptors reject goes to the im2col path (state -1), as does one that
  // cudnnFind*Ex finds no algorithm for.
  bool ok = true;
  ok &= cudnnSetTensorNdDescriptorEx(p->x, CUDNN_TENSOR_NHWC, t, nd + 2, xd.data()) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetTensorNdDescriptorEx(p->y, CUDNN_TENSOR_NHWC, t, nd + 2, yd.data()) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetFilterNdDescriptor(p->w, t, CUDNN_TENSOR_NHWC, nd + 2, wd.data()) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetConvolutionNdDescriptor(p->conv, nd, pad.data(), stride.data(), dil.data(),
                                        s.flip_kernel ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION,
                                        compute) == CUDNN_STATUS_SUCCESS;
  ok &= cudnnSetConvolutionGroupCount(p->conv, int(g.groups)) == CUDNN_STATUS_SUCCESS;
  // f32: exact FMA math unless TF32 is allowed; 16-bit types: tensor cores with f32 accumulation.
  const cudnnMathType_t math = dt == DType::f32 && !s.allow_tf32 ? CUDNN_FMA_MATH
                               : dt == DType::f64        ? CUDNN_DEFAULT_MATH
                                                         : CUDNN_TENSOR_OP_MATH;
  ok &= cudnnSetConvolutionMathType(p->conv, math) == CUDNN_STATUS_SUCCESS;
  p->search_math = math;
  if (!ok) p->fwd.state = p->bwd_data.state = p->bwd_filter.state = -1;
  return p;
}

std::mutex g_mutex;
std::map<std::vector<int64_t>, std::unique_ptr<Plan>>& plans() {
  static std::map<std::vector<int64_t>, std::unique_ptr<Plan>> m;
  return m;
}

Plan& plan_for(DType dt, const ConvGeometry& g, const Setup& s, int64_t align) {
  auto key = plan_key(dt, g, s, align);
  auto& m = plans();
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::move(key), make_plan(dt, g, s)).first;
  return *it->second;
}

// The fastest successful algorithm of a cudnnFind*Ex result list (sorted by time by cuDNN), or null.
template <class Perf>
const Perf* best(cudnnStatus_t status, const Perf* perfs, int n) {
  if (status != CUDNN_STATUS_SUCCESS) return nullptr;
  for (int i = 0; i < n; ++i)
    if (perfs[i].status == CUDNN_STATUS_SUCCESS) return &perfs[i];
  return nullptr;
}

// The math type to run a found algorithm with: its own, except that exact f32 (FMA) stays FMA so that
// TF32 never slips in when it is not allowed.
cudnnMathType_t found_math(const Plan& p, cudnnMathType_t m) {
  return p.search_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : m;
}

// The three directions, each with its algorithm search and its call. Operands (a, b, c) are
// (x, w, y) forward, (dy, w, dx) backward data and (x, dy, dw) backward filter; c is written.
struct Forward {
  static constexpr int index = 0;
  static constexpr const char* op = "conv (cuDNN forward)";
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  static auto& found(Plan& p) { return p.fwd; }
  static cudnnStatus_t find(cudnnContext* h, const Plan& p, const void* a, const void* b, void* c, int* n,
                            Perf* perfs, void* ws, std::size_t bytes) {
    return cudnnFindConvolutionForwardAlgorithmEx(h, p.x, a, p.w, b, p.conv, p.y, c, kMaxAlgos, n, perfs, ws,
                                                  bytes);
  }
  static cudnnStatus_t run(cudnnContext* h, const Plan& p, const void* alpha, const void* a, const void* b,
                           const void* beta, void* c, void* ws) {
    return cudnnConvolutionForward(h, alpha, p.x, a, p.w, b, p.conv, p.fwd.algo, ws, p.fwd.workspace, beta, p.y,
                                   c);
  }
};
struct BackwardData {
  static constexpr int index = 1;
  static constexpr const char* op = "conv (cuDNN backward data)";
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  static auto& found(Plan& p) { return p.bwd_data; }
  static cudnnStatus_t find(cudnnContext* h, const Plan& p, const void* a, const void* b, void* c, int* n,
                            Perf* perfs, void* ws, std::size_t bytes) {
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, p.w, b, p.y, a, p.conv, p.x, c, kMaxAlgos, n, perfs,
                                                       ws, bytes);
  }
  static cudnnStatus_t run(cudnnContext* h, const Plan& p, const void* alpha, const void* a, const void* b,
                           const void* beta, void* c, void* ws) {
    return cudnnConvolutionBackwardData(h, alpha, p.w, b, p.y, a, p.conv, p.bwd_data.algo, ws,
                                        p.bwd_data.workspace, beta, p.x, c);
  }
};
struct BackwardFilter {
  static constexpr int index = 2;
  static constexpr const char* op = "conv (cuDNN backward filter)";
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  static auto& found(Plan& p) { return p.bwd_filter; }
  static cudnnStatus_t find(cudnnContext* h, const Plan& p, const void* a, const void* b, void* c, int* n,
                            Perf* perfs, void* ws, std::size_t bytes) {
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p.x, a, p.y, b, p.conv, p.w, c, kMaxAlgos, n, perfs,
                                                         ws, bytes);
  }
  static cudnnStatus_t run(cudnnContext* h, const Plan& p, const void* alpha, const void* a, const void* b,
                           const void* beta, void* c, void* ws) {
    return cudnnConvolutionBackwardFilter(h, alpha, p.x, a, p.y, b, p.conv, p.bwd_filter.algo, ws,
                                          p.bwd_filter.workspace, beta, p.w, c);
  }
};

// One direction: the plan for the problem, its algorithm measured on first use, then the call.
template <class Dir>
bool run(DType dt, const void* a, const void* b, void* c, const ConvGeometry& g, const Setup& s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  AXON_CUDNN_CHECK(cudnnSetStream(s.handle, s.stream), Dir::op);
  Plan& p = plan_for(dt, g, s, alignment({a, b, c}));
  auto& f = Dir::found(p);
  if (f.state == 0) {
    // REVIEW(gpu): the plan cache is keyed by buffer alignment too; if a compiled conv net fails here
    // although its warmup ran, the capture's buffers (graph allocations) key differently.
    check_not_capturing(s.stream, Dir::op, "choosing the algorithm for a new convolution shape (cudnnFind)");
    typename Dir::Perf perfs[kMaxAlgos];
    int n = 0;
    void* scratch = alloc(s.workspace, kFindWorkspaceBytes);
    AXON_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, p.search_math), Dir::op);
    const auto* b_perf = best(Dir::find(s.handle, p, a, b, c, &n, perfs, scratch, kFindWorkspaceBytes), perfs, n);
    f.state = b_perf ? 1 : -1;
    if (b_perf) {
      f.algo = b_perf->algo;
      f.workspace = b_perf->memory;
      f.math = found_math(p, b_perf->mathType);
    }
  }
  if (f.state < 0) return false;
  AXON_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, f.math), Dir::op);
  void* work = alloc(s.workspace, f.workspace);
  AXON_CUDNN_CHECK(Dir::run(s.handle, p, alpha(dt), a, b, beta(dt), c, work), Dir::op);
  ++g_runs[Dir::index];
  return true;
}

}  // namespace

bool supports(const ConvGeometry& g, DType dt) {
  if (dt != DType::f32 && dt != DType::f64 && dt != DType::bf16 && dt != DType::f16) return false;
  if (g.nd < 1 || g.nd > 3) return false;
  for (int d = 0; d < g.nd; ++d)
    if (g.in_dil[d] != 1 || g.pad_lo[d] != g.pad_hi[d] || g.pad_lo[d] < 0) return false;
  // cuDNN's dimensions are ints.
  const int64_t big = int64_t(1) << 31;
  return g.batch * g.in_pixels() * g.channels < big && g.batch * g.out_pixels() * g.out_channels < big;
}

bool forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g, const Setup& s) {
  return run<Forward>(dt, x, w, y, g, s);
}
bool backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g, const Setup& s) {
  return run<BackwardData>(dt, dy, w, dx, g, s);
}
bool backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g, const Setup& s) {
  return run<BackwardFilter>(dt, x, dy, dw, g, s);
}

}  // namespace axon::kernels::cudnn

#else
// The backend table names these in every CUDA build: without cuDNN no problem is supported.
namespace axon::kernels::cudnn {
bool supports(const ConvGeometry&, DType) { return false; }
bool forward(DType, const void*, const void*, void*, const ConvGeometry&, const Setup&) { return false; }
bool backward_data(DType, const void*, const void*, void*, const ConvGeometry&, const Setup&) { return false; }
bool backward_filter(DType, const void*, const void*, void*, const ConvGeometry&, const Setup&) { return false; }
}  // namespace axon::kernels::cudnn
#endif  // AXON_HAS_CUDNN
