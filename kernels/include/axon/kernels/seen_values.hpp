#pragma once
// The values a kernel was last prepared from (reordered for oneDNN, transformed for Winograd), so
// that the preparation runs again only when they change, a weight changed in place included:
// comparing costs a third of reordering (W2's 3x3x32x64 kernel: ~1 us against 3-4 us at batch 1).
// Internal (kernels/include is not installed).
#include <cstddef>
#include <cstring>
#include <vector>

namespace axon::kernels::cpu {

class SeenValues {
 public:
  // Whether w[0, n) differs from the values recorded last (true the first time), recording it if so.
  bool changed(const float* w, size_t n) {
    if (seen_.size() == n && std::memcmp(seen_.data(), w, n * sizeof(float)) == 0) return false;
    seen_.assign(w, w + n);
    return true;
  }

 private:
  std::vector<float> seen_;
};

}  // namespace axon::kernels::cpu
