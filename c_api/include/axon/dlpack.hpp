#pragma once
// Zero-copy exchange with other frameworks through DLPack's DLManagedTensor (dlpack.h; the
// unversioned struct of DLPack 0.6 and later that LibTorch's at::toDLPack / at::fromDLPack and
// most C++ peers pass). CPU and CUDA memory; dtypes f32 f64 bf16 f16 i32 i64 u8 bool. This header
// needs no dlpack.h; a build of axon without it (CMake option AXON_DLPACK) throws axon::Error from both.
#include <axon/tensor.hpp>

struct DLManagedTensor;

namespace axon {

// A tensor over `managed`'s memory (data + byte_offset, its shape and strides), which it takes over:
// managed->deleter(managed) runs when the last tensor sharing the memory goes, or before this
// throws (an unsupported dtype or device, bad strides). The producer's writes are visible through the
// tensor and the tensor's writes through the producer's tensor. CUDA: no stream is exchanged; the
// caller orders the producer's work before axon's (e.g. a device or stream synchronisation).
Tensor from_dlpack(DLManagedTensor* managed);

// A new DLManagedTensor over t's memory (no copy) that keeps it alive until the consumer calls its
// deleter, exactly once. Shape and strides (in elements) are t's own.
DLManagedTensor* to_dlpack(const Tensor& t);

bool built_with_dlpack();

}  // namespace axon
