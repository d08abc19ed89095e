#pragma once
// Fused multi-tensor optimizer kernels (f32). One slot per parameter tensor; all slots are updated
// by one kernel (CPU: one loop; CUDA: one launch per kMaxSlots slots). Step and scale are read
// through device pointers so a launch needs no host synchronisation.
#include <cstdint>

#include <axon/kernels/common.hpp>

namespace axon::kernels {

struct AdamSlot {
  const float* g;
  const float* p;
  const float* m;
  const float* v;
  float* u;
  float* m_out;
  float* v_out;
  int64_t n;
};
struct AdamHyper {
  float b1, b2, eps, eps_root, weight_decay;
};
struct MomentumSlot {
  const float* g;
  const float* t;
  float* u;
  float* t_out;
  int64_t n;
};
inline constexpr int kMaxOptimSlots = 32;  // per CUDA launch (the slot table travels as a kernel parameter)

}  // namespace axon::kernels

namespace axon::kernels::cpu {
// count: steps taken so far (t = *count + 1); scale multiplies the update (−lr).
void fused_adam(const AdamSlot* slots, int64_t nslots, const int64_t* count, const float* scale, const AdamHyper& h);
void fused_sgd_momentum(const MomentumSlot* slots, int64_t nslots, const float* scale, float momentum, bool nesterov);
}  // namespace axon::kernels::cpu

namespace axon::kernels::cuda {
// count and scale are device pointers; slots is a host array (copied into the launch parameters).
void fused_adam(const AdamSlot* slots, int64_t nslots, const int64_t* count, const float* scale, const AdamHyper& h,
                cudaStream_t stream);
void fused_sgd_momentum(const MomentumSlot* slots, int64_t nslots, const float* scale, float momentum, bool nesterov,
                        cudaStream_t stream);
}  // namespace axon::kernels::cuda
