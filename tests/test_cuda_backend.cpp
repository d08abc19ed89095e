// The CUDA backend library (core/src/cuda/backend.hpp): CPU work never opens it; a device query
// does, and then either its table is this build's, or there is none (no driver, no library), no
// device, and asking for one is an axon::Error that says why.
#include <axon/axon.hpp>

#include "harness.hpp"
#ifdef AXON_HAS_CUDA
#include "../core/src/cuda/backend.hpp"
#endif

using namespace axon;

TEST_CASE("CPU work does not open the CUDA backend", "[device]") {
  Tensor a = ones({64, 64});
  Tensor c = matmul(a, a);
  CHECK(c.to_vector<float>()[0] == 64.0f);
  CHECK(sum(relu(c)).item<float>() == 64.0f * 64 * 64);
#ifdef AXON_HAS_CUDA
  // Run alone (as ctest runs every case), nothing before this asked about CUDA.
  CHECK(cuda::loaded_backend() == nullptr);
#endif
}

TEST_CASE("a device query opens the CUDA backend, or says why there is none", "[device]") {
  const int n = cuda_device_count();
  CHECK(n >= 0);
#ifdef AXON_HAS_CUDA
  const cuda::Backend* b = cuda::loaded_backend();
  if (b) {
    CHECK(b->abi == cuda::kBackendAbi);
    CHECK(b->table_bytes == int(sizeof(cuda::Backend)));
    CHECK(b->device_count() == n);
    CHECK(cuda::backend_error().empty());
  } else {
    CHECK(n == 0);
    REQUIRE_FALSE(cuda::backend_error().empty());
    AXON_REQUIRE_THROWS_WITH(zeros({2}, DType::f32, Device::cuda()), "cuda:0 requested but no CUDA device");
    AXON_REQUIRE_THROWS_WITH(zeros({2}, DType::f32, Device::cuda()), cuda::backend_error());
  }
#else
  CHECK(n == 0);
#endif
  if (n == 0) AXON_REQUIRE_THROWS_WITH(ones({2}).to(Device::cuda()), "cuda");
}
