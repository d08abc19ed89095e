// fused_conv: the conv (any of conv's paths) with bias + activation: inside oneDNN's primitive (its
// bias and relu post-op) where that runs the conv, else one in-place pass over the channels-last
// output, a [rows, Cout] matrix like a GEMM's, by the dense epilogue's kernels (CPU and CUDA). The backward forms act' and the bias gradient in one pass, then calls conv's
// two adjoints. One tape entry instead of conv + add + activation's three, no temporaries between.
#include <axon/ops.hpp>

#include "conv_geometry.hpp"
#include "fused_epilogue.hpp"

namespace axon {

namespace {

void check_bias(const char* op, const Tensor& input, const Tensor& bias, const kernels::ConvGeometry& g) {
  if (!bias.defined()) return;
  AXON_CHECK(bias.dim() == 1 && bias.size(0) == g.out_channels, op,
             "bias must have shape [{}] (the kernel's output channels), got {}", g.out_channels, describe(bias));
  AXON_CHECK(bias.dtype() == input.dtype(), op, "bias must have the input's dtype {}, got {}",
             dtype_name(input.dtype()), describe(bias));
  detail::same_device(op, {&input, &bias});
}

// The bias along the channel axis of a conv output y (the composite path).
Tensor add_bias(const Tensor& y, const Tensor& bias, Channels ch) {
  if (!bias.defined()) return y;
  if (ch == Channels::last) return add(y, bias);
  Shape s(static_cast<size_t>(y.dim() - 1), 1);
  s[0] = bias.size(0);
  return add(y, bias.reshape(s));
}

// Every axis of a conv output but its channel axis.
std::vector<int64_t> non_channel_axes(int64_t rank, Channels ch) {
  std::vector<int64_t> axes;
  const int64_t cax = ch == Channels::last ? rank - 1 : 1;
  for (int64_t a = 0; a < rank; ++a)
    if (a != cax) axes.push_back(a);
  return axes;
}

}  // namespace

Tensor fused_conv(const Tensor& input, const Tensor& kernel, const Tensor& bias, const ConvOptions& o,
                  FusedActivation activation, const char* op) {
  detail::conv_check_operands(op, input, "input", kernel, "kernel");
  const auto g = detail::conv_geometry(input.shape(), kernel.shape(), o, op);
  check_bias(op, input, bias, g);
  const kernels::DenseAct act = detail::kernel_act(activation, op);
  if (input.dtype() != DType::f32 && input.dtype() != DType::f64)  // the 16-bit types: the composite ops
    return detail::activate(activation, add_bias(conv(input, kernel, o, op), bias, o.channels), op);
  Tensor y_last, y;
  {
    NoGrad ng;
    Tensor x = detail::input_to_last(input, o.channels).contiguous();
    Tensor w = detail::kernel_to_last(kernel, o.channels).contiguous();
    y_last = detail::conv_forward_last_epilogue(x, w, g, bias, act);
    y = detail::output_from_last(y_last, o.channels).contiguous();
  }
  if (!autograd::recording()) return y;
  std::vector<Tensor> inputs{input, kernel};
  if (bias.defined()) inputs.push_back(bias);
  autograd::record("fused_conv", inputs, {y}, [input, kernel, o, y, y_last, activation, act, op,
                                               has_bias = bias.defined()](const autograd::Grads& gr) {
    autograd::Grads d(has_bias ? 3 : 2);
    const bool want_db = has_bias && autograd::needs_input_grad(2);
    const Tensor dy = detail::grad_as_dtype(gr[0], kernel.dtype());
    Tensor dz;
    // Grad of grad: differentiable ops on the recorded y. On CUDA the same ops too: the dense epilogue's
    // backward kernel spreads over columns only, and a conv output has N * H * W rows to a column.
    if (autograd::recording() || !y_last.device().is_cpu()) {
      dz = detail::composite_backward(activation, y, dy, op);
      if (want_db) d[2] = sum(dz, non_channel_axes(dz.dim(), o.channels));
    } else {
      const int64_t cout = y_last.shape().back();
      const Tensor dy_last = detail::input_to_last(dy, o.channels).contiguous();
      auto [dz_last, db] = detail::epilogue_backward(act, y_last, dy_last, want_db,
                                                     cout > 0 ? y_last.numel() / cout : 0, cout);
      dz = detail::output_from_last(dz_last, o.channels);
      if (want_db) d[2] = db;
    }
    if (autograd::needs_input_grad(0)) d[0] = conv_backward_data(dz, kernel, input.shape(), o);
    if (autograd::needs_input_grad(1)) d[1] = conv_backward_filter(input, dz, kernel.shape(), o);
    return d;
  });
  return y;
}

}  // namespace axon
