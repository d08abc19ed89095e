// The NCCL path of a build without NCCL: CUDA tensors fail, saying why.
#include "internal.hpp"

namespace axon::dist::detail {

struct NcclComm {};
void destroy_nccl(NcclComm* c) { delete c; }
bool nccl_built() { return false; }

std::shared_ptr<Pending> nccl_start(const std::shared_ptr<CommState>& s, Kind k, const Tensor& t, ReduceOp, int) {
  fail(k, *s, "NCCL",
       fmt::format("{} is a CUDA tensor, but axon_dist was built without NCCL (configure with -DAXON_NCCL=ON in a "
                   "CUDA build); copy it to the CPU for MPI",
                   describe(t)));
}

}  // namespace axon::dist::detail
