// conv and its two adjoints as recorded ops. Each converts to channels-last, computes without a tape
// (conv_compute.cpp) and records one entry whose backward is written with these three ops:
//   conv(x, w)                  -> dx = conv_backward_data(g, w), dw = conv_backward_filter(x, g)
//   conv_backward_data(dy, w)   -> d(dy) = conv(g, w),            dw = conv_backward_filter(g, dy)
//   conv_backward_filter(x, dy) -> dx = conv_backward_data(dy, g), d(dy) = conv(x, g)
// (each is bilinear, and <conv(x, w), dy> = <x, bwd_data(dy, w)> = <w, bwd_filter(x, dy)>).
#include "conv_geometry.hpp"

namespace axon {

namespace {

void check_shape(const char* op, const Tensor& t, const char* what, const Shape& expected) {
  AXON_CHECK(t.shape() == expected, op, "{} {} does not match the convolution's shape {}", what, describe(t),
             to_string(expected));
}

}  // namespace

Tensor conv(const Tensor& input, const Tensor& kernel, const ConvOptions& o, const char* op_name) {
  detail::conv_check_operands(op_name, input, "input", kernel, "kernel");
  const auto g = detail::conv_geometry(input.shape(), kernel.shape(), o, op_name);
  Tensor y;
  {
    NoGrad ng;
    Tensor x = detail::input_to_last(input, o.channels).contiguous();
    Tensor w = detail::kernel_to_last(kernel, o.channels).contiguous();
    y = detail::output_from_last(detail::conv_forward_last(x, w, g), o.channels).contiguous();
  }
  autograd::record("conv", {input, kernel}, {y}, [input, kernel, o](const autograd::Grads& gr) {
    const Tensor g = detail::grad_as_dtype(gr[0], kernel.dtype());
    // The first layer's input is data: its gradient would be computed for nothing.
    return autograd::Grads{
        autograd::needs_input_grad(0) ? conv_backward_data(g, kernel, input.shape(), o) : Tensor(),
        autograd::needs_input_grad(1) ? conv_backward_filter(input, g, kernel.shape(), o) : Tensor()};
  });
  return y;
}

Tensor conv_backward_data(const Tensor& grad_output, const Tensor& kernel, const Shape& input_shape,
                          const ConvOptions& o) {
  const char* op = "conv_backward_data";
  detail::conv_check_operands(op, grad_output, "grad_output", kernel, "kernel");
  const auto g = detail::conv_geometry(input_shape, kernel.shape(), o, op);
  check_shape(op, grad_output, "grad_output", detail::conv_output_shape(g, o.channels));
  Tensor dx;
  {
    NoGrad ng;
    Tensor dy = detail::input_to_last(grad_output, o.channels).contiguous();
    Tensor w = detail::kernel_to_last(kernel, o.channels).contiguous();
    dx = detail::output_from_last(detail::conv_backward_data_last(dy, w, g), o.channels).contiguous();
  }
  autograd::record(op, {grad_output, kernel}, {dx}, [grad_output, kernel, o](const autograd::Grads& gr) {
    const Tensor g = detail::grad_as_dtype(gr[0], kernel.dtype());
    return autograd::Grads{conv(g, kernel, o), conv_backward_filter(g, grad_output, kernel.shape(), o)};
  });
  return dx;
}

Tensor conv_backward_filter(const Tensor& input, const Tensor& grad_output, const Shape& kernel_shape,
                            const ConvOptions& o) {
  const char* op = "conv_backward_filter";
  detail::conv_check_operands(op, input, "input", grad_output, "grad_output");
  const auto g = detail::conv_geometry(input.shape(), kernel_shape, o, op);
  check_shape(op, grad_output, "grad_output", detail::conv_output_shape(g, o.channels));
  Tensor dw;
  {
    NoGrad ng;
    Tensor x = detail::input_to_last(input, o.channels).contiguous();
    Tensor dy = detail::input_to_last(grad_output, o.channels).contiguous();
    dw = detail::kernel_from_last(detail::conv_backward_filter_last(x, dy, g), o.channels).contiguous();
  }
  autograd::record(op, {input, grad_output}, {dw}, [input, grad_output, o](const autograd::Grads& gr) {
    const Tensor g = detail::grad_as_dtype(gr[0], input.dtype());
    return autograd::Grads{conv_backward_data(grad_output, g, input.shape(), o), conv(input, g, o)};
  });
  return dw;
}

}  // namespace axon
