#pragma once
// What the MPI communicator (communicator.cpp) and the NCCL path (nccl.cpp) share.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <axon/dist.hpp>

namespace axon::dist::detail {

enum class Kind { all_reduce, broadcast, all_gather, reduce_scatter, barrier };
const char* kind_name(Kind k);  // "dist.all_reduce", ...

// Keeps MPI initialised while any communicator lives; finalises it when axon initialised it.
struct Runtime {
  bool initialised_here = false;
  Runtime() = default;
  Runtime(Runtime&& o) noexcept : initialised_here(o.initialised_here) { o.initialised_here = false; }
  ~Runtime();
};
std::shared_ptr<Runtime> runtime();

struct NcclComm;  // nccl.cpp
void destroy_nccl(NcclComm* c);

struct CommState {
  std::shared_ptr<Runtime> rt;  // first member: destroyed last, after the communicators
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  CommunicatorOptions options;
  double timeout = 0;  // seconds; <= 0: none
  std::unique_ptr<NcclComm, void (*)(NcclComm*)> nccl{nullptr, destroy_nccl};
  ~CommState();
};

// A collective in flight: poll() says whether it completed (throwing on a backend error), finish()
// builds the result once it has.
struct Pending {
  Kind kind;
  const char* backend;
  std::shared_ptr<CommState> state;
  std::function<bool()> poll;
  std::function<Tensor()> finish;
  bool done = false;
  bool stream_ordered = false;  // NCCL: wait() returns at once, the result ordered on the device's stream
  Tensor result;
  ~Pending();
};

// "dist.<op>: rank R of N (<backend>): <message>"
[[noreturn]] void fail(Kind k, const CommState& s, const char* backend, const std::string& message);

// The NCCL path (CUDA tensors). Without NCCL in the build these fail, saying so.
std::shared_ptr<Pending> nccl_start(const std::shared_ptr<CommState>& s, Kind k, const Tensor& t, ReduceOp op, int root);
bool nccl_built();

// Shapes of the results, shared by both backends; they check the arguments.
Shape gathered_shape(Kind k, const CommState& s, const Tensor& t);
Shape scattered_shape(Kind k, const CommState& s, const char* backend, const Tensor& t);
void check_reducible(Kind k, const CommState& s, const char* backend, const Tensor& t, ReduceOp op);

}  // namespace axon::dist::detail
