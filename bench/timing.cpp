#include <algorithm>
#include <chrono>
#include <cmath>

#include "bench.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <axon/cuda_context.hpp>
#endif

namespace axon::bench {

namespace {
// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& s, double p) {
  size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
  return s[std::clamp<size_t>(k, 1, s.size()) - 1];
}

Stats summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats st;
  st.repeats = static_cast<int>(ms.size());
  size_t m = ms.size();
  st.median_ms = m % 2 ? ms[m / 2] : 0.5 * (ms[m / 2 - 1] + ms[m / 2]);
  st.p10_ms = percentile(ms, 10);
  st.p90_ms = percentile(ms, 90);
  st.min_ms = ms.front();
  st.max_ms = ms.back();
  return st;
}

#ifdef AXON_HAS_CUDA
void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(fmt::format("axon-bench: {}: {}", what, cudaGetErrorString(e)));
}

// Each repeat between two events on the context stream, synchronised before the next, as PyTorch's
// peer script times its figures.
std::vector<double> time_cuda(Device device, int warmup, int repeats, const std::function<void()>& fn) {
  cudaStream_t s = axon::cuda::stream(device.index);
  for (int i = 0; i < warmup; ++i) fn();
  synchronize(device);
  cudaEvent_t start, stop;
  cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
  cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> ms;
  try {
    for (int i = 0; i < repeats; ++i) {
      cuda_ok(cudaEventRecord(start, s), "cudaEventRecord");
      fn();
      cuda_ok(cudaEventRecord(stop, s), "cudaEventRecord");
      cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float t = 0;
      cuda_ok(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
      ms.push_back(t);
    }
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms;
}
#endif
}  // namespace

Stats time_repeats(Device device, int warmup, int repeats, const std::function<void()>& fn) {
  repeats = std::max(repeats, 1);
#ifdef AXON_HAS_CUDA
  if (device.is_cuda()) return summarise(time_cuda(device, warmup, repeats, fn));
#endif
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return summarise(std::move(ms));
}

double element(const Tensor& t, int64_t i) { return t.reshape({-1}).narrow(0, i, 1).to_vector<double>()[0]; }

}  // namespace axon::bench
