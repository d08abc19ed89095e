// axon::dist figures: the all-reduce bus bandwidth (MPI on the CPU, NCCL on a GPU) and the
// communicator behind W1/W2 --ranks. Built with axon_dist when MPI was found (AXON_BENCH_DIST).
#include <cstdio>

#include "bench.hpp"

#ifdef AXON_BENCH_DIST
#include <axon/dist.hpp>
#endif

namespace axon::bench {

#ifdef AXON_BENCH_DIST

namespace {
const dist::Communicator& comm() {
  static dist::Communicator c = dist::Communicator::world();
  return c;
}
}  // namespace

void setup_dist(Options& opt) {
  const dist::Communicator& c = comm();
  if (opt.ranks > 0 && opt.ranks != c.size())
    throw Error(fmt::format("axon-bench: --ranks {} but the job has {} rank(s): launch it as mpirun -np {} axon-bench ...",
                            opt.ranks, c.size(), opt.ranks));
  opt.data_parallel = c;
  if (opt.device.is_cuda()) opt.device = Device::cuda(c.local_rank());  // one GPU per rank of a node
  // One table: rank 0's.
  if (c.rank() != 0 && !std::freopen("/dev/null", "w", stdout)) throw Error("axon-bench: cannot silence rank output");
}

void run_allreduce(const Options& opt, Reporter& out) {
  const dist::Communicator& c = comm();
  const int n = c.size();
  for (int64_t bytes = int64_t(4) << 10; bytes <= (int64_t(64) << 20); bytes *= 4) {
    const int64_t count = bytes / 4;
    const Tensor t = full({count}, c.rank() + 1, DType::f32, opt.device);
    Tensor r;
    const int repeats = opt.repeats_or(bytes >= (int64_t(16) << 20) ? 10 : 50);
    Figure f;
    f.workload = "allreduce";
    f.op = fmt::format("all_reduce sum ({}, {} ranks)", dist::Communicator::backend(opt.device), n);
    f.dtype = "f32";
    f.shape = fmt::format("{} KiB", bytes >> 10);
    f.n = count;
    f.t = time_repeats(opt.device, opt.warmup_or(3), repeats, [&] { r = c.all_reduce(t); });
    // NCCL's bus bandwidth: the bytes each rank sends and receives in a ring, 2(n-1)/n of the
    // buffer, per second (algorithm bandwidth bytes/time on one rank).
    f.value = (n > 1 ? 2.0 * (n - 1) / n : 1.0) * double(bytes) / (f.t.median_ms * 1e-3) / 1e9;
    f.unit = "GB/s (bus)";
    const double want = n * (n + 1) / 2.0;
    f.ok = element(r, 0) == want && element(r, count - 1) == want;
    f.check = fmt::format("every element {} (sum of 1..{})", element(r, 0), n);
    out.figure(f);
  }
}

#else

[[noreturn]] void no_dist() {
  throw Error("axon-bench: built without MPI (axon_dist): --ranks and allreduce need it (configure with -DAXON_MPI=ON)");
}
void setup_dist(Options&) { no_dist(); }
void run_allreduce(const Options&, Reporter&) { no_dist(); }

#endif

}  // namespace axon::bench
