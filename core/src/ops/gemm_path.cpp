// The public switches over the CPU f32 GEMM's libraries (kernels/cpu/gemm_select.cpp) and the dense
// layers' paths (kernels/cpu/dense_select.cpp).
#include <axon/cpu_gemm.hpp>
#include <axon/kernels/dense.hpp>
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

void set_cpu_dense_path(CpuDensePath path) {
  kc::set_dense_path(path == CpuDensePath::gemm    ? kc::DensePath::gemm
                     : path == CpuDensePath::fused ? kc::DensePath::fused
                                                   : kc::DensePath::automatic);
}

CpuDensePath cpu_dense_path() {
  switch (kc::dense_path()) {
    case kc::DensePath::gemm:
      return CpuDensePath::gemm;
    case kc::DensePath::fused:
      return CpuDensePath::fused;
    default:
      return CpuDensePath::automatic;
  }
}

CpuDenseRuns cpu_dense_runs() {
  const kc::DenseRuns r = kc::dense_runs();
  return {r.gemm, r.fused};
}

}  // namespace axon
