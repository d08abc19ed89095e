#include <algorithm>
#include <cstdint>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/optim.hpp>

namespace axon::kernels::cuda {

namespace {
struct AdamTable {
  AdamSlot s[kMaxOptimSlots];
};
struct MomentumTable {
  MomentumSlot s[kMaxOptimSlots];
};

__device__ __forceinline__ float adam_one(float g, float p, float& m, float& v, const AdamHyper& h, float bc1, float bc2,
                                          float s) {
  m = g * (1 - h.b1) + m * h.b1;
  v = g * g * (1 - h.b2) + v * h.b2;
  float u = (m / bc1) / (sqrtf(v / bc2 + h.eps_root) + h.eps);
  if (h.weight_decay != 0.0f) u += p * h.weight_decay;
  return u * s;
}

// blockIdx.y picks the tensor, a grid-stride loop over x covers it (16-byte vectors when all seven
// streams are aligned). The bias corrections are computed per thread from the device-side counter:
// a few flops, no host round trip.
__global__ void adam_kernel(AdamTable table, const int64_t* __restrict__ count, const float* __restrict__ scale,
                            AdamHyper h) {
  const AdamSlot sl = table.s[blockIdx.y];
  float t = float(*count + 1);
  float bc1 = -expm1f(t * logf(h.b1));
  float bc2 = -expm1f(t * logf(h.b2));
  float s = *scale;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  uintptr_t bits = uintptr_t(sl.g) | uintptr_t(sl.p) | uintptr_t(sl.m) | uintptr_t(sl.v) | uintptr_t(sl.u) |
                   uintptr_t(sl.m_out) | uintptr_t(sl.v_out);
  int64_t done = 0;
  if ((bits & 15) == 0) {
    const int64_t n4 = sl.n / 4;
    for (int64_t i = first; i < n4; i += stride) {
      float4 g = reinterpret_cast<const float4*>(sl.g)[i];
      float4 p = reinterpret_cast<const float4*>(sl.p)[i];
      float4 m = reinterpret_cast<const float4*>(sl.m)[i];
      float4 v = reinterpret_cast<const float4*>(sl.v)[i];
      float4 u;
      u.x = adam_one(g.x, p.x, m.x, v.x, h, bc1, bc2, s);
      u.y = adam_one(g.y, p.y, m.y, v.y, h, bc1, bc2, s);
      u.z = adam_one(g.z, p.z, m.z, v.z, h, bc1, bc2, s);
      u.w = adam_one(g.w, p.w, m.w, v.w, h, bc1, bc2, s);
      reinterpret_cast<float4*>(sl.u)[i] = u;
      reinterpret_cast<float4*>(sl.m_out)[i] = m;
      reinterpret_cast<float4*>(sl.v_out)[i] = v;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + first; i < sl.n; i += stride) {
    float m = sl.m[i], v = sl.v[i];
    sl.u[i] = adam_one(sl.g[i], sl.p[i], m, v, h, bc1, bc2, s);
    sl.m_out[i] = m;
    sl.v_out[i] = v;
  }
}

__global__ void momentum_kernel(MomentumTable table, const float* __restrict__ scale, float momentum, bool nesterov) {
  const MomentumSlot sl = table.s[blockIdx.y];
  float s = *scale;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < sl.n; i += int64_t(gridDim.x) * blockDim.x) {
    float g = sl.g[i];
    float tr = g + sl.t[i] * momentum;
    sl.t_out[i] = tr;
    sl.u[i] = (nesterov ? g + tr * momentum : tr) * s;
  }
}

constexpr int kBlock = 256;
unsigned blocks_for(int64_t max_n) {
  // Enough blocks for the largest tensor at ~8 elements a thread, capped: the grid-stride loop does the rest.
  int64_t b = (max_n + kBlock * 8 - 1) / (kBlock * 8);
  return unsigned(std::clamp<int64_t>(b, 1, 2048));
}
}  // namespace

void fused_adam(const AdamSlot* slots, int64_t nslots, const int64_t* count, const float* scale, const AdamHyper& h,
                cudaStream_t stream) {
  for (int64_t k0 = 0; k0 < nslots; k0 += kMaxOptimSlots) {
    AdamTable table{};
    int64_t nk = std::min<int64_t>(kMaxOptimSlots, nslots - k0), max_n = 0;
    for (int64_t k = 0; k < nk; ++k) {
      table.s[k] = slots[k0 + k];
      max_n = std::max(max_n, table.s[k].n);
    }
    if (max_n == 0) continue;
    adam_kernel<<<dim3(blocks_for(max_n), unsigned(nk)), kBlock, 0, stream>>>(table, count, scale, h);
    AXON_CUDA_LAUNCH_CHECK("fused_adam_update");
  }
}

void fused_sgd_momentum(const MomentumSlot* slots, int64_t nslots, const float* scale, float momentum, bool nesterov,
                        cudaStream_t stream) {
  for (int64_t k0 = 0; k0 < nslots; k0 += kMaxOptimSlots) {
    MomentumTable table{};
    int64_t nk = std::min<int64_t>(kMaxOptimSlots, nslots - k0), max_n = 0;
    for (int64_t k = 0; k < nk; ++k) {
      table.s[k] = slots[k0 + k];
      max_n = std::max(max_n, table.s[k].n);
    }
    if (max_n == 0) continue;
    momentum_kernel<<<dim3(blocks_for(max_n), unsigned(nk)), kBlock, 0, stream>>>(table, scale, momentum, nesterov);
    AXON_CUDA_LAUNCH_CHECK("fused_sgd_momentum_update");
  }
}

}  // namespace axon::kernels::cuda
