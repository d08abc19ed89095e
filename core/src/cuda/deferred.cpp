// Deferred device errors (cuda/deferred.hpp). Per device: one RangeFailure in device memory that
// the first failing check claims, a pinned copy of it that a host read fills just before it waits
// (only when a check ran since the last read: reads stay one copy + one wait), and the first failed
// free. Nothing here waits on its own: a training step queues its checks and goes on.
#include "deferred.hpp"

#include <axon/cuda_context.hpp>

#include "../ops/internal.hpp"
#include "capture.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/index.hpp>

namespace axon::cuda::deferred {

namespace {
constexpr int kMaxDevices = 16;
using kernels::cuda::RangeFailure;

struct DeviceState {
  std::mutex mu;
  std::atomic<bool> ready{false};
  RangeFailure* dev = nullptr;   // claimed by the first failing check
  RangeFailure* host = nullptr;  // pinned: its read-back
  std::atomic<unsigned long long> next_seq{1};
  std::atomic<uint64_t> queued{0};   // checks queued so far (counted after their launch)
  std::atomic<uint64_t> covered{0};  // of those, how many a completed read has covered
  std::atomic<bool> has_error{false};
  std::string error;  // the first failed call recorded by a destructor
};

// Never destroyed: frees during static destruction may still record errors.
DeviceState& state(int index) {
  static auto* s = new DeviceState[kMaxDevices];
  return s[index];
}

// Op names are kept by address (string literals) and sent to the device as small codes.
std::mutex& ops_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::vector<const char*>& op_names() {
  static auto* v = new std::vector<const char*>;
  return *v;
}
int op_code(const char* op) {
  std::lock_guard<std::mutex> lock(ops_mutex());
  auto& v = op_names();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] == op || std::strcmp(v[i], op) == 0) return static_cast<int>(i);
  v.push_back(op);
  return static_cast<int>(v.size() - 1);
}
std::string op_name(int code) {
  std::lock_guard<std::mutex> lock(ops_mutex());
  auto& v = op_names();
  return code >= 0 && code < static_cast<int>(v.size()) ? v[static_cast<std::size_t>(code)] : "index";
}

// The device's record, created on its first check (null while its stream is captured then: the
// allocation would break the capture, and the check is skipped as the synchronous one was).
DeviceState* ready_state(int index, cudaStream_t s) {
  DeviceState& st = state(index);
  if (st.ready.load(std::memory_order_acquire)) return &st;
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.ready.load()) return &st;
  if (capturing(index)) return nullptr;
  AXON_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&st.dev), sizeof(RangeFailure)), "index");
  AXON_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&st.host), sizeof(RangeFailure), cudaHostAllocDefault),
                  "index");
  *st.host = RangeFailure{};
  kernels::cuda::reset_range_failure(st.dev, s);
  st.ready.store(true, std::memory_order_release);
  return &st;
}

std::string describe(const RangeFailure& f) {
  std::string what;
  switch (static_cast<Kind>(f.kind)) {
    case Kind::axis_index:
      what = fmt::format("index {} is out of range for axis {} of size {}", f.value, f.a, f.b);
      break;
    case Kind::one_hot_label: what = fmt::format("label {} is out of range for {} classes", f.value, f.b); break;
    case Kind::class_id:
      what = fmt::format("class id {} is out of range: class ids must lie in [0, {})", f.value, f.b);
      break;
  }
  return op_name(f.op) + ": " + what +
         " (checked on the device where the op ran, and raised at the first host read after it)";
}
}  // namespace

void check_range(const char* op, Kind kind, const Tensor& index, int64_t lo, int64_t size, int64_t a) {
  const int64_t n = index.numel();
  if (n == 0) return;
  const int dev = index.device().index;
  AXON_CHECK(dev >= 0 && dev < kMaxDevices, op, "device {} is out of range", index.device().str());
  cudaStream_t s = stream(dev);
  DeviceState* st = ready_state(dev, s);
  if (!st) return;
  kernels::cuda::RangeCheck c;
  c.seq = st->next_seq.fetch_add(1);
  c.op = op_code(op);
  c.kind = static_cast<int>(kind);
  c.a = a;
  c.b = size;
  kernels::cuda::check_range(index.dtype(), index.data_ptr(), ::axon::detail::make_indexer(index), n, lo, size, c,
                             st->dev, s);
  st->queued.fetch_add(1);  // after the launch: a read that sees it is queued after it on the stream
}

void record_error(int index, std::string message) {
  if (index < 0 || index >= kMaxDevices) return;
  DeviceState& st = state(index);
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.has_error.load()) return;  // the first failure is the one worth reading
  st.error = std::move(message);
  st.has_error.store(true);
}

void synchronize(int index, cudaStream_t s, const char* op) {
  if (index < 0 || index >= kMaxDevices) {
    AXON_CUDA_CHECK(cudaStreamSynchronize(s), op);
    return;
  }
  DeviceState& st = state(index);
  const uint64_t queued = st.queued.load();
  const bool read = st.ready.load(std::memory_order_acquire) && queued != st.covered.load();
  if (read)
    AXON_CUDA_CHECK(cudaMemcpyAsync(st.host, st.dev, sizeof(RangeFailure), cudaMemcpyDeviceToHost, s), op);
  AXON_CUDA_CHECK(cudaStreamSynchronize(s), op);
  if (st.has_error.load()) {
    std::string msg;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      msg = std::move(st.error);
      st.error.clear();
      st.has_error.store(false);
    }
    if (!msg.empty()) throw Error(msg, __FILE__, __LINE__);
  }
  if (!read) return;
  const RangeFailure f = *st.host;
  uint64_t seen = st.covered.load();
  while (seen < queued && !st.covered.compare_exchange_weak(seen, queued)) {
  }
  if (f.owner == 0) return;
  // Raised once: the record is cleared for the checks that follow (queued after this reset).
  *st.host = RangeFailure{};
  kernels::cuda::reset_range_failure(st.dev, s);
  throw Error(describe(f), __FILE__, __LINE__);
}

}  // namespace axon::cuda::deferred

#else  // CPU-only build: no device, nothing deferred

namespace axon::cuda::deferred {
void check_range(const char*, Kind, const Tensor&, int64_t, int64_t, int64_t) {}
void record_error(int, std::string) {}
void synchronize(int, cudaStream_t, const char*) {}
}  // namespace axon::cuda::deferred

#endif
