// The CPU kernels' thread pool. A call publishes a job (on the caller's stack) under the pool's
// mutex and wakes the workers; the caller and the workers claim its parts through an atomic counter,
// so parts a sleeping or descheduled worker never claimed are run by whoever is free. A worker joins
// a job only while it is published, and the caller unpublishes it and waits for every worker that
// joined to leave before returning, so no worker touches a finished job.
#include "parallel.hpp"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

namespace axon::kernels::cpu {

namespace {

int detect_threads() {
  if (const char* s = std::getenv("AXON_NUM_THREADS")) {
    const int v = std::atoi(s);
    if (v >= 1) return std::min(v, 256);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1) return CPU_COUNT(&set);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

thread_local bool t_inside = false;  // a pool worker, or a caller running its parts

// How long a worker polls for the next job, and a caller for its workers to finish, before sleeping
// on the condition variable. Waking a sleeping thread takes tens of microseconds, longer than the
// parts of a small-batch inference: with two threads W2's CNN at batch 1 ran slower (150 -> 175-194
// us) than with one. ONNX Runtime's workers spin likewise (allow_spinning).
constexpr auto kSpin = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls `ready` for up to kSpin; true when it held.
template <class Pred>
bool spin_until(Pred ready) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= end) return false;
  }
}

struct Job {
  void (*fn)(void*, int64_t);
  void* ctx;
  int64_t parts;
  std::atomic<int64_t> next{0}, remaining;
  int joined = 0;  // workers inside run(); guarded by the pool's mutex
  std::exception_ptr error;
  std::mutex error_mu;

  Job(void (*f)(void*, int64_t), void* c, int64_t p) : fn(f), ctx(c), parts(p), remaining(p) {}

  // Claims and runs parts until none are left; true when this thread finished the last one.
  bool run() {
    bool last = false;
    for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < parts;) {
      try {
        fn(ctx, p);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
      last = remaining.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }
    return last;
  }
};

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) std::thread([this] { work(); }).detach();
  }

  // False when the pool is taken (a nested call, or another thread's call in flight).
  bool run(int64_t parts, void (*fn)(void*, int64_t), void* ctx) {
    if (t_inside || busy_.exchange(true, std::memory_order_acquire)) return false;
    Job job(fn, ctx, parts);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    t_inside = true;
    job.run();
    t_inside = false;
    spin_until([&] { return job.remaining.load(std::memory_order_acquire) == 0; });
    {
      std::unique_lock<std::mutex> lock(mu_);
      job_ = nullptr;  // workers that wake from now on skip it
      done_.wait(lock, [&] { return job.remaining.load(std::memory_order_acquire) == 0 && job.joined == 0; });
    }
    busy_.store(false, std::memory_order_release);
    if (job.error) std::rethrow_exception(job.error);
    return true;
  }

 private:
  void work() {
    t_inside = true;
    uint64_t seen = 0;
    for (;;) {
      Job* job;
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
        if (!job) continue;
        ++job->joined;
      }
      const bool last = job->run();
      std::lock_guard<std::mutex> lock(mu_);
      --job->joined;
      if (last || job->joined == 0) done_.notify_all();
    }
  }

  std::atomic<bool> busy_{false};
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};  // written under mu_; read without it while spinning
  Job* job_ = nullptr;  // the published job, guarded by mu_
};

Pool& pool() {
  static Pool* p = new Pool(num_threads());  // never destroyed: workers block until exit
  return *p;
}

}  // namespace

int num_threads() {
  static const int n = detect_threads();
  return n;
}

namespace parallel_detail {
void parallel_run(int64_t parts, void (*fn)(void*, int64_t), void* ctx) {
  if (pool().run(parts, fn, ctx)) return;
  for (int64_t p = 0; p < parts; ++p) fn(ctx, p);
}
}  // namespace parallel_detail

}  // namespace axon::kernels::cpu
