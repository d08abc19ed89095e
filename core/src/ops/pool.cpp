// max_pool_nhwc: direct kernel forward that also records each window's argmax; the backward is a
// direct gather kernel, or, while a tape records the backward (grad of grad), the equivalent
// scatter_add of the output gradient to those positions. On CUDA with cuDNN, cuDNN's pooling
// (forward from x, backward from x, y and dy) where it is the faster path for the shape, measured on
// first use (kernels/cudnn_pool_norm.hpp); avg_pool_nhwc_cudnn is the same choice for average pooling
// against the layer's composite.
#include <axon/kernels/cudnn_pool_norm.hpp>
#include <axon/kernels/pool.hpp>
#include <axon/pool_ops.hpp>

#include "elementwise.hpp"
#include "internal.hpp"
#ifdef AXON_HAS_CUDNN
#include "../cuda/backend.hpp"
#endif

namespace axon {

namespace {
using kernels::cudnn::PoolMode;

// The geometry of pooling a channels-last x (checked, as max_pool_nhwc documents) and its output shape.
kernels::PoolGeometry pool_geometry(const char* op, const Tensor& x0, const std::vector<int64_t>& window,
                                    const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                                    const std::vector<std::pair<int64_t, int64_t>>& pads, Shape& out_shape) {
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
  out_shape = {g.n};
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
  return g;
}

// dy in dtype dt, contiguous, off the tape.
Tensor contiguous_as(const Tensor& dy, DType dt) {
  NoGrad ng;
  Tensor d = detail::to_dtype_untracked(dy, dt);
  return d.is_contiguous() ? d : contiguous(d);
}

// The max-pool adjoint as a scatter_add of dy to the recorded argmax positions: differentiable, for
// a backward that a tape records (grad of grad).
Tensor max_pool_recorded_backward(const Tensor& idx, const Tensor& dy, const kernels::PoolGeometry& g,
                                  const Shape& in_shape) {
  const int64_t in_sp = g.in[0] * g.in[1] * g.in[2], out_sp = g.out[0] * g.out[1] * g.out[2];
  Tensor valid = ge(idx, 0);
  Tensor i3 = reshape(where(valid, idx, zeros_like(idx)), {g.n, out_sp, g.c});
  Tensor src = reshape(where(valid, dy, zeros_like(dy)), {g.n, out_sp, g.c});
  Tensor dx = scatter_add(zeros({g.n, in_sp, g.c}, dy.dtype(), dy.device()), 1, i3, src);
  return reshape(dx, in_shape);
}

#ifdef AXON_HAS_CUDNN
// Whether cuDNN pools x (contiguous, CUDA) into y for this problem: compiled in, supported, and the
// faster path (or forced). with_other runs the other candidate into y for the measurement.
bool cudnn_pool_chosen(PoolMode m, const Tensor& x, const Tensor& y, const kernels::PoolGeometry& g,
                       const std::function<void()>& with_other) {
  if (!x.is_cuda() || y.numel() == 0) return false;
  const cuda::Backend& b = cuda::backend();
  if (!b.cudnn_available() || !b.cudnn_pool_supports(g, x.dtype())) return false;
  cudnnContext* h = cuda::context(x.device().index).cudnn();
  cudaStream_t s = detail::stream_for(x.device());
  std::vector<int64_t> key{0, static_cast<int64_t>(m), static_cast<int64_t>(x.dtype()), g.n, g.c,
                           reinterpret_cast<int64_t>(h)};
  for (int d = 0; d < 3; ++d)
    for (int64_t v : {g.in[d], g.out[d], g.window[d], g.stride[d], g.pad_lo[d]}) key.push_back(v);
  const auto path = b.cudnn_choose(
      key, s, [&] { return b.cudnn_pool_forward(m, x.dtype(), x.data_ptr(), y.data_ptr(), g, h, s); }, with_other);
  return path == kernels::cudnn::Path::cudnn &&
         b.cudnn_pool_forward(m, x.dtype(), x.data_ptr(), y.data_ptr(), g, h, s);
}

// dx of a cuDNN pooling from x, y and dy (contiguous, x's dtype); undefined when cuDNN refuses it
// (the caller falls back) and `required` is false.
Tensor cudnn_pool_backward(PoolMode m, const Tensor& x, const Tensor& y, const Tensor& dy0,
                           const kernels::PoolGeometry& g, bool required = true) {
  Tensor dy;
  {
    NoGrad ng;
    dy = detail::to_dtype_untracked(dy0, x.dtype());
    if (!dy.is_contiguous()) dy = contiguous(dy);
  }
  Tensor dx(x.shape(), x.dtype(), x.device());
  cudnnContext* h = cuda::context(x.device().index).cudnn();
  const bool ok = cuda::backend().cudnn_pool_backward(m, x.dtype(), x.data_ptr(), y.data_ptr(), dy.data_ptr(),
                                                      dx.data_ptr(), g, h, detail::stream_for(x.device()));
  if (!ok && !required) return Tensor();
  AXON_CHECK(ok, m == PoolMode::max ? "max_pool" : "avg_pool",
             "cuDNN refused the backward of a pooling its forward ran, input {}", describe(x));
  return dx;
}

// Average pooling is linear: its backward is the adjoint A^T dy, whose own backward is the pooling
// A h again, so each records the other and gradients of gradients need no composite.
void record_avg_pool(const Tensor& x0, const Tensor& x, const Tensor& y, const kernels::PoolGeometry& g);
Tensor avg_pool_adjoint(const Tensor& x, const Tensor& y, const Tensor& dy, const kernels::PoolGeometry& g) {
  Tensor dx = cudnn_pool_backward(PoolMode::avg, x, y, dy, g);
  autograd::record("avg_pool_backward", {dy}, {dx}, [x, y, g](const autograd::Grads& h) {
    Tensor hc;
    {
      NoGrad ng;
      hc = detail::to_dtype_untracked(h[0], x.dtype());
      if (!hc.is_contiguous()) hc = contiguous(hc);
    }
    Tensor out(y.shape(), x.dtype(), x.device());
    cudnnContext* hd = cuda::context(x.device().index).cudnn();
    AXON_CHECK(cuda::backend().cudnn_pool_forward(PoolMode::avg, x.dtype(), hc.data_ptr(), out.data_ptr(), g, hd,
                                                  detail::stream_for(x.device())),
               "avg_pool", "cuDNN refused a pooling it ran before, input {}", describe(x));
    record_avg_pool(h[0], hc, out, g);
    return autograd::Grads{out};
  });
  return dx;
}
void record_avg_pool(const Tensor& x0, const Tensor& x, const Tensor& y, const kernels::PoolGeometry& g) {
  autograd::record("avg_pool", {x0}, {y},
                   [x, y, g](const autograd::Grads& gr) { return autograd::Grads{avg_pool_adjoint(x, y, gr[0], g)}; });
}
#endif
}  // namespace

Tensor max_pool_nhwc(const Tensor& x0, const std::vector<int64_t>& window,
                     const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                     const std::vector<std::pair<int64_t, int64_t>>& pads) {
  const char* op = "max_pool";
  Shape out_shape;
  const kernels::PoolGeometry g = pool_geometry(op, x0, window, strides, dilations, pads, out_shape);
  Tensor x;
  {
    NoGrad ng;
    x = x0.is_contiguous() ? x0 : contiguous(x0);
  }
  const Device dev = x.device();
  const Shape in_shape = x0.shape();
  const DType dt = x.dtype();
#ifdef AXON_HAS_CUDNN
  {
    Tensor y(out_shape, dt, dev);
    auto direct = [&] {
      Tensor scratch(out_shape, DType::i64, dev);
      cuda::backend().max_pool_forward(dt, x.data_ptr(), y.data_ptr(), scratch.data<int64_t>(), g,
                                       detail::stream_for(dev));
    };
    if (cudnn_pool_chosen(PoolMode::max, x, y, g, direct)) {
      autograd::record(op, {x0}, {y}, [x, y, g, dt, dev, out_shape](const autograd::Grads& gr) {
        if (!autograd::recording())
          if (Tensor dx = cudnn_pool_backward(PoolMode::max, x, y, gr[0], g, false); dx.defined())
            return autograd::Grads{dx};
        // Grad of grad, or cuDNN refused the backward: the argmax the direct kernel records, then the
        // scatter_add adjoint.
        Tensor scratch(out_shape, dt, dev), idx(out_shape, DType::i64, dev);
        cuda::backend().max_pool_forward(dt, x.data_ptr(), scratch.data_ptr(), idx.data<int64_t>(), g,
                                         detail::stream_for(dev));
        return autograd::Grads{max_pool_recorded_backward(idx, gr[0], g, x.shape())};
      });
      return y;
    }
  }
#endif
  Tensor y(out_shape, x.dtype(), dev);
  // The argmax only serves the backward: on the CPU, a call nothing records (inference) skips it.
  if (dev.is_cpu() && !autograd::recording()) {
    if (y.numel() > 0) kernels::cpu::max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), nullptr, g);
    return y;
  }
  // Training on the CPU: the compact argmax (a byte per output), the flat one only for grad of grad.
  if (dev.is_cpu() && g.window[0] * g.window[1] * g.window[2] <= kernels::cpu::kMaxArgWindow) {
    Tensor arg(out_shape, DType::u8, dev);
    if (y.numel() > 0) kernels::cpu::max_pool_forward_arg(dt, x.data_ptr(), y.data_ptr(), arg.data<uint8_t>(), g);
    autograd::record(op, {x0}, {y}, [x, arg, in_shape, out_shape, g, dt, dev](const autograd::Grads& gr) {
      if (!autograd::recording()) {
        const Tensor dy = contiguous_as(gr[0], dt);
        Tensor dx(in_shape, dt, dev);
        if (dx.numel() > 0) kernels::cpu::max_pool_backward_arg(dt, dy.data_ptr(), arg.data<uint8_t>(), dx.data_ptr(), g);
        return autograd::Grads{dx};
      }
      Tensor scratch(out_shape, dt, dev), idx(out_shape, DType::i64, dev);
      if (scratch.numel() > 0)
        kernels::cpu::max_pool_forward(dt, x.data_ptr(), scratch.data_ptr(), idx.data<int64_t>(), g);
      return autograd::Grads{max_pool_recorded_backward(idx, gr[0], g, in_shape)};
    });
    return y;
  }
  Tensor idx(out_shape, DType::i64, dev);
  if (y.numel() > 0)
    AXON_ON_DEVICE(
        dev, kernels::cpu::max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), idx.data<int64_t>(), g),
        cuda::backend().max_pool_forward(x.dtype(), x.data_ptr(), y.data_ptr(), idx.data<int64_t>(), g,
                                         detail::stream_for(dev)));
  autograd::record(op, {x0}, {y}, [idx, in_shape, g, dt, dev](const autograd::Grads& gr) {
    Tensor dy = gr[0];
    if (!autograd::recording()) {  // direct gather kernel
      const Tensor dyc = contiguous_as(dy, dt);
      Tensor dx(in_shape, dt, dev);
      if (dx.numel() > 0)
        AXON_ON_DEVICE(
            dev, kernels::cpu::max_pool_backward(dt, dyc.data_ptr(), idx.data<int64_t>(), dx.data_ptr(), g),
            cuda::backend().max_pool_backward(dt, dyc.data_ptr(), idx.data<int64_t>(), dx.data_ptr(), g,
                                              detail::stream_for(dev)));
      return autograd::Grads{dx};
    }
    return autograd::Grads{max_pool_recorded_backward(idx, dy, g, in_shape)};
  });
  return y;
}

Tensor avg_pool_nhwc_cudnn(const Tensor& x0, const std::vector<int64_t>& window, const std::vector<int64_t>& strides,
                           const std::vector<std::pair<int64_t, int64_t>>& pads, const std::function<void()>& reference) {
  const char* op = "avg_pool";
  Shape out_shape;
  const std::vector<int64_t> dil(window.size(), 1);
  const kernels::PoolGeometry g = pool_geometry(op, x0, window, strides, dil, pads, out_shape);
#ifdef AXON_HAS_CUDNN
  if (x0.is_cuda()) {
    Tensor x;
    {
      NoGrad ng;
      x = x0.is_contiguous() ? x0 : contiguous(x0);
    }
    Tensor y(out_shape, x.dtype(), x.device());
    if (cudnn_pool_chosen(PoolMode::avg, x, y, g, reference)) {
      record_avg_pool(x0, x, y, g);
      return y;
    }
  }
#else
  (void)reference, (void)g;
#endif
  return Tensor();
}

}  // namespace axon
