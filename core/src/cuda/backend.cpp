// The backend's table (backend.hpp): what libaxon_cuda.so hands libaxon.so when it is opened.
#include "backend.hpp"

#ifdef AXON_HAS_CUDA

// The backend's one exported symbol (cmake/libaxon_cuda.map hides every other).
extern "C" const axon::cuda::Backend* axon_cuda_backend_v1() {
  static const axon::cuda::Backend table = [] {
    axon::cuda::Backend t;
#define AXON_CUDA_BACKEND_SET(member, fn) t.member = &::axon::fn;
    AXON_CUDA_BACKEND_FUNCTIONS(AXON_CUDA_BACKEND_SET)
#undef AXON_CUDA_BACKEND_SET
    return t;
  }();
  return &table;
}

#endif
