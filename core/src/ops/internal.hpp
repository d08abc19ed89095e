#pragma once
// Helpers shared by op front-ends (not installed).
#include <initializer_list>
#include <vector>

#include <axon/autograd.hpp>
#include <axon/cuda_context.hpp>
#include <axon/kernels/common.hpp>
#include <axon/ops.hpp>
#include <axon/tensor.hpp>

namespace axon::detail {

// Indexers for operands read over `out_shape` (broadcast axes get stride 0), with adjacent axes
// merged wherever every operand allows it, so kernels see as few axes as possible.
std::vector<kernels::Indexer> make_indexers(const Shape& out_shape, std::initializer_list<const Tensor*> operands);
kernels::Indexer make_indexer(const Tensor& t);  // the tensor's own layout

// A tensor over t's storage with another shape, strides and offset (element units). No tape entry:
// callers use it for addressing (copying into a slab of an output) or record their own.
Tensor make_view(const Tensor& t, Shape shape, Strides strides, int64_t offset);
// Copies src (any layout) into dst, a view of the same shape on the same device, converting to
// dst's dtype: how concat, pad, slice's gradient and eye fill part of an output.
void copy_to_view(const Tensor& src, const Tensor& dst);

// Throws unless every defined tensor is on the same device; returns it.
Device same_device(const char* op, std::initializer_list<const Tensor*> ts);
// Throws naming the op when the tensor is undefined.
void check_defined(const char* op, const Tensor& t, const char* what = "input");

inline cudaStream_t stream_for(Device d) { return cuda::stream(d.index); }

// Scalar -> 0-d tensor for a binary op with a tensor of dtype `with`: keeps integer tensors
// integral for integral scalars, else the float type the tensor has (or f32).
DType scalar_result_dtype(DType with, const Scalar& s);

// Throws while this thread captures a CUDA graph (compile()): a CPU op would run once, at
// capture, and never on replay.
void check_cpu_outside_capture();

}  // namespace axon::detail

// Runs the CPU statement or, in CUDA builds, the CUDA one for tensors on a GPU. A statement with a
// top-level comma outside parentheses (a braced list `T x{a, b}`) must be wrapped in parentheses
// or a lambda, as with any macro argument.
#ifdef AXON_HAS_CUDA
#define AXON_ON_DEVICE(dev, cpu_stmt, cuda_stmt)   \
  do {                                            \
    if ((dev).is_cuda()) {                        \
      cuda_stmt;                                  \
    } else {                                      \
      ::axon::detail::check_cpu_outside_capture(); \
      cpu_stmt;                                   \
    }                                             \
  } while (0)
#else
#define AXON_ON_DEVICE(dev, cpu_stmt, cuda_stmt) \
  do {                                          \
    cpu_stmt;                                   \
  } while (0)
#endif

#ifdef AXON_HAS_CUDA
#include "../cuda/backend.hpp"  // cuda::backend(), the CUDA statements' kernels
#endif
