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
// Whole rows (the dims after the indexed axis, dense): for o < outer, j < m, with v = index[o·idx_pitch + j]
// (idx contiguous; idx_pitch 0 when every o shares one index), the row_bytes bytes at
// x + o·outer_pitch + v·row_pitch (pitches in bytes) are copied to out row o·m + j (out contiguous).
// Rows are split across the thread pool.
void gather_rows(const void* x, int64_t outer, int64_t outer_pitch, int64_t row_pitch, int64_t axis_size,
                 int64_t row_bytes, DType idx_dt, const void* idx, int64_t idx_pitch, int64_t m, void* out);
// The adjoint for dense rows of `inner` elements: out [outer, axis_size, inner] and src [outer, m, inner]
// contiguous; out[o, v] += src[o, j] for v = index[o·idx_pitch + j], j in order (so each element's
// sum has the order of scatter_add's loop). Split across the pool by (o, column block): no two
// threads write one element. Floating types, i32 and i64.
void scatter_add_rows(DType dt, void* out, int64_t outer, int64_t axis_size, int64_t inner, DType idx_dt,
                      const void* idx, int64_t idx_pitch, int64_t m, const void* src);
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
