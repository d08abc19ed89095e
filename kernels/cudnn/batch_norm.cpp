// cuDNN spatial batch norm on channels-last [n, pixels, c] data (cudnn_pool_norm.hpp): the training
// forward and backward (the NHWC persistent kernels for 16-bit data with c % 4 == 0, through the Ex
// entry points when they fuse the ReLU; the plain spatial mode otherwise) and the inference forward.
// Descriptors and workspace sizes of a problem are built once and cached for the process.
#include <axon/kernels/cudnn_pool_norm.hpp>

namespace axon::kernels::cudnn {
bool fused_relu_supported(DType dt, int64_t c) { return (dt == DType::f16 || dt == DType::bf16) && c % 4 == 0; }
}  // namespace axon::kernels::cudnn

#ifndef AXON_HAS_CUDNN
namespace axon::kernels::cudnn {
bool batch_norm_supports(DType, int64_t, int64_t, int64_t) { return false; }
std::size_t batch_norm_reserve_bytes(const BatchNormArgs&) { return 0; }
bool batch_norm_forward_training(const BatchNormArgs&, const void*, void*, const void*, const void*, double, void*,
                                 void*, void*, void*, void*) {
  return false;
}
bool batch_norm_forward_inference(const BatchNormArgs&, const void*, void*, const void*, const void*, const void*,
                                  const void*) {
  return false;
}
bool batch_norm_backward(const BatchNormArgs&, const void*, const void*, const void*, const void*, const void*,
                         const void*, const void*, void*, void*, void*, void*) {
  return false;
}
}  // namespace axon::kernels::cudnn
#else
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cudnn_common.hpp"
#include "pool_norm_runs.hpp"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace axon::kernels::cudnn {

namespace {
using namespace detail;

struct BnPlan {
  cudnnTensorDescriptor_t x = nullptr, param = nullptr;
  cudnnActivationDescriptor_t act = nullptr;  // relu plans only
  cudnnBatchNormMode_t mode = CUDNN_BATCHNORM_SPATIAL;
  cudnnBatchNormOps_t ops = CUDNN_BATCHNORM_OPS_BN;
  std::size_t fwd_workspace = 0, bwd_workspace = 0, reserve = 0;
  bool ok = false;
};

std::unique_ptr<BnPlan> make_plan(const BatchNormArgs& a) {
  const char* op = "batch_norm (cuDNN)";
  auto p = std::make_unique<BnPlan>();
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x), op);
  AXON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->param), op);
  // [n, pixels, c] as NHWC with H = pixels, W = 1: the statistics run over N, H and W either way.
  const int dims[4] = {int(a.n), int(a.c), int(a.pixels), 1};
  bool ok = cudnnSetTensorNdDescriptorEx(p->x, CUDNN_TENSOR_NHWC, data_type(a.dt), 4, dims) == CUDNN_STATUS_SUCCESS;
  p->mode = fused_relu_supported(a.dt, a.c) ? CUDNN_BATCHNORM_SPATIAL_PERSISTENT : CUDNN_BATCHNORM_SPATIAL;
  p->ops = a.relu ? CUDNN_BATCHNORM_OPS_BN_ACTIVATION : CUDNN_BATCHNORM_OPS_BN;
  ok = ok && cudnnDeriveBNTensorDescriptor(p->param, p->x, p->mode) == CUDNN_STATUS_SUCCESS;
  if (a.relu) {
    AXON_CUDNN_CHECK(cudnnCreateActivationDescriptor(&p->act), op);
    ok = ok && cudnnSetActivationDescriptor(p->act, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0) ==
                   CUDNN_STATUS_SUCCESS;
  }
  // Only the fused ReLU needs the Ex entry points (and their workspace and reserve space); the plain
  // batch norm takes the classic ones, which every dtype (f64 included) and layout have.
  if (!a.relu) {
    p->ok = ok;
    return p;
  }
  ok = ok && cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(a.handle, p->mode, p->ops, p->x, nullptr, p->x,
                                                                      p->param, p->act,
                                                                      &p->fwd_workspace) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnGetBatchNormalizationBackwardExWorkspaceSize(a.handle, p->mode, p->ops, p->x, p->x, p->x, nullptr,
                                                               p->x, p->param, p->act,
                                                               &p->bwd_workspace) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnGetBatchNormalizationTrainingExReserveSpaceSize(a.handle, p->mode, p->ops, p->act, p->x,
                                                                  &p->reserve) == CUDNN_STATUS_SUCCESS;
  p->ok = ok;
  return p;
}

std::mutex g_mutex;
BnPlan& plan_for(const BatchNormArgs& a) {
  static std::map<std::vector<int64_t>, std::unique_ptr<BnPlan>> plans;
  std::vector<int64_t> key{static_cast<int64_t>(a.dt), a.n, a.pixels, a.c, a.relu,
                           reinterpret_cast<int64_t>(a.handle)};
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(std::move(key), make_plan(a)).first;
  return *it->second;
}

// A refused call (no kernel for this shape or dtype) is "not supported"; other failures raise.
bool refused(cudnnStatus_t s) { return s == CUDNN_STATUS_NOT_SUPPORTED || s == CUDNN_STATUS_BAD_PARAM; }
}  // namespace

bool batch_norm_supports(DType dt, int64_t n, int64_t pixels, int64_t c) {
  if (dt != DType::f32 && dt != DType::f64 && dt != DType::bf16 && dt != DType::f16) return false;
  // cuDNN's sizes are ints; the unbiased running variance needs two values per channel.
  return n * pixels > 1 && c > 0 && n * pixels * c < (int64_t(1) << 31);
}

std::size_t batch_norm_reserve_bytes(const BatchNormArgs& a) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const BnPlan& p = plan_for(a);
  return p.ok ? p.reserve : 0;
}

bool batch_norm_forward_training(const BatchNormArgs& a, const void* x, void* y, const void* gamma,
                                 const void* bias, double factor, void* running_mean, void* running_var,
                                 void* save_mean, void* save_invstd, void* reserve) {
  const char* op = "batch_norm training (cuDNN)";
  std::lock_guard<std::mutex> lock(g_mutex);
  BnPlan& p = plan_for(a);
  if (!p.ok) return false;
  AXON_CUDNN_CHECK(cudnnSetStream(a.handle, a.stream), op);
  const cudnnStatus_t s =
      a.relu ? cudnnBatchNormalizationForwardTrainingEx(
                   a.handle, p.mode, p.ops, alpha(a.dt), beta(a.dt), p.x, x, nullptr, nullptr, p.x, y, p.param, gamma,
                   bias, factor, running_mean, running_var, a.eps, save_mean, save_invstd, p.act,
                   alloc(a.workspace, p.fwd_workspace), p.fwd_workspace, reserve, p.reserve)
             : cudnnBatchNormalizationForwardTraining(a.handle, p.mode, alpha(a.dt), beta(a.dt), p.x, x, p.x, y,
                                                      p.param, gamma, bias, factor, running_mean, running_var, a.eps,
                                                      save_mean, save_invstd);
  if (refused(s)) {
    p.ok = false;
    return false;
  }
  AXON_CUDNN_CHECK(s, op);
  ++g_pool_norm_runs[kBnTraining];
  return true;
}

bool batch_norm_forward_inference(const BatchNormArgs& a, const void* x, void* y, const void* gamma,
                                  const void* bias, const void* mean, const void* var) {
  const char* op = "batch_norm inference (cuDNN)";
  std::lock_guard<std::mutex> lock(g_mutex);
  BnPlan& p = plan_for(a);
  if (!p.ok) return false;
  AXON_CUDNN_CHECK(cudnnSetStream(a.handle, a.stream), op);
  // The inference kernel has no persistent mode: the plain spatial one reads the same [c] parameters.
  const cudnnStatus_t s = cudnnBatchNormalizationForwardInference(
      a.handle, CUDNN_BATCHNORM_SPATIAL, alpha(a.dt), beta(a.dt), p.x, x, p.x, y, p.param, gamma, bias, mean, var,
      a.eps);
  if (refused(s)) return false;
  AXON_CUDNN_CHECK(s, op);
  ++g_pool_norm_runs[kBnInference];
  return true;
}

bool batch_norm_backward(const BatchNormArgs& a, const void* x, const void* y, const void* dy, const void* gamma,
                         const void* bias, const void* save_mean, const void* save_invstd, void* reserve, void* dx,
                         void* dgamma, void* dbias) {
  const char* op = "batch_norm backward (cuDNN)";
  std::lock_guard<std::mutex> lock(g_mutex);
  BnPlan& p = plan_for(a);
  if (!p.ok) return false;
  AXON_CUDNN_CHECK(cudnnSetStream(a.handle, a.stream), op);
  const cudnnStatus_t s =
      a.relu ? cudnnBatchNormalizationBackwardEx(a.handle, p.mode, p.ops, alpha(a.dt), beta(a.dt), alpha(a.dt),
                                                 beta(a.dt), p.x, x, p.x, y, p.x, dy, nullptr, nullptr, p.x, dx, p.param,
                                                 gamma, bias, dgamma, dbias, a.eps, save_mean, save_invstd, p.act,
                                                 alloc(a.workspace, p.bwd_workspace), p.bwd_workspace, reserve,
                                                 p.reserve)
             : cudnnBatchNormalizationBackward(a.handle, p.mode, alpha(a.dt), beta(a.dt), alpha(a.dt), beta(a.dt), p.x,
                                               x, p.x, dy, p.x, dx, p.param, gamma, dgamma, dbias, a.eps, save_mean,
                                               save_invstd);
  if (refused(s)) return false;
  AXON_CUDNN_CHECK(s, op);
  ++g_pool_norm_runs[kBnBackward];
  return true;
}

}  // namespace axon::kernels::cudnn
#endif  // AXON_HAS_CUDNN
