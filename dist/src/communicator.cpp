// The communicator over MPI: MPI's state, the CPU collectives (non-blocking MPI calls polled to
// completion under a timeout), and the dispatch to NCCL for CUDA tensors.
#include <climits>
#include <cstdlib>
#include <thread>

#include <fmt/ranges.h>

#include <axon/ops.hpp>

#include "internal.hpp"

namespace axon::dist {
namespace detail {
namespace {

std::string mpi_message(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return fmt::format("MPI error {}", rc);
  return std::string(text, size_t(len));
}

void check_mpi(int rc, Kind k, const CommState& s, const char* call) {
  if (rc != MPI_SUCCESS) fail(k, s, "MPI", fmt::format("{} failed: {}", call, mpi_message(rc)));
}

bool mpi_finalized() {
  int f = 0;
  MPI_Finalized(&f);
  return f != 0;
}

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    case DType::u8: return MPI_UINT8_T;
    default: return MPI_DATATYPE_NULL;  // bf16, f16, bool: no MPI arithmetic
  }
}

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::max ? MPI_MAX : MPI_SUM; }

int mpi_count(Kind k, const CommState& s, int64_t n) {
  if (n > INT_MAX) fail(k, s, "MPI", fmt::format("{} elements is more than one MPI message holds (INT_MAX)", n));
  return static_cast<int>(n);
}

double timeout_from(const CommunicatorOptions& o) {
  if (const char* env = std::getenv("AXON_DIST_TIMEOUT")) {
    char* end = nullptr;
    double v = std::strtod(env, &end);
    AXON_CHECK(end != env && *end == 0, "dist", "AXON_DIST_TIMEOUT must be a number of seconds, got '{}'", env);
    return v;
  }
  return o.timeout_seconds;
}

// An MPI collective in flight: its requests, and the buffers they use kept alive.
std::shared_ptr<Pending> mpi_pending(const std::shared_ptr<CommState>& s, Kind k, std::vector<MPI_Request> reqs,
                                     std::vector<Tensor> keep, std::function<Tensor()> finish) {
  auto p = std::make_shared<Pending>();
  p->kind = k;
  p->backend = "MPI";
  p->state = s;
  auto r = std::make_shared<std::vector<MPI_Request>>(std::move(reqs));
  p->poll = [r, k, s, keep = std::move(keep)]() {
    int flag = 0;
    check_mpi(MPI_Testall(int(r->size()), r->data(), &flag, MPI_STATUSES_IGNORE), k, *s, "MPI_Testall");
    return flag != 0;
  };
  p->finish = std::move(finish);
  return p;
}

std::shared_ptr<CommState> make_state(MPI_Comm base, const CommunicatorOptions& o, std::shared_ptr<Runtime> rt) {
  auto s = std::make_shared<CommState>();
  s->rt = std::move(rt);
  s->options = o;
  s->timeout = timeout_from(o);
  // A duplicate: axon's collectives never match the caller's messages, and errors are returned to
  // us (and reported with the rank) instead of aborting the job.
  check_mpi(MPI_Comm_dup(base, &s->comm), Kind::barrier, *s, "MPI_Comm_dup");
  MPI_Comm_set_errhandler(s->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(s->comm, &s->rank);
  MPI_Comm_size(s->comm, &s->size);
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(s->comm, MPI_COMM_TYPE_SHARED, s->rank, MPI_INFO_NULL, &node), Kind::barrier, *s,
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &s->local_rank);
  MPI_Comm_size(node, &s->local_size);
  MPI_Comm_free(&node);
  return s;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::all_reduce: return "dist.all_reduce";
    case Kind::broadcast: return "dist.broadcast";
    case Kind::all_gather: return "dist.all_gather";
    case Kind::reduce_scatter: return "dist.reduce_scatter";
    case Kind::barrier: return "dist.barrier";
  }
  return "dist";
}

void fail(Kind k, const CommState& s, const char* backend, const std::string& message) {
  AXON_FAIL(kind_name(k), "rank {} of {} ({}): {}", s.rank, s.size, backend, message);
}

Runtime::~Runtime() {
  if (initialised_here && !mpi_finalized()) MPI_Finalize();
}

std::shared_ptr<Runtime> runtime() {
  // Destroyed at exit, after main returns, whatever still refers to it (a collective abandoned
  // after a timeout does): MPI is finalised then. Communicators destroyed later skip their frees.
  static Runtime rt = [] {
    Runtime r;
    int init = 0;
    MPI_Initialized(&init);
    AXON_CHECK(!mpi_finalized(), "dist", "MPI was already finalised");
    if (!init) {
      int provided = 0;
      int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      AXON_CHECK(rc == MPI_SUCCESS, "dist", "MPI_Init_thread failed: {}", mpi_message(rc));
      r.initialised_here = true;
    }
    return r;
  }();
  return std::shared_ptr<Runtime>(&rt, [](Runtime*) {});
}

CommState::~CommState() {
  nccl.reset();
  if (comm != MPI_COMM_NULL && !mpi_finalized()) MPI_Comm_free(&comm);
}

Pending::~Pending() {
  // A collective never waited on still owns its buffers inside MPI: finish it (errors are dropped).
  if (!done && poll) try {
      while (!poll()) std::this_thread::yield();
    } catch (...) {
    }
}

Shape gathered_shape(Kind k, const CommState& s, const Tensor& t) {
  Shape shape = t.shape();
  if (shape.empty()) return Shape{s.size};
  shape[0] *= s.size;
  return shape;
}

Shape scattered_shape(Kind k, const CommState& s, const char* backend, const Tensor& t) {
  if (t.dim() < 1 || t.size(0) % s.size != 0)
    fail(k, s, backend, fmt::format("axis 0 must split into {} equal parts (one per rank), got {}", s.size, describe(t)));
  Shape shape = t.shape();
  shape[0] /= s.size;
  return shape;
}

void check_reducible(Kind k, const CommState& s, const char* backend, const Tensor& t, ReduceOp op) {
  if (op == ReduceOp::mean && !t.is_floating_point())
    fail(k, s, backend, fmt::format("mean needs a floating tensor, got {} (cast it, or reduce with sum)", describe(t)));
  if (t.dtype() == DType::boolean)
    fail(k, s, backend, fmt::format("cannot reduce a bool tensor ({}); cast it to an integer type", describe(t)));
}

namespace {

std::shared_ptr<Pending> mpi_start(const std::shared_ptr<CommState>& s, Kind k, const Tensor& t, ReduceOp op,
                                   int root) {
  const CommState& st = *s;
  if (k == Kind::barrier) {
    MPI_Request r;
    check_mpi(MPI_Ibarrier(st.comm, &r), k, st, "MPI_Ibarrier");
    return mpi_pending(s, k, {r}, {}, [] { return Tensor(); });
  }
  if (!t.defined()) fail(k, st, "MPI", "the tensor is undefined");
  const Tensor in = t.contiguous();
  void* src = in.data_ptr();
  const int64_t n = in.numel();
  const double ranks = st.size;
  if (k == Kind::all_reduce || k == Kind::reduce_scatter) {
    check_reducible(k, st, "MPI", in, op);
    MPI_Datatype type = mpi_type(in.dtype());
    if (type == MPI_DATATYPE_NULL)
      fail(k, st, "MPI",
           fmt::format("MPI cannot reduce {} (f32, f64, i32, i64, u8 only): cast it to f32 first", describe(in)));
    Tensor out = empty(k == Kind::all_reduce ? in.shape() : scattered_shape(k, st, "MPI", in), in.dtype());
    MPI_Request r;
    if (k == Kind::all_reduce)
      check_mpi(MPI_Iallreduce(src, out.data_ptr(), mpi_count(k, st, n), type, mpi_op(op), st.comm, &r), k, st,
                "MPI_Iallreduce");
    else
      check_mpi(MPI_Ireduce_scatter_block(src, out.data_ptr(), mpi_count(k, st, out.numel()), type, mpi_op(op),
                                          st.comm, &r),
                k, st, "MPI_Ireduce_scatter_block");
    return mpi_pending(s, k, {r}, {in, out}, [out, op, ranks] { return op == ReduceOp::mean ? div(out, ranks) : out; });
  }
  const int bytes = mpi_count(k, st, int64_t(in.nbytes()));
  if (k == Kind::all_gather) {
    Tensor out = empty(gathered_shape(k, st, in), in.dtype());
    MPI_Request r;
    check_mpi(MPI_Iallgather(src, bytes, MPI_BYTE, out.data_ptr(), bytes, MPI_BYTE, st.comm, &r), k, st,
              "MPI_Iallgather");
    return mpi_pending(s, k, {r}, {in, out}, [out] { return out; });
  }
  // broadcast: the root's dtype and shape travel first, so a rank that passed another tensor is told.
  if (root < 0 || root >= st.size) fail(k, st, "MPI", fmt::format("root {} is not a rank of {}", root, st.size));
  auto header = std::make_shared<std::vector<int64_t>>(std::vector<int64_t>{int64_t(in.dtype()), in.dim()});
  header->resize(2 + 8, -1);
  if (in.dim() > 8) fail(k, st, "MPI", fmt::format("at most 8 axes, got {}", describe(in)));
  for (int64_t i = 0; i < in.dim(); ++i) (*header)[size_t(2 + i)] = in.size(i);
  const std::vector<int64_t> mine = *header;
  Tensor out = in.clone();
  std::vector<MPI_Request> r(2);
  check_mpi(MPI_Ibcast(header->data(), int(header->size()), MPI_INT64_T, root, st.comm, &r[0]), k, st, "MPI_Ibcast");
  check_mpi(MPI_Ibcast(out.data_ptr(), bytes, MPI_BYTE, root, st.comm, &r[1]), k, st, "MPI_Ibcast");
  auto sp = s;
  return mpi_pending(s, k, std::move(r), {in, out}, [out, header, mine, sp, root, k] {
    if (*header != mine)
      fail(k, *sp, "MPI",
           fmt::format("rank {} broadcast a tensor of dtype #{} and shape [{}], this rank passed {}", root,
                       (*header)[0], fmt::join(header->begin() + 2, header->begin() + 2 + (*header)[1], ", "),
                       describe(out)));
    return out;
  });
}

std::shared_ptr<Pending> start(const std::shared_ptr<CommState>& s, Kind k, const Tensor& t, ReduceOp op, int root) {
  AXON_CHECK(s, kind_name(k), "the communicator is empty (use Communicator::world())");
  if (k != Kind::barrier && t.defined() && t.is_cuda()) return nccl_start(s, k, t, op, root);
  return mpi_start(s, k, t, op, root);
}

}  // namespace
}  // namespace detail

using detail::Kind;

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
  }
  return "?";
}

bool Work::test() {
  AXON_CHECK(p_, "dist.wait", "this Work holds no collective");
  if (!p_->done && p_->poll()) {
    p_->done = true;
    p_->result = p_->finish();
  }
  return p_->done;
}

Tensor Work::wait() {
  AXON_CHECK(p_, "dist.wait", "this Work holds no collective");
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  if (p_->stream_ordered && !p_->done) {
    p_->poll();  // raises NCCL's asynchronous errors
    p_->done = true;
    p_->result = p_->finish();
  }
  const double timeout = p_->state->timeout;
  auto nap = std::chrono::microseconds(0);
  while (!test()) {
    const double waited = std::chrono::duration<double>(clock::now() - start).count();
    if (timeout > 0 && waited > timeout) {
      // MPI cannot cancel a collective: it keeps its buffers, so the Pending is kept alive for good
      // (a late peer may still complete it) rather than destroyed, which would wait for it.
      new std::shared_ptr<detail::Pending>(p_);  // deliberately leaked
      detail::fail(p_->kind, *p_->state, p_->backend,
                   fmt::format("not complete after {:.0f} s (timeout; AXON_DIST_TIMEOUT): a peer rank failed or "
                               "stopped calling collectives",
                               waited));
    }
    // MPI's non-blocking collectives advance only inside MPI calls (MPI_Test): a rank that slept
    // between tests would hold up every round of the exchange. So test continuously for 50 ms
    // (yielding the core between tests), and only then nap.
    if (waited < 0.05) {
      std::this_thread::yield();
    } else {
      nap = std::min(std::chrono::microseconds(200), nap + std::chrono::microseconds(5));
      std::this_thread::sleep_for(nap);
    }
  }
  return p_->result;
}

Communicator Communicator::world(CommunicatorOptions options) {
  auto rt = detail::runtime();
  return Communicator(detail::make_state(MPI_COMM_WORLD, options, std::move(rt)));
}

Communicator Communicator::from_mpi(MPI_Comm comm, CommunicatorOptions options) {
  int init = 0;
  MPI_Initialized(&init);
  AXON_CHECK(init, "dist", "from_mpi: MPI is not initialised (call MPI_Init first, or use Communicator::world())");
  AXON_CHECK(comm != MPI_COMM_NULL, "dist", "from_mpi: the communicator is MPI_COMM_NULL");
  return Communicator(detail::make_state(comm, options, detail::runtime()));
}

int Communicator::rank() const { return s_->rank; }
int Communicator::size() const { return s_->size; }
int Communicator::local_rank() const { return s_->local_rank; }
int Communicator::local_size() const { return s_->local_size; }
const CommunicatorOptions& Communicator::options() const { return s_->options; }
MPI_Comm Communicator::mpi_comm() const { return s_->comm; }
bool Communicator::nccl_available() { return detail::nccl_built(); }
const char* Communicator::backend(Device device) {
  return device.is_cuda() ? (detail::nccl_built() ? "NCCL" : "none") : "MPI";
}

Work Communicator::iall_reduce(const Tensor& t, ReduceOp op) const {
  return Work(detail::start(s_, Kind::all_reduce, t, op, 0));
}
Work Communicator::ibroadcast(const Tensor& t, int root) const {
  return Work(detail::start(s_, Kind::broadcast, t, ReduceOp::sum, root));
}
Work Communicator::iall_gather(const Tensor& t) const { return Work(detail::start(s_, Kind::all_gather, t, ReduceOp::sum, 0)); }
Work Communicator::ireduce_scatter(const Tensor& t, ReduceOp op) const {
  return Work(detail::start(s_, Kind::reduce_scatter, t, op, 0));
}
Work Communicator::ibarrier() const { return Work(detail::start(s_, Kind::barrier, Tensor(), ReduceOp::sum, 0)); }

Tensor Communicator::all_reduce(const Tensor& t, ReduceOp op) const { return iall_reduce(t, op).wait(); }
Tensor Communicator::broadcast(const Tensor& t, int root) const { return ibroadcast(t, root).wait(); }
Tensor Communicator::all_gather(const Tensor& t) const { return iall_gather(t).wait(); }
Tensor Communicator::reduce_scatter(const Tensor& t, ReduceOp op) const { return ireduce_scatter(t, op).wait(); }
void Communicator::barrier() const { ibarrier().wait(); }

void Communicator::abort(int code) const {
  MPI_Abort(s_->comm, code);
  std::abort();
}

}  // namespace axon::dist
