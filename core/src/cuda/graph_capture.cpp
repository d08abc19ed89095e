// compile() on CUDA: warmup, stream capture, instantiation and replay of a whole function (see
// axon/graph.hpp for the contract), plus what the rest of core asks about a capture in progress
// (cuda/capture.hpp): host-sync guards, graph allocations, generator state on the device and
// deferred checks.
//
// How random draws survive replay (PyTorch's philox_cuda_state): while capturing, a draw from
// generator G gets a pointer to a two-word device slot {seed, base} owned by the compiled function
// and the draw's offset relative to G's offset when the capture first saw G. Before each launch
// the replay writes G's current (seed, offset) into the slot with a one-thread kernel, then moves
// G's offset past everything the graph draws, exactly as the eager calls would.
//
// Deferred checks: a range check that would read the device back (labels, indices) ORs its 0-d
// bool result into a sticky flag of the compiled function's device buffer; the graph ends with a
// copy of the flags into pinned host memory, which every later call reads without waiting (a
// failure surfaces one or a few calls late, never silently).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <axon/cuda_context.hpp>
#include <axon/graph.hpp>
#include <axon/kernels/copy.hpp>
#include <axon/ops.hpp>

#include "../ops/internal.hpp"
#include "capture.hpp"
#include "deferred.hpp"
#include "graph_exec.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>

#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/random.hpp>

namespace axon::cuda::capture {

namespace {
constexpr int kMaxDevices = 16;
constexpr int kMaxGenerators = 16;  // distinct generators one graph draws from
constexpr int kMaxChecks = 1024;    // deferred checks in one graph
}  // namespace

struct AllocToken {
  std::atomic<bool> capturing{true};
  std::atomic<int64_t> live{0};  // graph allocations not yet freed inside the capture
};

namespace {

// ---- generators: compiled functions hold links; ~Generator marks them dead.
struct GenLink {
  Generator* gen = nullptr;
  std::atomic<bool> alive{true};
};
// Both never destroyed: the global generator's destructor runs during static destruction.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::unordered_map<const Generator*, std::vector<std::weak_ptr<GenLink>>>& registry() {
  static auto* r = new std::unordered_map<const Generator*, std::vector<std::weak_ptr<GenLink>>>;
  return *r;
}
std::atomic<int64_t> g_links{0};  // entries in the registry: ~Generator skips the lock while 0

std::shared_ptr<GenLink> link_generator(Generator& gen) {
  auto link = std::make_shared<GenLink>();
  link->gen = &gen;
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& v = registry()[&gen];
  const auto before = static_cast<int64_t>(v.size());
  v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
  v.push_back(link);
  g_links += static_cast<int64_t>(v.size()) - before;
  return link;
}

// ---- the capture in progress
struct Session {
  int device = 0;
  cudaStream_t stream = nullptr;
  std::shared_ptr<AllocToken> token = std::make_shared<AllocToken>();
  std::mutex kept_mutex;
  std::vector<void*> kept;  // blocks from before the capture that died during it
  uint64_t* rng_state = nullptr;
  struct Gen {
    std::shared_ptr<GenLink> link;
    uint64_t seed = 0, start = 0;
  };
  std::vector<Gen> gens;
  Tensor flags;  // bool [kMaxChecks]
  std::vector<std::pair<std::string, std::string>> checks;  // op, message
};

thread_local Session* t_session = nullptr;
std::mutex g_active_mutex;
Session* g_active[kMaxDevices] = {};
std::atomic<int> g_any_active{0};

void copy_into(const Tensor& src, const Tensor& dst, cudaStream_t s) {
  if (src.numel() == 0) return;
  kernels::cuda::copy_cast(src.dtype(), src.data_ptr(), ::axon::detail::make_indexer(src), dst.dtype(),
                           dst.data_ptr(), src.numel(), s);
}

// A contiguous copy of t on its device, made on stream s.
Tensor clone_on(const Tensor& t, cudaStream_t s) {
  Tensor c(t.shape(), t.dtype(), t.device());
  copy_into(t, c, s);
  return c;
}

// Makes cuda:index current for a scope (a destructor may run on a thread whose current device is
// another one) and restores the previous device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index) {
    if (cudaGetDevice(&prev_) != cudaSuccess) {
      cudaGetLastError();
      prev_ = -1;
    }
    if (prev_ != index && cudaSetDevice(index) != cudaSuccess) cudaGetLastError();  // the free reports it
    set_ = prev_ != index;
  }
  ~DeviceGuard() {
    if (set_ && prev_ >= 0 && cudaSetDevice(prev_) != cudaSuccess) cudaGetLastError();
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = -1;
  bool set_ = false;
};

// Frees a block of cuda:index on stream s, from a destructor: a failure cannot throw here, so it is
// recorded and raised at the device's next host read (cuda/deferred.hpp), and the runtime's last
// error is cleared so that the next launch check does not blame its own op for it. At process exit
// (the runtime unloading) the memory goes with the process and nothing is recorded.
void free_block(void* p, cudaStream_t s, int index) {
  DeviceGuard guard(index);
  const cudaError_t e = cudaFreeAsync(p, s);
  if (e == cudaSuccess) return;
  cudaGetLastError();
  if (e == cudaErrorCudartUnloading) return;
  try {
    deferred::record_error(index, fmt::format("free: cudaFreeAsync of a block of cuda:{} failed with {} ({}); the "
                                              "error happened in a tensor's destructor and is raised at the next "
                                              "host read",
                                              index, cudaGetErrorName(e), cudaGetErrorString(e)));
  } catch (...) {  // no memory for the message: nothing better to do in a destructor
  }
}

bool same_view(const Tensor& a, const Tensor& b) {
  return a.data_ptr() == b.data_ptr() && a.shape() == b.shape() && a.strides() == b.strides() &&
         a.dtype() == b.dtype();
}

}  // namespace

// ---- queries and guards

bool active_here(int index) { return t_session && (index < 0 || t_session->device == index); }

void check_not_capturing(const char* op, const char* what, int index) {
  if (cuda::capturing(index))
    AXON_FAIL(op,
              "{} cannot run inside a CUDA graph capture: the capture only records device work, so the host would "
              "wait for work that has not run (move it out of the compiled function)",
              what);
}

// ---- Storage hooks

std::shared_ptr<AllocToken> on_allocate(int index) {
  Session* s = t_session;
  if (!s || s->device != index) return nullptr;
  s->token->live.fetch_add(1);
  return s->token;
}

void release(void* p, cudaStream_t stream, int index, const std::shared_ptr<AllocToken>& token) {
  if (token) {
    if (token->capturing.load()) {  // a free node of the capture that allocated it
      free_block(p, stream, index);
      token->live.fetch_sub(1);
    }
    // REVIEW(gpu): otherwise the capture is over and its graph gone (abandoned, or compile() failed
    // because this tensor outlived the captured call): the allocation never existed outside that
    // graph, so nothing is freed. Check with compute-sanitizer that no block leaks or double-frees.
    return;
  }
  if (g_any_active.load() > 0 && index >= 0 && index < kMaxDevices) {
    std::lock_guard<std::mutex> lock(g_active_mutex);
    if (Session* s = g_active[index]) {
      std::lock_guard<std::mutex> kl(s->kept_mutex);
      s->kept.push_back(p);
      return;
    }
  }
  free_block(p, stream, index);
}

// ---- generators

RngSlot rng_slot(const char* op, Generator& gen, int index) {
  Session* s = t_session;
  AXON_CHECK(s && s->device == index, op,
             "a random draw inside a CUDA graph captured outside axon::compile() would repeat the same numbers on "
             "every replay (capture with compile(), which replays draws from the generator's current state)");
  std::size_t i = 0;
  while (i < s->gens.size() && s->gens[i].link->gen != &gen) ++i;
  if (i == s->gens.size()) {
    AXON_CHECK(s->gens.size() < static_cast<std::size_t>(kMaxGenerators), op,
               "a compiled function may draw from at most {} distinct generators", kMaxGenerators);
    s->gens.push_back({link_generator(gen), gen.seed, gen.offset});
  }
  const auto& g = s->gens[i];
  AXON_CHECK(gen.seed == g.seed && gen.offset >= g.start, op,
             "the generator's seed changed or its offset moved back during the capture; a compiled function may only "
             "draw from its generators (set them outside it)");
  return {s->rng_state + 2 * i, gen.offset - g.start};
}

void generator_destroyed(const Generator* gen) {
  if (g_links.load() == 0) return;
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(gen);
  if (it == registry().end()) return;
  for (auto& w : it->second)
    if (auto l = w.lock()) l->alive = false;
  g_links -= static_cast<int64_t>(it->second.size());
  registry().erase(it);
}

// ---- deferred checks

void defer_check(const Tensor& bad, const char* op, const std::string& message) {
  Session* s = t_session;
  AXON_CHECK(s && bad.is_cuda() && bad.device().index == s->device && bad.numel() == 1, op,
             "internal error: a deferred check outside compile()'s capture");
  AXON_CHECK(s->checks.size() < static_cast<std::size_t>(kMaxChecks), op,
             "more than {} deferred range checks in one compiled function", kMaxChecks);
  NoGrad ng;
  Tensor slot = ::axon::detail::make_view(s->flags, {}, {}, static_cast<int64_t>(s->checks.size()));
  Tensor sticky = logical_or(slot, bad.reshape({}));
  copy_into(sticky, slot, s->stream);
  s->checks.emplace_back(op, message);
}

// ---- the compiled function

struct GraphExec {
  int device = 0;
  cudaStream_t stream = nullptr;
  std::vector<Tensor> in;   // static input buffers (contiguous)
  std::vector<Tensor> out;  // static output buffers; undefined for donated outputs
  std::vector<long> donor;  // per output: the input it is written back into, or -1
  // The last results handed out for each donated input's buffer: consumed in place when passed
  // back alone, else given a copy of their own before the buffer changes.
  std::vector<std::weak_ptr<TensorImpl>> last_handle;
  std::vector<std::weak_ptr<Storage>> last_lease;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::vector<void*> kept;
  Tensor rng_state;  // i64 [2 * kMaxGenerators]: {seed, base} per generator
  struct Gen {
    std::shared_ptr<GenLink> link;
    uint64_t increment = 0;  // blocks one replay draws
  };
  std::vector<Gen> gens;
  Tensor flags;
  uint8_t* host_flags = nullptr;  // pinned; written by the graph's last node
  std::vector<std::pair<std::string, std::string>> checks;
  long failed = -1;  // the deferred check that failed: every later call fails too

  ~GraphExec() {
    DeviceGuard guard(device);
    if (exec) cudaGraphExecDestroy(exec);  // a replay in flight completes first
    if (graph) cudaGraphDestroy(graph);
    // REVIEW(gpu): blocks from before the capture that died during it, freed once the graph that
    // may read them is gone; stream-ordered after the last replay.
    for (void* p : kept) free_block(p, stream, device);
    if (host_flags) {
      // REVIEW(gpu): the last replay may still copy into the pinned flags: wait for it unless that
      // would break a capture in progress (then the 1 KiB are leaked).
      if (!cuda::capturing(device) && cudaStreamSynchronize(stream) == cudaSuccess) cudaFreeHost(host_flags);
    }
  }
};

namespace {

void raise_failed_checks(GraphExec& g) {
  const volatile uint8_t* f = g.host_flags;  // written by the device: read afresh each time
  for (std::size_t k = 0; g.failed < 0 && k < g.checks.size(); ++k)
    if (f[k]) g.failed = static_cast<long>(k);
  if (g.failed < 0) return;
  const auto& c = g.checks[static_cast<std::size_t>(g.failed)];
  throw Error(c.first + ": " + c.second +
                  " (a check recorded in the compiled function's CUDA graph failed during an earlier replay; the "
                  "results of that replay and of later ones are not valid)",
              __FILE__, __LINE__);
}

// The session ends: this thread and the device stop capturing; the generators' host offsets go back
// to where the capture found them (it drew nothing).
void end_session(Session& s) {
  s.token->capturing = false;
  {
    std::lock_guard<std::mutex> lock(g_active_mutex);
    g_active[s.device] = nullptr;
  }
  g_any_active.fetch_sub(1);
  t_session = nullptr;
  for (auto& g : s.gens)
    if (g.link->alive) {
      auto lock = ::axon::detail::lock_generator(*g.link->gen);
      g.link->gen->offset = g.start;
    }
}

// Abandons a failed capture: ends it (its graph is discarded) and frees what it kept.
void abandon(Session& s) {
  cudaGraph_t g = nullptr;
  cudaStreamEndCapture(s.stream, &g);
  if (g) cudaGraphDestroy(g);
  cudaGetLastError();  // clears a capture error so that the next launch on the stream reports its own
  // REVIEW(gpu): check that the stream is usable after an invalidated capture (the [cuda] test
  // "a host sync inside capture throws and leaves the stream usable" does).
  end_session(s);
  for (void* p : s.kept) free_block(p, s.stream, s.device);
  s.kept.clear();
}

}  // namespace

std::shared_ptr<GraphExec> build_graph(const CompiledFn::Fn& fn, const std::vector<Tensor>& examples,
                                       const CompileOptions& o, Device dev) {
  AXON_CHECK(!t_session, "compile", "cannot compile inside another compile()'s capture");
  AXON_CHECK(dev.index >= 0 && dev.index < kMaxDevices, "compile", "device {} is out of range", dev.str());
  AXON_CHECK(o.warmup >= 1, "compile",
             "warmup must be at least 1 on CUDA (the output buffers are sized from the warmup's results), got {}",
             o.warmup);
  Context& ctx = context(dev.index);
  AXON_CHECK(!capturing(dev.index), "compile", "the stream of {} is already being captured", dev.str());
  auto g = std::make_shared<GraphExec>();
  g->device = dev.index;
  g->stream = ctx.stream;
  for (const Tensor& x : examples) {
    g->in.push_back(Tensor(x.shape(), x.dtype(), dev));
    copy_into(x, g->in.back(), g->stream);
  }
  g->last_handle.resize(g->in.size());
  g->last_lease.resize(g->in.size());

  // Warmup: eager calls on the static buffers. The last one's results size the output buffers.
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& x : g->in) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  std::vector<Shape> out_shapes;
  std::vector<DType> out_dtypes;
  for (int w = 0; w < o.warmup; ++w) {
    std::vector<Tensor> res = fn(g->in);
    out_shapes.clear();
    out_dtypes.clear();
    for (std::size_t j = 0; j < res.size(); ++j) {
      AXON_CHECK(res[j].defined(), "compile", "output {} of the function is undefined", j);
      AXON_CHECK(res[j].device() == dev, "compile",
                 "output {} is {}: a compiled function's outputs must be on its device {}", j, describe(res[j]),
                 dev.str());
      out_shapes.push_back(res[j].shape());
      out_dtypes.push_back(res[j].dtype());
    }
    ::axon::detail::check_donated_outputs(o.donate, shapes, dtypes, res);
  }
  g->donor.assign(out_shapes.size(), -1);
  for (auto [out, in] : o.donate) g->donor[out] = static_cast<long>(in);
  g->out.resize(out_shapes.size());
  for (std::size_t j = 0; j < out_shapes.size(); ++j)
    if (g->donor[j] < 0) g->out[j] = Tensor(out_shapes[j], out_dtypes[j], dev);
  g->rng_state = zeros({2 * kMaxGenerators}, DType::i64, dev);
  g->flags = zeros({kMaxChecks}, DType::boolean, dev);
  AXON_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&g->host_flags), kMaxChecks, cudaHostAllocDefault), "compile");
  std::memset(g->host_flags, 0, kMaxChecks);
  // The warmup's work is finished and its blocks are back in the pool before the capture; what its
  // eager range checks found is raised now rather than at some later host read.
  deferred::synchronize(dev.index, g->stream, "compile");

  Session s;
  s.device = dev.index;
  s.stream = g->stream;
  s.rng_state = static_cast<uint64_t*>(g->rng_state.data_ptr());
  s.flags = g->flags;
  {
    std::lock_guard<std::mutex> lock(g_active_mutex);
    g_active[dev.index] = &s;
  }
  g_any_active.fetch_add(1);
  t_session = &s;
  cudaError_t began = cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal);
  if (began != cudaSuccess) {
    end_session(s);
    AXON_CUDA_CHECK(began, "compile");
  }
  try {
    std::vector<Tensor> res = fn(g->in);
    AXON_CHECK(res.size() == out_shapes.size(), "compile",
               "the captured call returned {} output(s) but the warmup returned {}", res.size(), out_shapes.size());
    for (std::size_t j = 0; j < res.size(); ++j)
      AXON_CHECK(res[j].defined() && res[j].device() == dev && res[j].shape() == out_shapes[j] &&
                     res[j].dtype() == out_dtypes[j],
                 "compile", "output {} of the captured call is {} but the warmup's was {}{} on {}", j,
                 describe(res[j]), dtype_name(out_dtypes[j]), to_string(out_shapes[j]), dev.str());
    // Results that are not donated go to their own buffers first: they may read the inputs that
    // the write-backs below overwrite.
    for (std::size_t j = 0; j < res.size(); ++j)
      if (g->donor[j] < 0) copy_into(res[j], g->out[j], g->stream);
    // A donated result that lives in some input's buffer (an input passed through, or a view of
    // one) is copied aside before any write-back, unless it already is its own input's buffer.
    std::vector<bool> skip(res.size(), false);
    for (std::size_t j = 0; j < res.size(); ++j) {
      if (g->donor[j] < 0) continue;
      const Tensor& dst = g->in[static_cast<std::size_t>(g->donor[j])];
      if (same_view(res[j], dst)) {
        skip[j] = true;
        continue;
      }
      for (const Tensor& b : g->in)
        if (res[j].impl().storage->data == b.impl().storage->data) {
          res[j] = clone_on(res[j], g->stream);
          break;
        }
    }
    for (std::size_t j = 0; j < res.size(); ++j)
      if (g->donor[j] >= 0 && !skip[j]) copy_into(res[j], g->in[static_cast<std::size_t>(g->donor[j])], g->stream);
    // REVIEW(gpu): a D2H memcpy node into pinned memory that later calls read without waiting
    // (volatile); the [cuda] test "range checks inside a graph are deferred..." covers it.
    if (!s.checks.empty())
      AXON_CUDA_CHECK(cudaMemcpyAsync(g->host_flags, g->flags.data_ptr(), s.checks.size(), cudaMemcpyDeviceToHost,
                                      g->stream),
                      "compile");
    res.clear();  // the graph's own tensors: freed inside it
    const int64_t leaked = s.token->live.load();
    AXON_CHECK(leaked == 0, "compile",
               "{} tensor(s) created inside the captured call are still referenced after it returned (kept in a "
               "variable the function captured, a cache or a global?): a compiled function's tensors must not outlive "
               "one call; return them as outputs instead",
               leaked);
    for (const auto& gen : s.gens)
      AXON_CHECK(gen.link->alive, "compile",
                 "a Generator the function draws from was destroyed during the capture (a local generator?): replays "
                 "could not advance it; draw from a generator that outlives the compiled function");
    cudaGraph_t graph = nullptr;
    AXON_CUDA_CHECK(cudaStreamEndCapture(g->stream, &graph), "compile");
    g->graph = graph;
  } catch (...) {
    abandon(s);
    throw;
  }
  for (const auto& gen : s.gens) g->gens.push_back({gen.link, gen.link->gen->offset - gen.start});
  g->checks = s.checks;
  end_session(s);
  {
    std::lock_guard<std::mutex> lock(s.kept_mutex);
    g->kept = std::move(s.kept);
  }
  // Every graph allocation is freed inside the graph, so no AutoFreeOnLaunch is needed (and a
  // relaunch with an unfreed one would fail loudly rather than corrupt anything).
  AXON_CUDA_CHECK(cudaGraphInstantiateWithFlags(&g->exec, g->graph, 0), "compile");
  AXON_CUDA_CHECK(cudaGraphUpload(g->exec, g->stream), "compile");
  return g;
}

std::vector<Tensor> replay(GraphExec& g, const std::vector<Tensor>& inputs, long caller_handles) {
  AXON_CHECK(!t_session, "compiled function", "cannot be called inside a compile()'s capture");
  context(g.device);  // makes the device current on this thread
  raise_failed_checks(g);
  for (const auto& gen : g.gens)
    AXON_CHECK(gen.link->alive, "compiled function",
               "a Generator it draws from has been destroyed: a generator must outlive the compiled functions that "
               "draw from it");
  const std::size_t n = g.in.size();
  std::vector<Tensor> src(n);  // what to copy into each input buffer (undefined: nothing)
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor& x = inputs[i];
    std::shared_ptr<TensorImpl> h = g.last_handle[i].lock();
    std::shared_ptr<Storage> lease = g.last_lease[i].lock();
    if (lease) {
      // The previous result written into this buffer is still held. Passed back alone it is
      // consumed; otherwise it keeps its value in a copy of its own (the buffer keeps the same
      // value too, so a result passed back needs no copy either way).
      const bool passed_back = h && x.impl_ptr() == h;
      const bool alone = passed_back && h.use_count() <= caller_handles + 1 && lease.use_count() == 2;
      if (!alone) {
        auto fresh = Storage::allocate(lease->nbytes, Device::cuda(g.device));
        AXON_CUDA_CHECK(cudaMemcpyAsync(fresh->data, lease->data, lease->nbytes, cudaMemcpyDeviceToDevice, g.stream),
                        "compiled function");
        lease->data = fresh->data;
        lease->deleter = std::move(fresh->deleter);
        fresh->data = nullptr;
        fresh->deleter = nullptr;
      }
      g.last_handle[i].reset();
      g.last_lease[i].reset();
      if (passed_back) continue;
    }
    if (same_view(x, g.in[i])) continue;
    src[i] = x;
  }
  // An input that lives in some input buffer (a result of this function, or a view of one) is
  // copied aside first: the copies below overwrite those buffers.
  for (std::size_t i = 0; i < n; ++i) {
    if (!src[i].defined()) continue;
    for (const Tensor& b : g.in)
      if (src[i].impl().storage->data == b.impl().storage->data) {
        src[i] = clone_on(src[i], g.stream);
        break;
      }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (src[i].defined()) copy_into(src[i], g.in[i], g.stream);
  for (std::size_t k = 0; k < g.gens.size(); ++k) {
    Generator& gen = *g.gens[k].link->gen;
    auto lock = ::axon::detail::lock_generator(gen);
    kernels::cuda::write_random_state(static_cast<uint64_t*>(g.rng_state.data_ptr()) + 2 * k, gen.seed, gen.offset,
                                      g.stream);
    gen.offset += g.gens[k].increment;
  }
  // REVIEW(gpu): the host cost of a call (input checks, copies of changed inputs, one small kernel
  // per generator, the launch, the result handles) is what W1's ~50 us a step must fit in: measure.
  AXON_CUDA_CHECK(cudaGraphLaunch(g.exec, g.stream), "compiled function");

  std::vector<Tensor> res(g.donor.size());
  for (std::size_t j = 0; j < res.size(); ++j) {
    if (g.donor[j] < 0) {
      res[j] = g.out[j];
      continue;
    }
    const auto i = static_cast<std::size_t>(g.donor[j]);
    const Tensor& buf = g.in[i];
    // A lease on the buffer: a Storage of its own (so that it can be given a copy later) that keeps
    // the buffer alive while it points there.
    auto lease = Storage::wrap(buf.data_ptr(), buf.nbytes(), buf.device(),
                               [keep = buf.impl().storage](void*) {});
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = lease;
    impl->shape = buf.shape();
    impl->strides = buf.strides();
    impl->dtype = buf.dtype();
    g.last_handle[i] = impl;
    g.last_lease[i] = lease;
    res[j] = Tensor(std::move(impl));
  }
  return res;
}

void check_graph(GraphExec& g) {
  check_not_capturing("check", "waiting for the compiled function's replays", g.device);
  context(g.device);
  deferred::synchronize(g.device, g.stream, "check");
  raise_failed_checks(g);
}

}  // namespace axon::cuda::capture

namespace axon::detail {
void check_cpu_outside_capture() {
  if (cuda::capture::active_here())
    AXON_FAIL("compile",
              "an op on CPU tensors cannot run inside a CUDA graph capture: it would run once, during the capture, and "
              "never on replay (keep every tensor of a compiled function on its device)");
}
}  // namespace axon::detail

#else  // CPU-only build: nothing ever captures

namespace axon::cuda::capture {
struct AllocToken {};
struct GraphExec {};
bool active_here(int) { return false; }
void check_not_capturing(const char*, const char*, int) {}
std::shared_ptr<AllocToken> on_allocate(int) { return nullptr; }
void release(void*, cudaStream_t, int, const std::shared_ptr<AllocToken>&) {}
RngSlot rng_slot(const char* op, Generator&, int) { AXON_FAIL(op, "axon was built without CUDA"); }
void generator_destroyed(const Generator*) {}
void defer_check(const Tensor&, const char* op, const std::string&) { AXON_FAIL(op, "axon was built without CUDA"); }
std::shared_ptr<GraphExec> build_graph(const CompiledFn::Fn&, const std::vector<Tensor>&, const CompileOptions&,
                                       Device device) {
  AXON_FAIL("compile", "cannot compile for {}: axon was built without CUDA", device.str());
}
std::vector<Tensor> replay(GraphExec&, const std::vector<Tensor>&, long) {
  AXON_FAIL("compiled function", "axon was built without CUDA");
}
void check_graph(GraphExec&) {}
}  // namespace axon::cuda::capture

namespace axon::detail {
void check_cpu_outside_capture() {}
}  // namespace axon::detail

#endif
