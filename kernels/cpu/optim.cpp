#include <cmath>

#include <axon/kernels/optim.hpp>

namespace axon::kernels::cpu {

// The same float arithmetic, in the same order, as the composite path (optim/src/updates.cpp) and
// the CUDA kernel, so the three agree to rounding.
void fused_adam(const AdamSlot* slots, int64_t nslots, const int64_t* count, const float* scale, const AdamHyper& h) {
  float t = float(*count + 1);
  float bc1 = -std::expm1(t * std::log(h.b1));
  float bc2 = -std::expm1(t * std::log(h.b2));
  float s = *scale;
  for (int64_t k = 0; k < nslots; ++k) {
    const AdamSlot& sl = slots[k];
    for (int64_t i = 0; i < sl.n; ++i) {
      float g = sl.g[i];
      float m = g * (1 - h.b1) + sl.m[i] * h.b1;
      float v = g * g * (1 - h.b2) + sl.v[i] * h.b2;
      sl.m_out[i] = m;
      sl.v_out[i] = v;
      float u = (m / bc1) / (std::sqrt(v / bc2 + h.eps_root) + h.eps);
      if (h.weight_decay != 0.0f) u += sl.p[i] * h.weight_decay;
      sl.u[i] = u * s;
    }
  }
}

void fused_sgd_momentum(const MomentumSlot* slots, int64_t nslots, const float* scale, float momentum, bool nesterov) {
  float s = *scale;
  for (int64_t k = 0; k < nslots; ++k) {
    const MomentumSlot& sl = slots[k];
    for (int64_t i = 0; i < sl.n; ++i) {
      float g = sl.g[i];
      float tr = g + sl.t[i] * momentum;
      sl.t_out[i] = tr;
      sl.u[i] = (nesterov ? g + tr * momentum : tr) * s;
    }
  }
}

}  // namespace axon::kernels::cpu
