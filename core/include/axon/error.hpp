#pragma once
#include <stdexcept>
#include <string>

// nvcc cannot compile fmt's headers, so CUDA translation units (kernels/*.cu) see only the Error
// class: they validate nothing themselves (front-ends do) and report library status codes through
// the macros of <axon/kernels/cuda_check.hpp>.
#if !defined(__CUDACC__)
#include <fmt/format.h>
#endif

namespace axon {

// Every error axon raises. what() reads "op: message" and is the same on CPU and CUDA because
// front-ends validate before any kernel or library call; file and line say where it was raised.
class Error : public std::runtime_error {
 public:
  Error(std::string msg, const char* file = "", int line = 0)
      : std::runtime_error(std::move(msg)), file_(file), line_(line) {}
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  const char* file_;
  int line_;
};

}  // namespace axon

#if !defined(__CUDACC__)
// AXON_CHECK(cond, "op", "fmt {}", args...) -> throws axon::Error("op: fmt ...").
#define AXON_CHECK(cond, op, ...)                                                         \
  do {                                                                                    \
    if (!(cond)) [[unlikely]]                                                             \
      throw ::axon::Error(std::string(op) + ": " + fmt::format(__VA_ARGS__), __FILE__, __LINE__); \
  } while (0)
#define AXON_FAIL(op, ...) \
  throw ::axon::Error(std::string(op) + ": " + fmt::format(__VA_ARGS__), __FILE__, __LINE__)
#endif
