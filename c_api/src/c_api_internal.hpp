#pragma once
// What the C ABI's functions share: the handles' contents and the guard that turns every C++
// exception into a status code and this thread's last error (no exception crosses the C ABI).
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <axon/cuda_context.hpp>
#include <axon/model.hpp>
#include <axon/tensor.hpp>
#include <axon/train.hpp>

#include "axon_c.h"

struct axon_tensor_t {
  axon::Tensor t;
};
struct axon_model_t {
  axon::Model model;
  axon::Params params;
  axon::Device device;
};
struct axon_optimizer_t {
  axon_model_t* model;
  axon::training::Step step;
  axon::training::StepState state;
  bool started = false;  // state holds the step's initial state
};

namespace axon::c_api {

// A caller error the C++ API cannot see (a null pointer, an enum out of range): AXON_ERROR_INVALID_ARGUMENT.
struct InvalidArgument : std::exception {
  std::string message;
  explicit InvalidArgument(std::string m) : message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

axon_status fail(axon_status status, const char* message) noexcept;
axon_status fail_current_exception() noexcept;

// ExternalStream guards for the streams this thread set with axon_set_stream.
struct StreamScope {
  std::vector<std::unique_ptr<cuda::ExternalStream>> guards;
  StreamScope();
};

// Runs f under this thread's external streams and maps what it throws to a status.
template <class F>
axon_status guarded(F&& f) noexcept {
  try {
    StreamScope streams;
    f();
    return AXON_OK;
  } catch (...) {
    return fail_current_exception();
  }
}

// Throws InvalidArgument("<op>: <what> is NULL") when p is null.
void require(const void* p, const char* op, const char* what);
Device device_arg(const char* op, int device_type, int device_index);
DType dtype_arg(const char* op, int dtype);
Tensor& tensor_of(axon_tensor t, const char* op, const char* what = "tensor");
std::vector<Tensor> tensors_of(const char* op, int n, const axon_tensor* ts, const char* what);
axon_tensor new_handle(Tensor t);
// Copies src into dst (same shape; across devices and dtypes).
void copy_into(const char* op, const Tensor& src, const Tensor& dst);

}  // namespace axon::c_api
