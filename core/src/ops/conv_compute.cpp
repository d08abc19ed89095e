// Channels-last convolution arithmetic: cuDNN where it applies; on the CPU (f32 / f64) chunked
// im2col + GEMM kernels; otherwise im2col + matmul with one GEMM per feature group over the whole
// batch, the im2col buffer built for as many batch items at a time as fit a fixed budget.
#include <algorithm>
#include <optional>

#include "conv_geometry.hpp"
#include "cudnn_workspace.hpp"
#include "fused_epilogue.hpp"

namespace axon::detail {

namespace {

using kernels::ColLayout;
using kernels::ConvGeometry;

constexpr int64_t kColBudgetBytes = int64_t(256) << 20;

int64_t batch_chunk(const ConvGeometry& g, DType dt) {
  const int64_t per_item =
      g.out_pixels() * g.kernel_pixels() * g.channels * static_cast<int64_t>(itemsize(dt));
  if (per_item == 0) return std::max<int64_t>(g.batch, 1);
  return std::clamp<int64_t>(kColBudgetBytes / per_item, 1, std::max<int64_t>(g.batch, 1));
}

// A 1x1 kernel with unit strides, no padding and no dilation reads the input as it is.
bool is_pointwise(const ConvGeometry& g) {
  if (g.groups != 1) return false;
  for (int d = 0; d < g.nd; ++d)
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_lo[d] != 0 || g.pad_hi[d] != 0 || g.in_dil[d] != 1)
      return false;
  return true;
}

// CPU f32 / f64: the chunked im2col + GEMM kernels (kernels/cpu/conv_gemm.cpp) or, f32 where it is
// faster, oneDNN (kernels/cpu/conv_select.cpp). Elsewhere (CUDA
// without cuDNN, 16-bit floats on the CPU) the whole-batch im2col + matmul below.
bool use_cpu_gemm(const Tensor& t) {
  return !t.is_cuda() && (t.dtype() == DType::f32 || t.dtype() == DType::f64);
}

// Depthwise (one input channel per group, several groups): direct CPU loops. (A single-channel
// input with one group runs faster through im2col and one GEMM.)
bool use_depthwise(const Tensor& t, const ConvGeometry& g) {
  return !t.is_cuda() && g.groups > 1 && g.channels == g.groups;
}

Shape in_shape_last(const ConvGeometry& g) {
  Shape s{g.batch};
  for (int d = 0; d < g.nd; ++d) s.push_back(g.in[d]);
  s.push_back(g.channels);
  return s;
}
Shape kernel_shape_last(const ConvGeometry& g) {
  Shape s;
  for (int d = 0; d < g.nd; ++d) s.push_back(g.kernel[d]);
  s.push_back(g.channels / g.groups);
  s.push_back(g.out_channels);
  return s;
}

void im2col(const Tensor& x, const Tensor& col, const ConvGeometry& g, ColLayout l, int64_t n0, int64_t cnt) {
  AXON_ON_DEVICE(
      x.device(), kernels::cpu::im2col(x.dtype(), x.data_ptr(), col.data_ptr(), g, l, n0, cnt),
      cuda::backend().im2col(x.dtype(), x.data_ptr(), col.data_ptr(), g, l, n0, cnt, stream_for(x.device())));
}
void col2im(const Tensor& col, const Tensor& dx, const ConvGeometry& g, ColLayout l, int64_t n0,
            int64_t cnt) {
  AXON_ON_DEVICE(dx.device(), kernels::cpu::col2im(dx.dtype(), col.data_ptr(), dx.data_ptr(), g, l, n0, cnt),
                 cuda::backend().col2im(dx.dtype(), col.data_ptr(), dx.data_ptr(), g, l, n0, cnt,
                                        stream_for(dx.device())));
}

#ifdef AXON_HAS_CUDNN
using detail::WorkspaceKeep;
using detail::workspace_for;
// How a conv runs on cuDNN, whose convolutions have symmetric padding and no input dilation:
//  direct: the conv itself; an asymmetric padding (lo, hi) runs as an explicit zero pad of the
//    difference on the input (cropped back off dx in the backward data) plus a symmetric min(lo, hi).
//  transposed: a conv with input dilation s and unit strides (conv_transpose) is the adjoint of the
//    conv with stride s from its output to its input, kernel flipped and in/out channels swapped, so
//    its forward is cuDNN's backward data of that conv, its backward data that conv's forward and its
//    backward filter that conv's backward filter. Per axis, with p = k_eff - 1 - lo that conv has the
//    symmetric padding p and takes O + max(lo - hi, 0) pixels (O: our output's), the extra ones cropped
//    off our output or zero-padded onto dy; cuDNN's output size formula then gives our input's size
//    exactly when p >= 0 and hi - lo < s, as PyTorch's output_padding < stride.
struct CudnnProblem {
  ConvGeometry g;  // the problem cuDNN runs
  bool transposed = false;
  // Zero padding, per axis of a channels-last tensor, of our input (direct) or our output (transposed).
  std::vector<std::pair<int64_t, int64_t>> extra;
  bool padded = false;
};
std::optional<CudnnProblem> cudnn_problem(const Tensor& t, const ConvGeometry& g) {
  if (!t.is_cuda()) return std::nullopt;
  bool dilated = false;
  for (int d = 0; d < g.nd; ++d) dilated |= g.in_dil[d] != 1;
  CudnnProblem p{g, dilated, {{0, 0}}, false};
  if (dilated) std::swap(p.g.channels, p.g.out_channels);
  for (int d = 0; d < g.nd; ++d) {
    const int64_t lo = g.pad_lo[d], hi = g.pad_hi[d];
    if (!dilated) {
      const int64_t sym = std::min(lo, hi);
      if (sym < 0) return std::nullopt;
      p.extra.emplace_back(lo - sym, hi - sym);
      p.padded |= lo != hi;
      p.g.in[d] += lo + hi - 2 * sym;
      p.g.pad_lo[d] = p.g.pad_hi[d] = sym;
    } else {
      const int64_t s = g.in_dil[d], pc = (g.kernel[d] - 1) * g.k_dil[d] - lo, grow = std::max<int64_t>(lo - hi, 0);
      if (g.stride[d] != 1 || g.in[d] < 1 || pc < 0 || hi - lo >= s) return std::nullopt;
      p.extra.emplace_back(0, grow);
      p.padded |= grow > 0;
      p.g.in[d] = g.out[d] + grow;
      p.g.out[d] = g.in[d];
      p.g.stride[d] = s;
      p.g.pad_lo[d] = p.g.pad_hi[d] = pc;
      p.g.in_dil[d] = 1;
    }
  }
  p.extra.emplace_back(0, 0);
  if (!cuda::backend().cudnn_supports(p.g, t.dtype())) return std::nullopt;
  return p;
}
Tensor pad_by(const Tensor& t, const CudnnProblem& p) { return p.padded ? pad(t, p.extra) : t; }
Tensor crop_by(const Tensor& t, const CudnnProblem& p) {
  if (!p.padded) return t;
  std::vector<std::pair<int64_t, int64_t>> crop;
  for (auto [lo, hi] : p.extra) crop.emplace_back(-lo, -hi);
  return pad(t, crop);
}
// The input of cuDNN's problem, channels last.
Shape cudnn_input_shape(const ConvGeometry& g) {
  Shape s{g.batch};
  for (int d = 0; d < g.nd; ++d) s.push_back(g.in[d]);
  s.push_back(g.channels);
  return s;
}
// axon's HWIO kernel [K..., C/G, Cout] as cuDNN's [Cout, K..., C/G] for the direct problem; for the
// transposed one (whose output channels are our C) [C, K..., Cout/G], i.e. [G, C/G, K..., Cout/G].
Tensor kernel_to_cudnn(const Tensor& w, const CudnnProblem& p) {
  const int64_t nd = p.g.nd;
  std::vector<int64_t> order;
  if (!p.transposed) {
    order.push_back(nd + 1);
    for (int64_t d = 0; d <= nd; ++d) order.push_back(d);
    return w.permute(order).contiguous();
  }
  Shape s(w.shape().begin(), w.shape().begin() + nd);
  s.insert(s.end(), {w.shape()[nd], p.g.groups, w.shape()[nd + 1] / p.g.groups});
  order = {nd + 1, nd};
  for (int64_t d = 0; d < nd; ++d) order.push_back(d);
  order.push_back(nd + 2);
  return w.view(s).permute(order).contiguous();
}
// The inverse of kernel_to_cudnn: the kernel gradient back to HWIO.
Tensor kernel_from_cudnn(const Tensor& wk, const CudnnProblem& p) {
  const int64_t nd = p.g.nd;
  std::vector<int64_t> order;
  if (!p.transposed) {
    for (int64_t d = 1; d <= nd + 1; ++d) order.push_back(d);
    order.push_back(0);
    return wk.permute(order).contiguous();
  }
  const int64_t groups = p.g.groups, cg = wk.shape()[0] / groups, coutg = wk.shape().back();
  Shape s{groups, cg};
  s.insert(s.end(), wk.shape().begin() + 1, wk.shape().end());
  for (int64_t d = 2; d < nd + 2; ++d) order.push_back(d);
  order.insert(order.end(), {1, 0, nd + 2});
  Shape hwio(wk.shape().begin() + 1, wk.shape().end() - 1);
  hwio.insert(hwio.end(), {cg, groups * coutg});
  return wk.view(s).permute(order).contiguous().view(hwio);
}
Shape cudnn_kernel_shape(const ConvGeometry& g) {
  Shape s{g.out_channels};
  for (int d = 0; d < g.nd; ++d) s.push_back(g.kernel[d]);
  s.push_back(g.channels / g.groups);
  return s;
}
kernels::cudnn::Setup setup_for(const CudnnProblem& p, WorkspaceKeep& keep) {
  cuda::Context& ctx = cuda::context(keep.device.index);
  return {allow_tf32(), p.transposed, ctx.cudnn(), cuda::stream(keep.device.index), workspace_for(keep)};
}
#endif

}  // namespace

Tensor conv_forward_last(const Tensor& x, const Tensor& w, const ConvGeometry& g) {
  Shape out_shape = conv_output_shape(g, Channels::last);
  const int64_t rows = g.batch * g.out_pixels();
  const int64_t K = g.kernel_pixels(), Cg = g.channels / g.groups, Coutg = g.out_channels / g.groups;
  if (numel(out_shape) == 0) return empty(out_shape, x.dtype(), x.device());
  if (Cg == 0) return zeros(out_shape, x.dtype(), x.device());
#ifdef AXON_HAS_CUDNN
  // cuDNN where it has an algorithm for the problem, else the im2col path below.
  if (auto p = cudnn_problem(x, g)) {
    WorkspaceKeep keep{x.device(), {}};
    const auto setup = setup_for(*p, keep);
    Tensor wk = kernel_to_cudnn(w, *p);
    if (!p->transposed) {
      Tensor y = empty(out_shape, x.dtype(), x.device());
      Tensor xp = pad_by(x, *p);
      if (cuda::backend().cudnn_forward(x.dtype(), xp.data_ptr(), wk.data_ptr(), y.data_ptr(), p->g, setup)) return y;
    } else {
      Tensor y = empty(cudnn_input_shape(p->g), x.dtype(), x.device());
      if (cuda::backend().cudnn_backward_data(x.dtype(), x.data_ptr(), wk.data_ptr(), y.data_ptr(), p->g, setup))
        return crop_by(y, *p);
    }
  }
#endif
  if (is_pointwise(g))
    return matmul(x.view({rows, g.channels}), w.view({g.channels, g.out_channels})).view(out_shape);
  if (use_depthwise(x, g)) {
    Tensor y = empty(out_shape, x.dtype(), x.device());
    kernels::cpu::depthwise_forward(x.dtype(), x.data_ptr(), w.data_ptr(), y.data_ptr(), g);
    return y;
  }
  if (use_cpu_gemm(x)) {
    Tensor y = empty(out_shape, x.dtype(), x.device());
    kernels::cpu::conv_forward_best(x.dtype(), x.data_ptr(), w.data_ptr(), y.data_ptr(), g);
    return y;
  }

  const int64_t chunk = batch_chunk(g, x.dtype());
  const ColLayout layout{K * g.channels, K * Cg};
  std::vector<Tensor> parts;
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t cnt = std::min(chunk, g.batch - n0);
    const int64_t r = cnt * g.out_pixels();
    Tensor col = empty({r, K * g.channels}, x.dtype(), x.device());
    im2col(x, col, g, layout, n0, cnt);
    if (g.groups == 1) {
      parts.push_back(matmul(col, w.view({K * g.channels, g.out_channels})));
    } else {
      Tensor a = col.view({r, g.groups, K * Cg}).permute({1, 0, 2});
      Tensor b = w.view({K * Cg, g.groups, Coutg}).permute({1, 0, 2});
      parts.push_back(matmul(a, b).permute({1, 0, 2}).contiguous().view({r, g.out_channels}));
    }
  }
  Tensor y = parts.size() == 1 ? parts[0] : concat(parts, 0);
  return y.view(out_shape);
}

Tensor conv_forward_last_epilogue(const Tensor& x, const Tensor& w, const ConvGeometry& g, const Tensor& b,
                                  kernels::DenseAct act) {
  const Shape out_shape = conv_output_shape(g, Channels::last);
  // The CPU's f32 / f64 kernels (not the 1x1 and depthwise ones): the epilogue inside oneDNN's primitive
  // where that runs the conv, else right after the im2col path's GEMMs.
  if (use_cpu_gemm(x) && numel(out_shape) > 0 && g.channels / g.groups > 0 && !is_pointwise(g) &&
      !use_depthwise(x, g)) {
    Tensor y = empty(out_shape, x.dtype(), x.device());
    const Tensor bc = b.defined() ? b.contiguous() : Tensor();
    kernels::cpu::conv_forward_epilogue_best(x.dtype(), x.data_ptr(), w.data_ptr(),
                                             bc.defined() ? bc.data_ptr() : nullptr, act, y.data_ptr(), g);
    return y;
  }
  Tensor y = conv_forward_last(x, w, g).contiguous();  // fresh: the epilogue writes it in place
  if (g.out_channels > 0) epilogue(act, y, b, y.numel() / g.out_channels, g.out_channels);
  return y;
}

Tensor conv_backward_data_last(const Tensor& dy, const Tensor& w, const ConvGeometry& g) {
  const Shape in_shape = in_shape_last(g);
  const int64_t rows = g.batch * g.out_pixels();
  const int64_t K = g.kernel_pixels(), Cg = g.channels / g.groups, Coutg = g.out_channels / g.groups;
  if (numel(in_shape) == 0) return empty(in_shape, dy.dtype(), dy.device());
  if (dy.numel() == 0) return zeros(in_shape, dy.dtype(), dy.device());
#ifdef AXON_HAS_CUDNN
  if (auto p = cudnn_problem(dy, g)) {
    WorkspaceKeep keep{dy.device(), {}};
    const auto setup = setup_for(*p, keep);
    Tensor wk = kernel_to_cudnn(w, *p);
    if (!p->transposed) {
      Tensor dx = empty(cudnn_input_shape(p->g), dy.dtype(), dy.device());
      if (cuda::backend().cudnn_backward_data(dy.dtype(), dy.data_ptr(), wk.data_ptr(), dx.data_ptr(), p->g, setup))
        return crop_by(dx, *p);
    } else {
      Tensor dx = empty(in_shape, dy.dtype(), dy.device());
      Tensor dyp = pad_by(dy, *p);
      if (cuda::backend().cudnn_forward(dy.dtype(), dyp.data_ptr(), wk.data_ptr(), dx.data_ptr(), p->g, setup))
        return dx;
    }
  }
#endif
  if (is_pointwise(g))
    return matmul(dy.view({rows, g.out_channels}), w.view({g.channels, g.out_channels}).t()).view(in_shape);
  if (use_depthwise(dy, g)) {
    Tensor dx = empty(in_shape, dy.dtype(), dy.device());
    kernels::cpu::depthwise_backward_data(dy.dtype(), dy.data_ptr(), w.data_ptr(), dx.data_ptr(), g);
    return dx;
  }
  if (use_cpu_gemm(dy)) {
    Tensor dx = empty(in_shape, dy.dtype(), dy.device());
    kernels::cpu::conv_backward_data_best(dy.dtype(), dy.data_ptr(), w.data_ptr(), dx.data_ptr(), g);
    return dx;
  }

  Tensor dx = empty(in_shape, dy.dtype(), dy.device());
  const int64_t chunk = batch_chunk(g, dy.dtype());
  const int64_t opx = g.out_pixels();
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t cnt = std::min(chunk, g.batch - n0);
    const int64_t r = cnt * opx;
    Tensor dy2 = dy.view({rows, g.out_channels}).slice(0, n0 * opx, n0 * opx + r);
    if (g.groups == 1) {
      Tensor dcol = matmul(dy2, w.view({K * g.channels, g.out_channels}).t());
      col2im(dcol, dx, g, ColLayout{K * g.channels, K * Cg}, n0, cnt);
    } else {
      // [G, r, K * Cg]: group g of row i at g * r * K * Cg + i * K * Cg.
      Tensor a = dy2.view({r, g.groups, Coutg}).permute({1, 0, 2});
      Tensor b = w.view({K * Cg, g.groups, Coutg}).permute({1, 2, 0});
      Tensor dcol = matmul(a, b);
      col2im(dcol, dx, g, ColLayout{K * Cg, r * K * Cg}, n0, cnt);
    }
  }
  return dx;
}

Tensor conv_backward_filter_last(const Tensor& x, const Tensor& dy, const ConvGeometry& g) {
  const Shape k_shape = kernel_shape_last(g);
  const int64_t rows = g.batch * g.out_pixels();
  const int64_t K = g.kernel_pixels(), Cg = g.channels / g.groups, Coutg = g.out_channels / g.groups;
  if (numel(k_shape) == 0) return empty(k_shape, x.dtype(), x.device());
  if (rows == 0) return zeros(k_shape, x.dtype(), x.device());
#ifdef AXON_HAS_CUDNN
  if (auto p = cudnn_problem(x, g)) {
    WorkspaceKeep keep{x.device(), {}};
    const auto setup = setup_for(*p, keep);
    Tensor dwk = empty(cudnn_kernel_shape(p->g), x.dtype(), x.device());
    // cuDNN's (input, output gradient): (x, dy) for the direct problem, (dy, x) for the transposed one.
    Tensor a = p->transposed ? pad_by(dy, *p) : pad_by(x, *p), b = p->transposed ? x : dy;
    if (cuda::backend().cudnn_backward_filter(x.dtype(), a.data_ptr(), b.data_ptr(), dwk.data_ptr(), p->g, setup))
      return kernel_from_cudnn(dwk, *p);
  }
#endif
  if (is_pointwise(g))
    return matmul(x.view({rows, g.channels}).t(), dy.view({rows, g.out_channels})).view(k_shape);
  if (use_depthwise(x, g)) {
    Tensor dw = empty(k_shape, x.dtype(), x.device());
    kernels::cpu::depthwise_backward_filter(x.dtype(), x.data_ptr(), dy.data_ptr(), dw.data_ptr(), g);
    return dw;
  }
  if (use_cpu_gemm(x)) {
    Tensor dw = empty(k_shape, x.dtype(), x.device());
    kernels::cpu::conv_backward_filter_best(x.dtype(), x.data_ptr(), dy.data_ptr(), dw.data_ptr(), g);
    return dw;
  }

  const int64_t chunk = batch_chunk(g, x.dtype());
  const int64_t opx = g.out_pixels();
  const ColLayout layout{K * g.channels, K * Cg};
  Tensor dw;
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t cnt = std::min(chunk, g.batch - n0);
    const int64_t r = cnt * opx;
    Tensor col = empty({r, K * g.channels}, x.dtype(), x.device());
    im2col(x, col, g, layout, n0, cnt);
    Tensor dy2 = dy.view({rows, g.out_channels}).slice(0, n0 * opx, n0 * opx + r);
    Tensor part;
    if (g.groups == 1) {
      part = matmul(col.t(), dy2);
    } else {
      Tensor a = col.view({r, g.groups, K * Cg}).permute({1, 2, 0});
      Tensor b = dy2.view({r, g.groups, Coutg}).permute({1, 0, 2});
      part = matmul(a, b).permute({1, 0, 2}).contiguous();
    }
    dw = dw.defined() ? add(dw, part) : part;
  }
  return dw.reshape(k_shape);
}

}  // namespace axon::detail
