#pragma once
// What every kernel takes besides pointers: sizes, strides, a stream. No Tensor here.
#include <cstdint>

#include <axon/dtype.hpp>

// The CUDA runtime's own declaration, so that headers need not include cuda_runtime.h.
typedef struct CUstream_st* cudaStream_t;

namespace axon::kernels {

inline constexpr int kMaxDims = 8;

// i / d for 0 <= i, 0 < d. On the GPU a 64-bit division is a ~70-instruction subroutine and a
// 32-bit one about 20, so device code divides in 32 bits whenever both operands fit (almost
// always: the checks cost two instructions).
AXON_HD int64_t div_fast(int64_t i, int64_t d) {
#if defined(__CUDA_ARCH__)
  if (((i | d) >> 32) == 0) return int64_t(uint32_t(i) / uint32_t(d));
#endif
  return i / d;
}

// Addresses the elements of a strided operand in the row-major order of `sizes` (the output's
// shape). A broadcast axis has stride 0. Front-ends collapse adjacent axes first, so ndim is small.
struct Indexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // in elements

  // Element offset of the i-th element (row-major over sizes). Every kernel that addresses a
  // strided operand through this (copy/cast, concat, pad, gather, scatter, one_hot) gets the
  // 32-bit divisions of div_fast.
  AXON_HD int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t q = div_fast(i, sizes[d]);
      off += (i - q * sizes[d]) * strides[d];
      i = q;
    }
    return off;
  }
  // True when element i sits at offset i (no gather needed).
  bool contiguous() const {
    int64_t expect = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (sizes[d] != 1 && strides[d] != expect) return false;
      expect *= sizes[d];
    }
    return true;
  }
};

}  // namespace axon::kernels
