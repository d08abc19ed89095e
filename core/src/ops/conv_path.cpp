// The public switch over the CPU convolution paths (kernels/cpu/conv_select.cpp).
#include <axon/conv.hpp>
#include <axon/kernels/conv.hpp>

namespace axon {

namespace kc = kernels::cpu;

void set_cpu_conv_path(CpuConvPath path) {
  kc::set_conv_path(path == CpuConvPath::im2col   ? kc::ConvPath::im2col
                    : path == CpuConvPath::onednn ? kc::ConvPath::onednn
                                                  : kc::ConvPath::automatic);
}

CpuConvPath cpu_conv_path() {
  switch (kc::conv_path()) {
    case kc::ConvPath::im2col:
      return CpuConvPath::im2col;
    case kc::ConvPath::onednn:
      return CpuConvPath::onednn;
    default:
      return CpuConvPath::automatic;
  }
}

bool cpu_conv_has_onednn() { return kc::onednn_available(); }

CpuConvRuns cpu_conv_runs() {
  const kc::ConvRuns r = kc::conv_runs();
  return {r.im2col, r.onednn};
}

}  // namespace axon
