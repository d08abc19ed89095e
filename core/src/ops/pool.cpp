// max_pool_nhwc: direct kernel forward that also records each window's argmax; the backward is a
// direct gather kernel, or, while a tape records the backward (grad of grad), the equivalent
// scatter_add of the output gradient to those positions.
#include <axon/kernels/pool.hpp>
#include <axon/pool_ops.hpp>

#include "elementwise.hpp"
#include "internal.hpp"

namespace axon {

Tensor max_pool_nhwc(const Tensor& x0, const std::vector<int64_t>& window,
                     const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                     const std::vector<std::pair<int64_t, int64_t>>& pads) {
  const char* op = "max_pool";
  detail::check_defined(op, x0);
  const int64_t k = x0.dim() - 2;
  AXON_CHECK(k >= 1 && k <= 3, op, "expects 1 to 3 spatial axes ([N, S..., C]), got {}", describe(x0));
  AXON_CHECK(is_floating(x0.dtype()), op, "the input must be floating, got {}", describe(x0));
  AXON_CHECK(static_cast<int64_t>(window.size()) == k && static_cast<int64_t>(strides.size()) == k &&
                 static_cast<int64_t>(dilations.size()) == k && static_cast<int64_t>(pads.size()) == k,
             op, "window, strides, dilations and pads need {} entries each for input {}", k, describe(x0));
  kernels::PoolGeometry g;
  g.n = x0.size(0);
  g.c = x0.size(k + 1);
  Shape out_shape{g.n};
  for (int64_t i = 0; i < k; ++i) {
    const int64_t a = 3 - k + i;  // right-align into (D, H, W)
    AXON_CHECK(
        window[i] > 0 && strides[i] > 0 && dilations[i] > 0 && pads[i].first >= 0 && pads[i].second >= 0, op,
        "window, strides and dilations must be positive and pads >= 0");
    g.in[a] = x0.size(1 + i);
    g.window[a] = window[i];
    g.stride[a] = strides[i];
    g.dilation[a] = dilations[i];
    g.pad_lo[a] = pads[i].first;
    const int64_t eff = (window[i] - 1) * dilations[i] + 1, padded = g.in[a] + pads[i].first + pads[i].second;
    AXON_CHECK(padded >= eff, op,
               "window {} (dilated extent {}) is larger than the padded input ({} on spatial axis {}) of {}",
               window[i], eff, padded, i, describe(x0));
    g.out[a] = (padded - eff) / strides[i] + 1;
    out_shape.push_back(g.out[a]);
  }
  out_shape.push_back(g.c);
  Tensor x;
  {
    NoGrad ng;
    x = x0.is_contiguous() ? x0 : contiguous(x0);
  }
  const Device dev = x.device();
  Tensor y(out_shape, x.dtype(), dev);
  // The argmax only serves the backward: on the CPU, a call nothing records (inference) skips it.
  if (dev.is_cpu() && !autograd::recording()) {
    if (y.numel() > 0) kernels::cpu::max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), nullptr, g);
    return y;
  }
  Tensor idx(out_shape, DType::i64, dev);
  if (y.numel() > 0)
    AXON_ON_DEVICE(
        dev, kernels::cpu::max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), idx.data<int64_t>(), g),
        cuda::backend().max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), idx.data<int64_t>(), g,
                                         detail::stream_for(dev)));
  const Shape in_shape = x0.shape();
  const DType dt = x.dtype();
  autograd::record(op, {x0}, {y}, [idx, in_shape, g, dt, dev](const autograd::Grads& gr) {
    const int64_t in_sp = g.in[0] * g.in[1] * g.in[2], out_sp = g.out[0] * g.out[1] * g.out[2];
    Tensor dy = gr[0];
    if (!autograd::recording()) {  // direct gather kernel
      Tensor dyc;
      {
        NoGrad ng;
        dyc = detail::to_dtype_untracked(dy, dt);
        if (!dyc.is_contiguous()) dyc = contiguous(dyc);
      }
      Tensor dx(in_shape, dt, dev);
      if (dx.numel() > 0)
        AXON_ON_DEVICE(
            dev, kernels::cpu::max_pool_backward(dt, dyc.data_ptr(), idx.data<int64_t>(), dx.data_ptr(), g),
            cuda::backend().max_pool_backward(dt, dyc.data_ptr(), idx.data<int64_t>(), dx.data_ptr(), g,
                                              detail::stream_for(dev)));
      return autograd::Grads{dx};
    }
    // Recorded backward (grad of grad): the same adjoint as a scatter_add.
    Tensor valid = ge(idx, 0);
    Tensor i3 = reshape(where(valid, idx, zeros_like(idx)), {g.n, out_sp, g.c});
    Tensor src = reshape(where(valid, dy, zeros_like(dy)), {g.n, out_sp, g.c});
    Tensor dx = scatter_add(zeros({g.n, in_sp, g.c}, dy.dtype(), dy.device()), 1, i3, src);
    return autograd::Grads{reshape(dx, in_shape)};
  });
  return y;
}

}  // namespace axon
