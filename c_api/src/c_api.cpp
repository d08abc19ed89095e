// The C ABI's library-level functions, errors and streams (axon_c.h).
#include <cstring>
#include <new>

#include <axon/error.hpp>

#include "c_api_internal.hpp"

#ifndef AXON_VERSION_STRING
#error "AXON_VERSION_STRING is set by CMake"
#endif

namespace axon::c_api {

namespace {
thread_local std::string tl_last_error;
thread_local std::vector<void*> tl_streams;  // axon_set_stream, by device index
}  // namespace

axon_status fail(axon_status status, const char* message) noexcept {
  try {
    tl_last_error = message;
  } catch (...) {
    tl_last_error.clear();  // no memory for the message: the status still says what kind it was
  }
  return status;
}

axon_status fail_current_exception() noexcept {
  try {
    throw;
  } catch (const InvalidArgument& e) {
    return fail(AXON_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const Error& e) {
    // The allocators' messages: "allocate: out of host memory ..." / "out of memory on cuda:0 ...".
    bool oom = std::strstr(e.what(), "out of host memory") || std::strstr(e.what(), "out of memory");
    return fail(oom ? AXON_ERROR_OUT_OF_MEMORY : AXON_ERROR, e.what());
  } catch (const std::bad_alloc&) {
    return fail(AXON_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(AXON_ERROR_UNKNOWN, e.what());
  } catch (...) {
    return fail(AXON_ERROR_UNKNOWN, "unknown exception");
  }
}

StreamScope::StreamScope() {
  for (size_t i = 0; i < tl_streams.size(); ++i)
    if (tl_streams[i])
      guards.push_back(std::make_unique<cuda::ExternalStream>(static_cast<cudaStream_t>(tl_streams[i]), int(i)));
}

void require(const void* p, const char* op, const char* what) {
  if (!p) throw InvalidArgument(std::string(op) + ": " + what + " is NULL");
}

Device device_arg(const char* op, int device_type, int device_index) {
  if (device_type == AXON_CPU && device_index == 0) return Device::cpu();
  if (device_type == AXON_CUDA && device_index >= 0) return Device::cuda(device_index);
  throw InvalidArgument(fmt::format("{}: no device of type {} and index {} (AXON_CPU with index 0, or AXON_CUDA "
                                    "with index >= 0)", op, device_type, device_index));
}

DType dtype_arg(const char* op, int dtype) {
  if (dtype < 0 || dtype >= kNumDTypes)
    throw InvalidArgument(fmt::format("{}: dtype {} is not one of AXON_F32 ... AXON_BOOL (0 ... {})", op, dtype,
                                      kNumDTypes - 1));
  return static_cast<DType>(dtype);
}

}  // namespace axon::c_api

using namespace axon;
using namespace axon::c_api;

extern "C" {

const char* axon_version(void) { return AXON_VERSION_STRING; }
int axon_abi_version(void) { return AXON_C_ABI_VERSION; }
const char* axon_last_error(void) { return tl_last_error.c_str(); }

axon_status axon_cuda_device_count(int* count) {
  return guarded([&] {
    require(count, "axon_cuda_device_count", "count");
    *count = cuda_device_count();
  });
}

axon_status axon_set_stream(int device_index, void* stream) {
  try {
    if (device_index < 0)
      throw InvalidArgument(fmt::format("axon_set_stream: device index {} is negative", device_index));
    // Checked here, not at the next call: the device must exist and the build must have CUDA.
    if (stream) cuda::ExternalStream check(static_cast<cudaStream_t>(stream), device_index);
    if (static_cast<int>(tl_streams.size()) <= device_index) tl_streams.resize(device_index + 1, nullptr);
    tl_streams[device_index] = stream;
    return AXON_OK;
  } catch (...) {
    return fail_current_exception();
  }
}

}  // extern "C"
