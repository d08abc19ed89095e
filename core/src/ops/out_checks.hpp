#pragma once
// Checks shared by the out= variants (<axon/out.hpp>); not installed.
#include <axon/tensor.hpp>

namespace axon::detail {

// Throws naming `op` unless `out` is defined with exactly this shape, dtype and device.
void check_out(const char* op, const Tensor& out, const Shape& shape, DType dtype, Device device);
// Throws naming `op` while an autograd tape records: results written in place carry no gradient.
void check_not_recording(const char* op);

}  // namespace axon::detail
