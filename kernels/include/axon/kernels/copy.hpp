#pragma once
// Strided copy with dtype conversion: y[iy.offset(i)] = cast<dst>(x[ix.offset(i)]) for n elements;
// iy == nullptr means y is contiguous. Serves contiguous(), to(dtype), clone(), materialising
// broadcasts and writing into strided views (the gradient of slice).
#include <axon/kernels/common.hpp>

namespace axon::kernels {
namespace cpu {
void copy_cast(DType src, const void* x, const Indexer& ix, DType dst, void* y, int64_t n,
               const Indexer* iy = nullptr);
void fill(DType dt, void* y, int64_t n, double value);
}  // namespace cpu
namespace cuda {
void copy_cast(DType src, const void* x, const Indexer& ix, DType dst, void* y, int64_t n, cudaStream_t s,
               const Indexer* iy = nullptr);
void fill(DType dt, void* y, int64_t n, double value, cudaStream_t s);
}  // namespace cuda
}  // namespace axon::kernels
