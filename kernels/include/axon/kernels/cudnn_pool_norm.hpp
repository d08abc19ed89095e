#pragma once
// cuDNN pooling and batch normalization on channels-last data (CUDA builds with cuDNN), each the
// alternative to a hand-written path: the direct max-pool kernel, the composite average pool and
// batch norm. choose() picks per problem by measured speed on first use, as the convolution plans
// keep cudnnFind's choice: one untimed run of each candidate (lazy initialisation), then one run of
// each between cudaEvents; the faster is kept for the process. Forcing a path (tests, A/B runs):
// force_path(), or AXON_CUDNN_POOL_NORM=cudnn|kernel in the environment at the first choice.
// Without cuDNN every function below reports "not supported" and choose() answers kernel.
#include <axon/kernels/conv.hpp>
#include <axon/kernels/pool.hpp>
#include <cstddef>
#include <functional>
#include <vector>

namespace axon::kernels::cudnn {

enum class Path : int { automatic = 0, cudnn = 1, kernel = 2 };
void force_path(Path p);
Path forced_path();
// The path for the problem `key` (the caller's family, shape, dtype and buffer alignment). with_cudnn
// runs the cuDNN candidate on `s` and returns false when cuDNN refused the problem (then: kernel).
// Measuring waits on the host, so it raises axon::Error inside a graph capture.
Path choose(const std::vector<int64_t>& key, cudaStream_t s, const std::function<bool()>& with_cudnn,
            const std::function<void()>& with_kernel);

// Calls made on cuDNN since the start (the tests' proof of the path taken).
struct PoolNormRuns {
  int64_t pool_forward = 0, pool_backward = 0, bn_training = 0, bn_inference = 0, bn_backward = 0;
};
PoolNormRuns pool_norm_runs();

// Pooling of a contiguous [N, D, H, W, C] array (PoolGeometry of pool.hpp; 1-D/2-D pooling have unit
// leading axes). max: NaN propagates, padding never wins; the backward sends dy to the window's
// maximum (deterministic mode; ties and NaNs, which random data avoids, may send it to another cell
// than the direct kernel's first one). avg: the sum over the window divided by the window's full size
// (padding counted). cuDNN takes symmetric padding below the window size and no window dilation:
// pool_supports says whether `g` (whose output size fixes the high padding) is such a problem.
enum class PoolMode : int { max = 0, avg = 1 };
bool pool_supports(const PoolGeometry& g, DType dt);
// Each returns false (nothing written) when cuDNN refuses the problem.
bool pool_forward(PoolMode m, DType dt, const void* x, void* y, const PoolGeometry& g, cudnnContext* h,
                  cudaStream_t s);
bool pool_backward(PoolMode m, DType dt, const void* x, const void* y, const void* dy, void* dx,
                   const PoolGeometry& g, cudnnContext* h, cudaStream_t s);

// Spatial batch norm of a contiguous channels-last [n, pixels, c] array. gamma, bias, the running and
// saved statistics ([c]) are in the statistics dtype: f64 for f64 data, f32 otherwise.
struct BatchNormArgs {
  DType dt = DType::f32;
  int64_t n = 0, pixels = 0, c = 0;
  double eps = 1e-5;
  bool relu = false;  // training only: y = relu(batch norm), fused (fused_relu_supported)
  cudnnContext* handle = nullptr;
  cudaStream_t stream = nullptr;
  Workspace workspace;  // scratch, valid until the stream passes the call
};
bool batch_norm_supports(DType dt, int64_t n, int64_t pixels, int64_t c);
// cuDNN fuses the ReLU (its Ex entry points) only into its NHWC persistent kernels: 16-bit data,
// c % 4 == 0. The plain batch norm takes the classic entry points, which have every dtype.
bool fused_relu_supported(DType dt, int64_t c);
// Bytes the training forward hands to its backward (cuDNN's reserve space).
std::size_t batch_norm_reserve_bytes(const BatchNormArgs& a);
// Training: y = [relu](gamma (x - mean) invstd + bias) with the batch statistics (biased variance);
// running_mean / running_var updated in place, r = (1 - factor) r + factor batch with the unbiased
// batch variance (PyTorch's convention, factor = momentum); save_mean and save_invstd
// (1 / sqrt(var + eps)) written for the backward. Each returns false (nothing written) when cuDNN has
// no kernel for the problem.
bool batch_norm_forward_training(const BatchNormArgs& a, const void* x, void* y, const void* gamma,
                                 const void* bias, double factor, void* running_mean, void* running_var,
                                 void* save_mean, void* save_invstd, void* reserve);
// Inference: y = gamma (x - mean) / sqrt(var + eps) + bias (no activation).
bool batch_norm_forward_inference(const BatchNormArgs& a, const void* x, void* y, const void* gamma,
                                  const void* bias, const void* mean, const void* var);
// dx, dgamma, dbias of the training forward (y: its output, read with relu).
bool batch_norm_backward(const BatchNormArgs& a, const void* x, const void* y, const void* dy,
                         const void* gamma, const void* bias, const void* save_mean, const void* save_invstd,
                         void* reserve, void* dx, void* dgamma, void* dbias);

}  // namespace axon::kernels::cudnn
