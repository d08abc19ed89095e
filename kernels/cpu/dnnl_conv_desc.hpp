#pragma once
// oneDNN's descriptions of axon's convolutions (activations channels last, kernels HWIO, described
// by their strides so that nothing is copied), shared by the training convolutions (dnnl_conv.cpp,
// which defines them) and the inference ones (dnnl_conv_infer.cpp). Builds with AXON_HAS_DNNL only;
// not installed.
#include <axon/kernels/conv.hpp>

#include "dnnl_runtime.hpp"

namespace axon::kernels::cpu::onednn {

// Whether oneDNN can run the problem: it has no input dilation (transposed convs) and no negative
// padding (crops).
bool conv_supported(const ConvGeometry& g);

// `n` items of `rows` x px[1..nd) pixels x `channels`, channels last, as oneDNN's [n, C, rows, ...],
// dense (a gap between items sends oneDNN 2.6 to its reference kernel): a piece of several items
// reads whole items. (One channel is also a plain channels-first layout, but described so oneDNN 2.6
// sends a conv's first layer to its reference kernel, 100x slower than the JIT one it takes channels
// last.)
dnnl::memory::desc conv_activation(int nd, const int64_t* px, int64_t rows, int64_t n, int64_t channels);

// The HWIO kernel [K..., C/G, G * Coutg] as oneDNN's [Cout, C, K...] or, grouped, [G, Coutg, C/G, K...].
dnnl::memory::desc conv_kernel(const ConvGeometry& g);
// The same dims in the layout the primitive picks ("any"; a plain layout would send it to its slower
// GEMM-based kernels).
dnnl::memory::desc any_layout(const dnnl::memory::desc& md);
// The bias [Cout].
dnnl::memory::desc conv_bias(const ConvGeometry& g);

// A convolution descriptor's strides, dilations (oneDNN counts the taps skipped: 0 for none) and
// padding on each side.
struct ConvWindow {
  dnnl::memory::dims strides, dilates, lo, hi;
};
ConvWindow conv_window(const ConvGeometry& g);

// attr() (the caller-supplied scratchpad), with relu applied as the primitive writes where asked.
dnnl::primitive_attr attr_relu(bool relu);

dnnl::memory mem(const dnnl::memory::desc& md, const void* p);

}  // namespace axon::kernels::cpu::onednn
