#pragma once
// Indexing along one axis (take, index_select, gather, scatter_add, one_hot). Index tensors are i32
// or i64. Operands are addressed by Indexers over the iteration shape; the indexed axis appears
// as `axis_stride` (the data's stride along it), added `index` times to the Indexer's offset.
// Negative indices wrap (-1 is the last element). Front-ends validate indices first with
// find_bad_index (CPU) or check_range (CUDA, deferred); the kernels only guard memory (an index
// still out of range reads 0 / adds nothing).
#include <axon/kernels/common.hpp>

namespace axon::kernels {
// The dtype scatter_add adds into for src of dtype dt: f32 for bf16 and f16 (a sum of many 16-bit
// terms rounded at every step loses the low bits, e.g. 1 + 1 + ... stops at 256 in bf16; PyTorch
// accumulates these in f32 too), dt otherwise.
inline DType scatter_accumulator(DType dt) { return dt == DType::bf16 || dt == DType::f16 ? DType::f32 : dt; }

namespace cpu {
// Position (0..n-1, in ii's element order) of the first index outside [-size, size) -- or outside
// [0, size) when !allow_negative --, or -1 when every index is valid.
int64_t find_bad_index(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t size,
                       bool allow_negative);
// out[i] = x[ix.offset(i) + index[ii.offset(i)] * axis_stride] for i < n; out contiguous. Any dtype.
void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n);
// out[io.offset(i) + index[ii.offset(i)] * axis_stride] += src[is.offset(i)] for i < n, in order.
// Floating types, i32 and i64; `dt` is src's dtype, `out` has dtype scatter_accumulator(dt).
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
// threads write one element. Floating types, i32 and i64; out has dtype scatter_accumulator(dt).
void scatter_add_rows(DType dt, void* out, int64_t outer, int64_t axis_size, int64_t inner, DType idx_dt,
                      const void* idx, int64_t idx_pitch, int64_t m, const void* src);
}  // namespace cpu

namespace cuda {
// The first failed range check on a device since the host last looked: written by the device,
// read by the host after its next stream synchronisation (no wait of its own).
struct RangeFailure {
  unsigned long long owner = 0;       // the failing check's `seq`; 0 while every check passed
  unsigned long long pos = ~0ull;     // its first bad position, in ii's element order
  long long value = 0;                // the index there
  long long a = 0, b = 0;             // the check's `a`, `b` (e.g. axis and size)
  int op = 0, kind = 0;               // the check's `op`, `kind` (host-side codes)
};
// What a check reports when it fails. seq > 0 is unique per check on the device.
struct RangeCheck {
  unsigned long long seq = 0;
  int op = 0, kind = 0;
  int64_t a = 0, b = 0;
};
// Checks every index against [lo, size) on stream s without waiting: the first check to fail
// records itself and its lowest bad position and value in *rec (device memory) unless an earlier
// check has; later ones leave it. Two launches (the check, then one thread that reads the value).
void check_range(DType idx_dt, const void* idx, const Indexer& ii, int64_t n, int64_t lo, int64_t size,
                 const RangeCheck& c, RangeFailure* rec, cudaStream_t s);
// *rec = RangeFailure{} on stream s.
void reset_range_failure(RangeFailure* rec, cudaStream_t s);
void gather(DType dt, const void* x, const Indexer& ix, int64_t axis_stride, int64_t axis_size, DType idx_dt,
            const void* idx, const Indexer& ii, void* out, int64_t n, cudaStream_t s);
// out[io.offset(i) + index[ii.offset(i)] * axis_stride] += src[is.offset(i)] with atomicAdd: the
// order of additions to one element is unspecified. `dt` is src's dtype; `out` has dtype
// scatter_accumulator(dt): f32 for bf16 and f16 (16-bit atomics would round every partial sum, so
// the caller adds into an f32 copy and casts back once), dt otherwise.
void scatter_add(DType dt, void* out, const Indexer& io, int64_t axis_stride, int64_t axis_size, DType idx_dt,
                 const void* idx, const Indexer& ii, const void* src, const Indexer& is, int64_t n,
                 cudaStream_t s);
// As cpu::scatter_add_rows, with atomicAdd (the order of the additions is unspecified): one index
// load and one division per row, the row's elements along threadIdx.x.
void scatter_add_rows(DType dt, void* out, int64_t outer, int64_t axis_size, int64_t inner, DType idx_dt,
                      const void* idx, int64_t idx_pitch, int64_t m, const void* src, cudaStream_t s);
void one_hot(DType idx_dt, const void* labels, const Indexer& il, int64_t n, int64_t num_classes, DType dt,
             void* out, cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
