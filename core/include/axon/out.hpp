#pragma once
// Results written into memory the caller owns (PyTorch's out= arguments, libtorch's at::add_out):
// an embedding code keeps its own buffers (a slice of a bigger array, memory wrapped with
// from_blob) and has axon write into them instead of handing back new tensors.
//
// `out` must already have the result's shape, dtype and device: nothing is broadcast into it,
// resized or cast (each error names the op and both tensors). It may be a strided view, such as a
// slice of a larger tensor: the elements it addresses are written, the rest of its storage is
// untouched. The result must not overlap the inputs' memory, except where `out` is an input of an
// elementwise op with exactly its layout (a += b as add_out(a, a, b)).
//
// These calls record nothing on the autograd tape (a gradient cannot flow into memory written in
// place): they are errors while one records, so call them under NoGrad or outside value_and_grad.
#include <axon/tensor.hpp>

namespace axon {

// dst = src, elementwise; dst keeps its layout. Each call returns its output (a handle on the same memory).
Tensor copy_into(const Tensor& dst, const Tensor& src);

// out = a op b with the same broadcasting and dtype promotion as add / sub / mul / div.
Tensor add_out(const Tensor& out, const Tensor& a, const Tensor& b);
Tensor sub_out(const Tensor& out, const Tensor& a, const Tensor& b);
Tensor mul_out(const Tensor& out, const Tensor& a, const Tensor& b);
Tensor div_out(const Tensor& out, const Tensor& a, const Tensor& b);

// out = matmul(a, b). A contiguous `out` receives the product directly from the GEMM (no
// temporary; on the CPU not for bf16 / f16, which are computed in f32 and rounded).
Tensor matmul_out(const Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace axon
