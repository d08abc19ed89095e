// The public switches over the CPU kernels' paths: the convolutions' (kernels/cpu/conv_select.cpp),
// the f32 GEMM's libraries (kernels/cpu/gemm_select.cpp) and the dense layers' (dense_select.cpp).
#include <axon/conv.hpp>
#include <axon/cpu_gemm.hpp>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/dense.hpp>
#include <axon/kernels/gemm.hpp>

#include "../../../kernels/cpu/cpu_features.hpp"

namespace axon {

namespace kc = kernels::cpu;

namespace {

// Each public enum lists its kernel enum's paths in the same order, so a cast converts either way.
template <class Public, class Kernel>
constexpr bool same_order(Public a, Kernel ka, Public b, Kernel kb) {
  return int(Public::automatic) == int(Kernel::automatic) && int(a) == int(ka) && int(b) == int(kb);
}
static_assert(same_order(CpuConvPath::im2col, kc::ConvPath::im2col, CpuConvPath::onednn, kc::ConvPath::onednn));
static_assert(same_order(CpuGemmPath::openblas, kc::GemmPath::openblas, CpuGemmPath::onednn, kc::GemmPath::onednn));
static_assert(same_order(CpuDensePath::gemm, kc::DensePath::gemm, CpuDensePath::fused, kc::DensePath::fused));

}  // namespace

void set_cpu_conv_path(CpuConvPath path) { kc::set_conv_path(kc::ConvPath(path)); }
CpuConvPath cpu_conv_path() { return CpuConvPath(kc::conv_path()); }
bool cpu_conv_has_onednn() { return kc::onednn_available(); }
CpuConvRuns cpu_conv_runs() {
  const kc::ConvRuns r = kc::conv_runs();
  return {r.im2col, r.onednn};
}

void set_cpu_gemm_path(CpuGemmPath path) { kc::set_gemm_path(kc::GemmPath(path)); }
CpuGemmPath cpu_gemm_path() { return CpuGemmPath(kc::gemm_path()); }
bool cpu_gemm_has_onednn() { return kc::gemm_has_onednn(); }
CpuGemmRuns cpu_gemm_runs() {
  const kc::GemmRuns r = kc::gemm_runs();
  return {r.openblas, r.onednn};
}

void set_cpu_dense_path(CpuDensePath path) { kc::set_dense_path(kc::DensePath(path)); }
CpuDensePath cpu_dense_path() { return CpuDensePath(kc::dense_path()); }
CpuDenseRuns cpu_dense_runs() {
  const kc::DenseRuns r = kc::dense_runs();
  return {r.gemm, r.fused};
}

void set_cpu_avx2_kernels(bool on) { kc::set_avx2_kernels(on); }
bool cpu_avx2_kernels() { return kc::avx2_kernels(); }

}  // namespace axon
