// The NCCL path: CUDA tensors, one GPU per rank. The NCCL communicator is created at the first
// CUDA collective (rank 0's unique id broadcast over the MPI communicator) and runs on the
// device's axon stream, so results are stream-ordered like every other op: no host sync.
#include <cuda_runtime.h>
#include <nccl.h>

#include <axon/cuda_context.hpp>

#include "internal.hpp"

namespace axon::dist::detail {

struct NcclComm {
  ncclComm_t comm = nullptr;
  int device = -1;
};

void destroy_nccl(NcclComm* c) {
  if (c && c->comm) ncclCommDestroy(c->comm);
  delete c;
}
bool nccl_built() { return true; }

namespace {

void check_nccl(ncclResult_t rc, Kind k, const CommState& s, const char* call) {
  if (rc != ncclSuccess)
    fail(k, s, "NCCL", fmt::format("{} failed: {} ({})", call, ncclGetErrorString(rc),
                                   s.nccl && s.nccl->comm ? ncclGetLastError(s.nccl->comm) : ncclGetLastError(nullptr)));
}

ncclDataType_t nccl_type(Kind k, const CommState& s, DType d) {
  switch (d) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::f16: return ncclFloat16;
    case DType::bf16: return ncclBfloat16;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    case DType::u8:
    case DType::boolean: return ncclUint8;
  }
  fail(k, s, "NCCL", "unknown dtype");
}

ncclRedOp_t nccl_op(ReduceOp op) { return op == ReduceOp::sum ? ncclSum : op == ReduceOp::max ? ncclMax : ncclAvg; }

NcclComm& comm_for(CommState& s, Kind k, int device) {
  if (s.nccl) {
    if (s.nccl->device != device)
      fail(k, s, "NCCL",
           fmt::format("this rank's NCCL communicator is on cuda:{}, the tensor on cuda:{} (one GPU per rank)",
                       s.nccl->device, device));
    return *s.nccl;
  }
  ncclUniqueId id{};
  if (s.rank == 0) check_nccl(ncclGetUniqueId(&id), k, s, "ncclGetUniqueId");
  int rc = MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, s.comm);
  if (rc != MPI_SUCCESS) fail(k, s, "MPI", "broadcasting the NCCL unique id failed");
  cudaSetDevice(device);
  auto c = std::unique_ptr<NcclComm, void (*)(NcclComm*)>(new NcclComm{nullptr, device}, destroy_nccl);
  check_nccl(ncclCommInitRank(&c->comm, s.size, id, s.rank), k, s, "ncclCommInitRank");
  s.nccl = std::move(c);
  return *s.nccl;
}

}  // namespace

std::shared_ptr<Pending> nccl_start(const std::shared_ptr<CommState>& sp, Kind k, const Tensor& t, ReduceOp op,
                                    int root) {
  CommState& s = *sp;
  const int device = t.device().index;
  NcclComm& c = comm_for(s, k, device);
  cudaStream_t stream = axon::cuda::stream(device);
  const Tensor in = t.contiguous();
  const ncclDataType_t type = nccl_type(k, s, in.dtype());
  const size_t n = size_t(in.numel());
  Tensor out;
  switch (k) {
    case Kind::all_reduce:
      check_reducible(k, s, "NCCL", in, op);
      out = empty(in.shape(), in.dtype(), in.device());
      check_nccl(ncclAllReduce(in.data_ptr(), out.data_ptr(), n, type, nccl_op(op), c.comm, stream), k, s,
                 "ncclAllReduce");
      break;
    case Kind::reduce_scatter:
      check_reducible(k, s, "NCCL", in, op);
      out = empty(scattered_shape(k, s, "NCCL", in), in.dtype(), in.device());
      check_nccl(ncclReduceScatter(in.data_ptr(), out.data_ptr(), size_t(out.numel()), type, nccl_op(op), c.comm,
                                   stream),
                 k, s, "ncclReduceScatter");
      break;
    case Kind::all_gather:
      out = empty(gathered_shape(k, s, in), in.dtype(), in.device());
      check_nccl(ncclAllGather(in.data_ptr(), out.data_ptr(), n, type, c.comm, stream), k, s, "ncclAllGather");
      break;
    case Kind::broadcast:
      if (root < 0 || root >= s.size) fail(k, s, "NCCL", fmt::format("root {} is not a rank of {}", root, s.size));
      out = empty(in.shape(), in.dtype(), in.device());
      check_nccl(ncclBroadcast(in.data_ptr(), out.data_ptr(), n, type, root, c.comm, stream), k, s, "ncclBroadcast");
      break;
    case Kind::barrier: fail(k, s, "NCCL", "barrier runs over MPI");
  }
  // Stream-ordered: the result is usable by later ops at once. test() asks NCCL for an error and the
  // stream's event for completion.
  cudaEvent_t ev = nullptr;
  cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  cudaEventRecord(ev, stream);
  auto p = std::make_shared<Pending>();
  p->kind = k;
  p->backend = "NCCL";
  p->stream_ordered = true;
  p->state = sp;
  auto event = std::shared_ptr<CUevent_st>(ev, [](cudaEvent_t e) { cudaEventDestroy(e); });
  p->poll = [event, sp, k, in]() {
    ncclResult_t async = ncclSuccess;
    if (sp->nccl) ncclCommGetAsyncError(sp->nccl->comm, &async);
    check_nccl(async, k, *sp, "a NCCL operation");
    return cudaEventQuery(event.get()) == cudaSuccess;
  };
  p->finish = [out] { return out; };
  return p;
}

}  // namespace axon::dist::detail
