#pragma once
// Convolution kernels on channels-last data: the input is a contiguous [N, D1..Dn, C] tensor, the
// kernel [K1..Kn, C/G, Cout] (HWIO). im2col lays out, for every output pixel (row r = n * O + o,
// O = prod(out)), the receptive field of each group g as K1..Kn x C/G values at
//   col[r * row_stride + g * group_stride + kk * (C/G) + c]
// so that each group is one GEMM against the kernel; padding, strides, input dilation (zeros
// inserted between input pixels) and kernel dilation are all handled by the index arithmetic.
// col2im is the adjoint: it gathers, for every input pixel, the col entries that read it (no
// atomics, f32/f64 accumulation), and overwrites dx.
#include <axon/kernels/common.hpp>
#include <axon/kernels/dense.hpp>
#include <cstddef>

struct cudnnContext;

namespace axon::kernels {

inline constexpr int kConvMaxDims = 3;

struct ConvGeometry {
  int nd = 0;  // spatial dims
  int64_t batch = 0, channels = 0, groups = 1, out_channels = 0;
  int64_t in[kConvMaxDims] = {}, out[kConvMaxDims] = {}, kernel[kConvMaxDims] = {};
  int64_t stride[kConvMaxDims] = {}, pad_lo[kConvMaxDims] = {}, pad_hi[kConvMaxDims] = {};
  int64_t in_dil[kConvMaxDims] = {}, k_dil[kConvMaxDims] = {};

  int64_t out_pixels() const {
    int64_t p = 1;
    for (int d = 0; d < nd; ++d) p *= out[d];
    return p;
  }
  int64_t in_pixels() const {
    int64_t p = 1;
    for (int d = 0; d < nd; ++d) p *= in[d];
    return p;
  }
  int64_t kernel_pixels() const {
    int64_t p = 1;
    for (int d = 0; d < nd; ++d) p *= kernel[d];
    return p;
  }
  int64_t group_channels() const { return channels / groups; }
};

// The geometry with leading unit dims, so that the im2col/col2im loops (CPU and CUDA) are 3-deep.
struct Geo3 {
  int64_t in[3], out[3], k[3], s[3], lo[3], idil[3], kdil[3];
  int64_t C, Cg, G, K, O;
};

inline Geo3 to3(const ConvGeometry& g) {
  Geo3 r{};
  const int pad = 3 - g.nd;
  for (int d = 0; d < 3; ++d) {
    const bool real = d >= pad;
    const int s = d - pad;
    r.in[d] = real ? g.in[s] : 1;
    r.out[d] = real ? g.out[s] : 1;
    r.k[d] = real ? g.kernel[s] : 1;
    r.s[d] = real ? g.stride[s] : 1;
    r.lo[d] = real ? g.pad_lo[s] : 0;
    r.idil[d] = real ? g.in_dil[s] : 1;
    r.kdil[d] = real ? g.k_dil[s] : 1;
  }
  r.C = g.channels;
  r.G = g.groups;
  r.Cg = g.channels / g.groups;
  r.K = r.k[0] * r.k[1] * r.k[2];
  r.O = r.out[0] * r.out[1] * r.out[2];
  return r;
}

// Where group g of row r starts in col (element units).
struct ColLayout {
  int64_t row_stride = 0, group_stride = 0;
};

namespace cpu {
// Rows of batch items [n0, n0 + count) into col (row 0 of col = first output pixel of item n0).
void im2col(DType dt, const void* x, void* col, const ConvGeometry& g, ColLayout l, int64_t n0,
            int64_t count);
// dx items [n0, n0 + count) from col rows laid out as im2col writes them.
void col2im(DType dt, const void* col, void* dx, const ConvGeometry& g, ColLayout l, int64_t n0,
            int64_t count);
// im2col + GEMM convolutions, f32 / f64, on the CPU kernels' threads: each thread builds the columns
// of a chunk of output rows in its own cache-sized buffer and multiplies them at once (one GEMM per
// group). y, dx and dw (HWIO [K..., C/G, Cout]) are overwritten.
void conv_forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g);
void conv_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g);
void conv_backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g);
// Convolutions with one input channel per group (depthwise, any channel multiplier), channels last,
// kernel [K..., 1, Cout]: direct loops, as im2col would run one tiny GEMM per channel. Outputs are
// overwritten; accumulation in f32/f64.
void depthwise_forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g);
void depthwise_backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g);
void depthwise_backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g);

// oneDNN (builds with it; issue 17) convolutions in f32, same layouts and contracts as above, for
// 1-D to 3-D problems without input dilation or negative padding. Each returns false (having
// written nothing) where oneDNN cannot run the problem, and always in builds without oneDNN.
bool onednn_available();
bool onednn_conv_forward(const float* x, const float* w, float* y, const ConvGeometry& g);
bool onednn_conv_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g);
bool onednn_conv_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g);
// The forward with the bias (b [Cout], or null) added and relu (or nothing) applied by the primitive
// itself (its post-op) as it writes y: no second pass over y.
bool onednn_conv_forward_bias_relu(const float* x, const float* w, const float* b, bool relu, float* y,
                                   const ConvGeometry& g);

// Which of the two runs the f32 CPU convolutions that both can run. automatic: both are timed on a
// shape's first use (per direction) and the faster is kept. The initial setting comes from the
// environment variable AXON_CPU_CONV (auto, im2col, onednn).
enum class ConvPath { automatic, im2col, onednn };
void set_conv_path(ConvPath p);
ConvPath conv_path();
// Calls that each path ran since the start (tests' proof of which one ran).
struct ConvRuns {
  int64_t im2col = 0, onednn = 0;
};
ConvRuns conv_runs();
// The f32 / f64 CPU convolutions through the chosen path (f64 and what oneDNN cannot run: im2col).
void conv_forward_best(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g);
// The same, then y = act(y + b) (b [Cout] or null): inside oneDNN's primitive where it runs the conv
// (bias, relu), else the dense epilogue's pass (kernels/dense.hpp) over y.
void conv_forward_epilogue_best(DType dt, const void* x, const void* w, const void* b, DenseAct act, void* y,
                                const ConvGeometry& g);
void conv_backward_data_best(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g);
void conv_backward_filter_best(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g);
}  // namespace cpu

namespace cuda {
void im2col(DType dt, const void* x, void* col, const ConvGeometry& g, ColLayout l, int64_t n0, int64_t count,
            cudaStream_t s);
void col2im(DType dt, const void* col, void* dx, const ConvGeometry& g, ColLayout l, int64_t n0,
            int64_t count, cudaStream_t s);
}  // namespace cuda

// cuDNN (CUDA builds with cuDNN): 2-D and 3-D channels-last convolutions with symmetric padding and
// no input dilation (1-D goes as a 2-D with height 1). f32 (TF32 when allowed), bf16/f16 with f32
// accumulation, f64 in f64. The kernel (w / dw) is in cuDNN's NHWC filter layout [Cout, K1..Kn, C/G],
// used as it is (cross-correlation) or flipped spatially (flip_kernel: true convolution). The
// algorithm is measured once per problem and cached. `workspace` is called with the bytes needed
// and returns device memory that stays valid until the stream passes the call.
// Each returns false (having written nothing) when cuDNN has no algorithm for the problem.
namespace cudnn {
struct Workspace {
  void* (*alloc)(void* ctx, std::size_t bytes) = nullptr;
  void* ctx = nullptr;
};
struct Setup {
  bool allow_tf32 = false;
  bool flip_kernel = false;
  cudnnContext* handle = nullptr;
  cudaStream_t stream = nullptr;
  Workspace workspace;
};
bool supports(const ConvGeometry& g, DType dt);
bool forward(DType dt, const void* x, const void* w, void* y, const ConvGeometry& g, const Setup& s);
bool backward_data(DType dt, const void* dy, const void* w, void* dx, const ConvGeometry& g, const Setup& s);
bool backward_filter(DType dt, const void* x, const void* dy, void* dw, const ConvGeometry& g, const Setup& s);
// CUDA builds: whether cuDNN is compiled in, and how many calls of each direction it has run since the
// start (the tests' proof that a problem took cuDNN rather than the im2col fallback).
struct Runs {
  int64_t forward = 0, backward_data = 0, backward_filter = 0;
};
bool available();
Runs runs();
}  // namespace cudnn

}  // namespace axon::kernels
