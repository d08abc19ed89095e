#pragma once
// What the CPU kernels that pick one of two paths per problem share (gemm_select.cpp, dense_select.cpp,
// conv_select.cpp, winograd_conv_select.cpp): the path setting (automatic, or a path forced by a
// setter or an environment variable), the choice made on a problem's first use by timing both paths
// and kept for the rest of the process, and the interleaved timing itself. Not installed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

namespace axon::kernels::cpu {

// A kernel's path setting: Path::automatic (a timed choice) or one of two paths forced. The initial
// value comes from the environment variable `env` when it names one of the two, else automatic.
template <class Path>
class PathSetting {
 public:
  PathSetting(const char* env, const char* name_a, Path a, const char* name_b, Path b) {
    const char* s = std::getenv(env);
    path_.store(s && std::strcmp(s, name_a) == 0   ? a
                : s && std::strcmp(s, name_b) == 0 ? b
                                                   : Path::automatic);
  }
  Path get() const { return path_.load(std::memory_order_relaxed); }
  void set(Path p) { path_.store(p, std::memory_order_relaxed); }

 private:
  std::atomic<Path> path_{Path::automatic};
};

// Which of two paths runs each Key (true: the second), decided once for the whole process, the first
// decision holding where two threads decide the same key at once. Each thread reads its own copy of
// the decisions first: the kernels' pool threads ask at the same moment, and a contended lock (a
// futex sleep and wake-up per call) cost W1 half its epoch. Tag: a type declared for the purpose in
// the user's anonymous namespace (`struct MyTag;`), which gives each user its own decisions and keeps
// them private to its file (a public type would export them from libaxon.so).
template <class Key, class Tag>
class TimedChoice {
 public:
  // The decision for key, if one was made.
  static std::optional<bool> find(const Key& key) {
    auto& mine = local();
    if (auto it = mine.find(key); it != mine.end()) return it->second;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = shared_.find(key);
    if (it == shared_.end()) return std::nullopt;
    mine.emplace(key, it->second);
    return it->second;
  }
  // Records `decision` for key unless another thread recorded one first; the decision that holds.
  static bool keep(const Key& key, bool decision) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      decision = shared_.emplace(key, decision).first->second;
    }
    local().emplace(key, decision);
    return decision;
  }
  // The decision for key, made by decide() (which times both paths) on its first use.
  template <class Decide>
  static bool choose(const Key& key, Decide&& decide) {
    if (auto known = find(key)) return *known;
    return keep(key, decide());
  }

 private:
  static std::map<Key, bool>& local() {
    thread_local std::map<Key, bool> decisions;
    return decisions;
  }
  static inline std::mutex mu_;
  static inline std::map<Key, bool> shared_;  // guarded by mu_
};

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The best times of the two paths of a timed choice.
struct PairTimes {
  double a = 1e30, b = 1e30;
};

// Times a() and b() in interleaved pairs (a busy machine's other processes get in the way of single
// calls, and of one path's calls in a row) and returns each one's best: at most max_pairs pairs,
// fewer where enough(pairs taken, best times so far, seconds of all the calls) says so.
template <class A, class B, class Enough>
PairTimes time_pairs(A&& a, B&& b, int max_pairs, Enough&& enough) {
  PairTimes t;
  double total = 0;
  for (int pairs = 1; pairs <= max_pairs; ++pairs) {
    const double ta = seconds(a), tb = seconds(b);
    t.a = std::min(t.a, ta), t.b = std::min(t.b, tb), total += ta + tb;
    if (enough(pairs, t, total)) break;
  }
  return t;
}

}  // namespace axon::kernels::cpu
