#include <axon/device.hpp>

#include <atomic>

#include <axon/error.hpp>

#ifdef AXON_HAS_CUDA
#include "cuda/backend.hpp"
#endif

namespace axon {

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda" || s == "gpu") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int i = std::stoi(s.substr(5), &used);
      if (used == s.size() - 5 && i >= 0) return cuda(i);
    } catch (const std::exception&) {
    }
  }
  AXON_FAIL("device", "cannot parse device '{}' (expected cpu, cuda or cuda:N)", s);
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

bool built_with_cuda() {
#ifdef AXON_HAS_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef AXON_HAS_CUDA
  // Without the backend library (or its CUDA libraries) there is no device to use.
  static const int count = [] {
    const cuda::Backend* b = cuda::find_backend();
    return b ? b->device_count() : 0;
  }();
  return count;
#else
  return 0;
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

namespace {
// Device packed into one word (type in the high half) so that reads and writes are atomic.
std::atomic<int64_t>& default_device_word() {
  static std::atomic<int64_t> word = cuda_available() ? (int64_t(DeviceType::cuda) << 32) : 0;
  return word;
}
}  // namespace

Device default_device() {
  int64_t w = default_device_word().load(std::memory_order_relaxed);
  return {static_cast<DeviceType>(w >> 32), static_cast<int>(w & 0xffffffff)};
}

void set_default_device(Device device) {
  AXON_CHECK(device.index >= 0, "set_default_device", "device index {} is negative", device.index);
  AXON_CHECK(device.is_cpu() || device.index < cuda_device_count(), "set_default_device",
             "{} requested but {}", device.str(),
             built_with_cuda() ? fmt::format("{} CUDA device(s) are visible", cuda_device_count())
                               : std::string("this build has no CUDA backend"));
  default_device_word().store((int64_t(device.type) << 32) | device.index, std::memory_order_relaxed);
}

}  // namespace axon
