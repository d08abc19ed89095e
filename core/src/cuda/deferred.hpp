#pragma once
// Errors that CUDA work finds after the host has moved on, raised at the device's next host read
// (to(cpu), item(), to_vector(), synchronize(), a compiled function's check): range checks of
// indices and labels, which run on the device instead of making every eager op wait for it, and
// failed frees, which happen in destructors that must not throw. Not installed. Inside compile()'s
// capture the ops use capture::defer_check instead (the graph cannot be given a new check id per
// replay). In a CPU-only build these are no-ops.
#include <cstdint>
#include <string>

#include <axon/tensor.hpp>

typedef struct CUstream_st* cudaStream_t;

namespace axon::cuda::deferred {

// How a failed range check is worded: `a` and `b` are the check's numbers.
enum class Kind : int {
  axis_index = 0,     // "index V is out of range for axis a of size b"
  one_hot_label = 1,  // "label V is out of range for b classes"
  class_id = 2,       // "class id V is out of range: class ids must lie in [0, b)"
};

// Queues a check that every element of `index` (i32 or i64, on a CUDA device) lies in [lo, size)
// on its device's stream, without waiting. The first failure on the device since the last host
// read raises "<op>: <message>" at the next one, with the first bad value of the failing check.
// `op` must be a string literal (it is kept by address). Skipped only while the stream is being
// captured by someone other than compile() before the device's first check.
void check_range(const char* op, Kind kind, const Tensor& index, int64_t lo, int64_t size, int64_t a = 0);

// Records a failed CUDA call of cuda:index from a destructor (a free); raised like a failed check.
void record_error(int index, std::string message);

// Waits for the stream `s` of cuda:index (as cudaStreamSynchronize, its status raised naming op),
// then raises what the device recorded before it. Every host read goes through here.
void synchronize(int index, cudaStream_t s, const char* op);

}  // namespace axon::cuda::deferred
