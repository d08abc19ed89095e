#pragma once
// Shape arithmetic and validation shared by the conv front-ends (not installed).
#include <axon/conv.hpp>
#include <axon/kernels/conv.hpp>

#include "internal.hpp"

namespace axon::detail {

// Validates shapes and options (naming `op` and the shapes) and returns the channels-last geometry.
kernels::ConvGeometry conv_geometry(const Shape& input, const Shape& kernel, const ConvOptions& o,
                                    const char* op);
// Both defined, on one device, floating, one dtype (naming `op` and the operands).
void conv_check_operands(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name);
// An output gradient in the output's dtype (a caller-supplied one may differ: vjp).
Tensor grad_as_dtype(const Tensor& g, DType dt);
// The output shape in the options' layout.
Shape conv_output_shape(const kernels::ConvGeometry& g, Channels ch);
// Layout changes between the options' layout and channels-last (views; identity for channels last).
Tensor input_to_last(const Tensor& x, Channels ch);
Tensor output_from_last(const Tensor& y, Channels ch);
Tensor kernel_to_last(const Tensor& w, Channels ch);
Tensor kernel_from_last(const Tensor& w, Channels ch);

// Channels-last computations on contiguous tensors (no tape).
Tensor conv_forward_last(const Tensor& x, const Tensor& w, const kernels::ConvGeometry& g);
// act(conv + b) (b [Cout] or undefined), fresh and contiguous.
Tensor conv_forward_last_epilogue(const Tensor& x, const Tensor& w, const kernels::ConvGeometry& g, const Tensor& b,
                                  kernels::DenseAct act);
Tensor conv_backward_data_last(const Tensor& dy, const Tensor& w, const kernels::ConvGeometry& g);
Tensor conv_backward_filter_last(const Tensor& x, const Tensor& dy, const kernels::ConvGeometry& g);

}  // namespace axon::detail
