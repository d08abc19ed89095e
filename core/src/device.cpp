#include <axon/device.hpp>
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

}  // namespace axon
