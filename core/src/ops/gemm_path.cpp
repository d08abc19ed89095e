// The public switch over the CPU f32 GEMM's libraries (kernels/cpu/gemm_select.cpp).
#include <axon/cpu_gemm.hpp>
#include <axon/kernels/gemm.hpp>

namespace axon {

namespace kc = kernels::cpu;

void set_cpu_gemm_path(CpuGemmPath path) {
  kc::set_gemm_path(path == CpuGemmPath::openblas ? kc::GemmPath::openblas
                    : path == CpuGemmPath::onednn ? kc::GemmPath::onednn
                                                  : kc::GemmPath::automatic);
}

CpuGemmPath cpu_gemm_path() {
  switch (kc::gemm_path()) {
    case kc::GemmPath::openblas:
      return CpuGemmPath::openblas;
    case kc::GemmPath::onednn:
      return CpuGemmPath::onednn;
    default:
      return CpuGemmPath::automatic;
  }
}

bool cpu_gemm_has_onednn() { return kc::gemm_has_onednn(); }

CpuGemmRuns cpu_gemm_runs() {
  const kc::GemmRuns r = kc::gemm_runs();
  return {r.openblas, r.onednn};
}

}  // namespace axon
