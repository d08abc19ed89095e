#pragma once
// Fused multi-tensor optimizer kernels. One slot per parameter tensor; all slots are updated by one
// kernel (CPU: one pass split across the thread pool; CUDA: one launch per kMaxSlots slots). Step
// and scale are read through device pointers so a launch needs no host synchronisation.
#include <cstdint>

#include <axon/kernels/common.hpp>

namespace axon::kernels {

template <class T>
struct AdamSlotT {
  const T* g;
  const T* p;
  const T* m;
  const T* v;
  T* u;
  T* m_out;
  T* v_out;
  int64_t n;
};
using AdamSlot = AdamSlotT<float>;
// The CUDA kernel's hyperparameters (f32).
struct AdamHyper {
  float b1, b2, eps, eps_root, weight_decay;
};
// The CPU kernels' hyperparameters as the optimizer holds them (double): the kernels round each one
// to the arithmetic type where the composite path's scalar ops do (1 − b1 in double, then rounded;
// log b in double, then rounded), so that their results are the composite path's bit for bit.
struct AdamCoefficients {
  double b1, b2, eps, eps_root, weight_decay;
};
template <class T>
struct MomentumSlotT {
  const T* g;
  const T* t;
  T* u;
  T* t_out;
  int64_t n;
};
using MomentumSlot = MomentumSlotT<float>;
inline constexpr int kMaxOptimSlots = 32;  // per CUDA launch (the slot table travels as a kernel parameter)

}  // namespace axon::kernels

namespace axon::kernels::cpu {
// count: steps taken so far (t = *count + 1); scale multiplies the update (−lr). The same arithmetic,
// in the same order and type, as optim's composite chains (scale_by_adam, add_decayed_weights and the
// learning-rate member; trace and the learning-rate member).
void fused_adam(const AdamSlotT<float>* slots, int64_t nslots, const int64_t* count, const float* scale,
                const AdamCoefficients& h);
void fused_adam(const AdamSlotT<double>* slots, int64_t nslots, const int64_t* count, const double* scale,
                const AdamCoefficients& h);
void fused_sgd_momentum(const MomentumSlotT<float>* slots, int64_t nslots, const float* scale, double momentum,
                        bool nesterov);
void fused_sgd_momentum(const MomentumSlotT<double>* slots, int64_t nslots, const double* scale, double momentum,
                        bool nesterov);
}  // namespace axon::kernels::cpu

namespace axon::kernels::cuda {
// count and scale are device pointers; slots is a host array (copied into the launch parameters). f32.
void fused_adam(const AdamSlot* slots, int64_t nslots, const int64_t* count, const float* scale, const AdamHyper& h,
                cudaStream_t stream);
void fused_sgd_momentum(const MomentumSlot* slots, int64_t nslots, const float* scale, float momentum, bool nesterov,
                        cudaStream_t stream);
}  // namespace axon::kernels::cuda
