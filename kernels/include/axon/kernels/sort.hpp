#pragma once
// Stable sort of each row of a contiguous [rows, n] array: sorted values (same dtype) and their
// i64 positions in the row. NaN is greater than every number (last ascending, first descending,
// as NumPy and PyTorch), -0.0 equals 0.0 (their relative order is kept).
#include <axon/kernels/common.hpp>
#include <cstddef>

namespace axon::kernels {
namespace cpu {
void sort(DType dt, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n, bool descending);
}  // namespace cpu
namespace cuda {
// Device scratch sort() needs (keys, positions, segment offsets and CUB's temporary storage).
size_t sort_workspace_bytes(DType dt, int64_t rows, int64_t n);
void sort(DType dt, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n, bool descending,
          void* workspace, size_t workspace_bytes, cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
