#pragma once
// Indexing along one axis (take, index_select, gather, scatter_add, one_hot). Index tensors are i32
// or i64. Operands are addressed by Indexers over the iteration shape; the indexed axis appears
// as `axis_stride` (the data's stride along it), added `index` times to the Indexer's offset.
// Negative indices wrap (-1 is the last element). Front-ends validate indices first with
// find_bad_index; the kernels only guard memory (an index still out of range reads 0 / adds nothing).
#include <axon/kernels/common.hpp>

namespace axon::kernels {
namespace cpu {
// Position (0..n-1, in ii's element order) of the first index outside [-size, size) -- or outside
// [0, size) when !allow_negative --, or -1 when every index is valid.
int64_t find_bad_index(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t size,
                       bool allow_negative);
// out[i] = x[ix.offset(i) + index[ii.offset(i)] * axis_stride] for i < n; out contiguous. Any dtype.
void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n);
// out[io.offset(i) + index[ii.offset(i)] * axis_stride] += src[is.offset(i)] for i < n, in order.
// Floating types, i32 and i64.
void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n);
// out[i, c] = (labels[il.offset(i)] == c) for i < n, c < num_classes; out contiguous. Any dtype.
void one_hot(DType idx_dt, const void* labels, const Indexer& il, int64_t n, int64_t num_classes, DType dt,
             void* out);
}  // namespace cpu

namespace cuda {
// As on the CPU. `scratch` is 8 bytes of device memory; the answer is read back (one stream
// synchronisation). While the stream is being captured into a CUDA graph no synchronisation is
// allowed: the check is skipped and returns -1.
int64_t find_bad_index(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t size,
                       bool allow_negative, void* scratch, cudaStream_t s);
void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n, cudaStream_t s);
// With atomicAdd: the order of additions to one element is unspecified.
void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n,
                 cudaStream_t s);
void one_hot(DType idx_dt, const void* labels, const Indexer& il, int64_t n, int64_t num_classes, DType dt,
             void* out, cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
