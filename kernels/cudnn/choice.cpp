// The per-problem choice between a cuDNN call and the hand-written path (cudnn_pool_norm.hpp), and
// the cuDNN run counters of pooling and batch norm.
#include <cuda_runtime_api.h>

#include <atomic>
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/cudnn_pool_norm.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "pool_norm_runs.hpp"

namespace axon::kernels::cudnn {

namespace detail {
std::atomic<int64_t> g_pool_norm_runs[5];
}

namespace {
#ifdef AXON_HAS_CUDNN
// Recursive: a candidate (a composite of ops) may itself reach a choice for another problem.
std::recursive_mutex g_mutex;
std::map<std::vector<int64_t>, Path>& decisions() {
  static std::map<std::vector<int64_t>, Path> m;
  return m;
}
#endif
Path from_env() {
  const char* v = std::getenv("AXON_CUDNN_POOL_NORM");
  if (v && std::strcmp(v, "cudnn") == 0) return Path::cudnn;
  if (v && std::strcmp(v, "kernel") == 0) return Path::kernel;
  return Path::automatic;
}
std::atomic<int> g_forced{-1};  // -1: not read from the environment yet

#ifdef AXON_HAS_CUDNN
// Milliseconds of one run of f on s, between two events.
float time_ms(cudaStream_t s, const std::function<void()>& f) {
  const char* op = "cuDNN pooling/batch norm path choice";
  cudaEvent_t a, b;
  AXON_CUDA_CHECK(cudaEventCreate(&a), op);
  AXON_CUDA_CHECK(cudaEventCreate(&b), op);
  float ms = 0;
  try {
    AXON_CUDA_CHECK(cudaEventRecord(a, s), op);
    f();
    AXON_CUDA_CHECK(cudaEventRecord(b, s), op);
    AXON_CUDA_CHECK(cudaEventSynchronize(b), op);
    AXON_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b), op);
  } catch (...) {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    throw;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms;
}
#endif
}  // namespace

void force_path(Path p) { g_forced = static_cast<int>(p); }
Path forced_path() {
  int f = g_forced.load();
  if (f < 0) {
    f = static_cast<int>(from_env());
    g_forced = f;
  }
  return static_cast<Path>(f);
}

PoolNormRuns pool_norm_runs() {
  using detail::g_pool_norm_runs;
  return {g_pool_norm_runs[0].load(), g_pool_norm_runs[1].load(), g_pool_norm_runs[2].load(),
          g_pool_norm_runs[3].load(), g_pool_norm_runs[4].load()};
}

Path choose(const std::vector<int64_t>& key, cudaStream_t s, const std::function<bool()>& with_cudnn,
            const std::function<void()>& with_kernel) {
#ifndef AXON_HAS_CUDNN
  (void)key, (void)s, (void)with_cudnn, (void)with_kernel;
  return Path::kernel;
#else
  const Path forced = forced_path();
  if (forced != Path::automatic) return forced;
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  auto it = decisions().find(key);
  if (it != decisions().end()) return it->second;
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone)
    throw Error(
        "pooling/batch norm: choosing between cuDNN and the hand-written kernel for a new shape cannot run inside "
        "a CUDA graph capture; run the function eagerly on these shapes first (compile()'s warmup does)",
        __FILE__, __LINE__);
  Path p = Path::kernel;
  bool ok = true;
  (void)time_ms(s, [&] { ok = with_cudnn(); });  // warm-up; also learns whether cuDNN takes the problem
  if (ok) {
    (void)time_ms(s, with_kernel);
    bool again = true;
    const float t_cudnn = time_ms(s, [&] { again = with_cudnn(); });
    const float t_kernel = time_ms(s, with_kernel);
    if (again && t_cudnn < t_kernel) p = Path::cudnn;
  }
  decisions().emplace(key, p);
  return p;
#endif
}

}  // namespace axon::kernels::cudnn
