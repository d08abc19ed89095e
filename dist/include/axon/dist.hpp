#pragma once
// axon::dist: collectives across processes, over MPI for CPU tensors and over NCCL for CUDA tensors
// (the backend is chosen by the tensor's device; NCCL's unique id travels through MPI). Library
// axon_dist (CMake target axon::dist), built when MPI is found (-DAXON_MPI=AUTO|ON|OFF); its NCCL
// path when NCCL is found as well in a CUDA build (-DAXON_NCCL=AUTO|ON|OFF).
//
//   auto comm = axon::dist::Communicator::world();    // initialises MPI unless the caller did
//   Tensor g = comm.all_reduce(grad, ReduceOp::mean);
//   auto step = train_step(model, loss, "adam", {.data_parallel = comm});
//
// Launch with mpirun / srun (one process per CPU socket or per GPU); there is no launcher of our own.
//
// Every collective must be called by every rank of the communicator in the same order with tensors
// of the same shape and dtype (MPI's and NCCL's rule). Results are new tensors on the input's
// device; inputs are never modified. Errors are axon::Error naming the op, the rank and the
// backend's own message:
//   "dist.all_reduce: rank 1 of 2 (MPI): MPI_ERR_TRUNCATE: message truncated"
// A collective that has not completed within CommunicatorOptions::timeout_seconds fails the same
// way (a peer that died or stopped calling collectives); under mpirun a peer that dies also makes
// mpirun stop the whole job, naming the rank that failed.
#include <chrono>
#include <memory>
#include <string>

#include <mpi.h>

#include <axon/tensor.hpp>
#include <axon/train/data_parallel.hpp>

namespace axon::dist {

enum class ReduceOp { sum, mean, max };
const char* reduce_op_name(ReduceOp op);

struct CommunicatorOptions {
  // How long a collective may wait for its peers before it fails (<= 0: forever). The environment
  // variable AXON_DIST_TIMEOUT (seconds) overrides it.
  double timeout_seconds = 600;
  // Size of the gradient buckets of the data-parallel step (training::DataParallel): parameters are
  // packed into flat buffers of about this many bytes, each all-reduced as one message.
  std::size_t bucket_bytes = std::size_t(25) << 20;
  // Start each bucket's all-reduce from the backward pass, as soon as its gradients are final
  // (autograd's grad_ready), instead of after it. Buckets fill from the last layers, whose
  // gradients come first; a model smaller than one bucket gains nothing.
  bool overlap = true;
};

namespace detail {
struct CommState;
struct Pending;
}  // namespace detail

// A non-blocking collective in flight. wait() returns its result (the same tensor the blocking
// call returns) or throws; a Work that is never waited on is completed by its destructor.
class Work {
 public:
  Work() = default;
  explicit Work(std::shared_ptr<detail::Pending> p) : p_(std::move(p)) {}
  Tensor wait();
  bool test();  // completed (the result is then ready for wait() without blocking)
  bool valid() const { return static_cast<bool>(p_); }

 private:
  std::shared_ptr<detail::Pending> p_;
};

class Communicator {
 public:
  // MPI_COMM_WORLD. Initialises MPI (MPI_THREAD_FUNNELED) when the program has not, and then
  // finalises it at exit; a program that initialised MPI itself keeps that job. Each call makes a
  // communicator of its own (MPI_Comm_dup: every rank must call it); copies share one.
  static Communicator world(CommunicatorOptions options = {});
  // The caller's communicator (MPI already initialised by the caller). It is duplicated, so axon's
  // messages never match the caller's; the caller keeps ownership of `comm`.
  static Communicator from_mpi(MPI_Comm comm, CommunicatorOptions options = {});

  int rank() const;
  int size() const;
  // The rank among the processes of this node (MPI_COMM_TYPE_SHARED): the GPU to use.
  int local_rank() const;
  int local_size() const;
  // "MPI" for CPU tensors, "NCCL" or "none" (built without NCCL) for CUDA ones.
  static const char* backend(Device device);
  static bool nccl_available();
  const CommunicatorOptions& options() const;
  // The duplicated MPI communicator axon uses.
  MPI_Comm mpi_comm() const;

  Tensor all_reduce(const Tensor& t, ReduceOp op = ReduceOp::sum) const;
  // root's tensor on every rank; other ranks pass a tensor of the same shape and dtype.
  Tensor broadcast(const Tensor& t, int root = 0) const;
  // Every rank's tensor concatenated along axis 0, in rank order (0-d tensors become [size]).
  Tensor all_gather(const Tensor& t) const;
  // Axis 0 (divisible by size()) split into size() parts; rank r gets part r reduced over the ranks.
  Tensor reduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::sum) const;
  void barrier() const;

  Work iall_reduce(const Tensor& t, ReduceOp op = ReduceOp::sum) const;
  Work ibroadcast(const Tensor& t, int root = 0) const;
  Work iall_gather(const Tensor& t) const;
  Work ireduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::sum) const;
  Work ibarrier() const;

  // Stops every process of the job (MPI_Abort), for a rank that cannot go on: mpirun reports the
  // rank and code.
  [[noreturn]] void abort(int code = 1) const;

  // The data-parallel hooks of the train step and trainer (training::DataParallel): parameters
  // broadcast from rank 0, gradients bucketed and averaged, metrics averaged.
  training::DataParallel data_parallel() const;
  operator training::DataParallel() const { return data_parallel(); }

 private:
  explicit Communicator(std::shared_ptr<detail::CommState> s) : s_(std::move(s)) {}
  std::shared_ptr<detail::CommState> s_;
};

// Averages a set of parameters (or gradients) over the ranks in buckets of about bucket_bytes:
// one flat buffer per bucket, all buckets in flight at once, then unpacked. Unchanged on one rank.
Params average_params(const Communicator& comm, const Params& params);

}  // namespace axon::dist
