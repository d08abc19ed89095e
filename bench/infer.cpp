// axon-bench infer: small-batch inference as an embedding code runs it every time step (issue 17):
// the same model and parameters, new input values copied into the input each call, predict()'s
// result written into memory the caller keeps (PredictOptions::out). Models: the surrogate MLP
// 64 -> 256 -> 256 -> 256 -> 8 (tanh) at batch 1, 16, 256 and W2's CNN at batch 1, 64.
//
// With --ort-python PATH (a python that imports onnxruntime and numpy), each model is exported with
// axon::onnx and bench/peers/ort_infer.py (one process a model, started once) times it in ONNX
// Runtime with the same thread count, the two taking turns round by round (0.2 s each, 9 rounds
// unless --repeats), so that the ratio comes from one stretch of time on one machine state.
#include <sched.h>
#include <csignal>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <axon/out.hpp>

#include "bench.hpp"

#ifdef AXON_BENCH_ONNX
#include <axon/onnx.hpp>
#endif

namespace axon::bench {

namespace {

Model surrogate_mlp() {
  return input("state", {-1, 64}) | dense(256, {.activation = "tanh"}) | dense(256, {.activation = "tanh"}) |
         dense(256, {.activation = "tanh"}) | dense(8);
}

struct Case {
  const char* model;
  Model (*build)();
  Shape sample;  // one row's shape
  int64_t batch;
};

struct Timing {
  double median_us = 0, min_us = 0;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The same scheme as ort_infer.py: a warm-up that also sizes the blocks (about 2 ms of calls, so the
// clock's resolution does not matter), then rounds of blocks, each round's median and fastest block
// the figures per call.
template <class F>
int64_t warm_up(double seconds, F&& call) {
  int64_t n = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    for (int k = 0; k < 10; ++k) call(n + k);
    n += 10;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(2e-3 / (seconds_since(t0) / double(n))));
}

template <class F>
Timing time_round(double seconds, int64_t block, F&& call) {
  std::vector<double> us;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end || us.size() < 5) {
    const auto t = Clock::now();
    for (int64_t k = 0; k < block; ++k) call(static_cast<int64_t>(us.size()) * block + k);
    us.push_back(seconds_since(t) / double(block) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us.front()};
}

// The number after "key": in ort_infer.py's one JSON line.
std::optional<double> json_number(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(line.c_str() + at + key.size() + 3, nullptr);
}

std::string json_escape(const std::string& s) {
  std::string e;
  for (char c : s) {
    if (c == '"' || c == '\\') e += '\\';
    e += c == '\n' ? ' ' : c;
  }
  return e;
}

// bench/peers/ort_infer.py --serve on one exported model: started once (its warm-up), then a round
// of ONNX Runtime calls for each round() between axon's rounds, so that the two alternate every few
// tenths of a second in one stretch of time (a shared machine's load changes within seconds: rounds
// from separate runs of each compared how busy the machine was as much as the two libraries).
class OrtPeer {
 public:
  OrtPeer(const Options& opt, const std::string& model_path, const Shape& shape, int threads, double warmup) {
    std::string dims;
    for (size_t d = 0; d < shape.size(); ++d) dims += (d ? "," : "") + std::to_string(shape[d]);
    const std::vector<std::string> args = {opt.ort_python, opt.ort_script,         model_path, "--shape",
                                           dims,           "--threads",            std::to_string(threads),
                                           "--seconds",    fmt::format("{}", warmup), "--serve"};
    const std::string no_exec = "could not run " + opt.ort_python + "\n";
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0) {
      why_not_ = "no ONNX Runtime figure: pipe() failed";
      return;
    }
    if (::pipe(from_child) != 0) {
      ::close(to_child[0]), ::close(to_child[1]);
      why_not_ = "no ONNX Runtime figure: pipe() failed";
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec: the kernels' pool threads exist
      ::setpgid(0, 0);  // its own group, which a timeout kills whole (a shell wrapper's children too)
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::dup2(from_child[1], 2);
      ::close(to_child[0]), ::close(to_child[1]), ::close(from_child[0]), ::close(from_child[1]);
      ::execvp(argv[0], argv.data());
      [[maybe_unused]] const ssize_t w = ::write(2, no_exec.data(), no_exec.size());
      ::_exit(127);
    }
    ::close(to_child[0]), ::close(from_child[1]);
    if (pid_ < 0) {
      ::close(to_child[1]), ::close(from_child[0]);
      why_not_ = "no ONNX Runtime figure: fork() failed";
      return;
    }
    from_ = from_child[0];
    to_ = ::fdopen(to_child[1], "w");
    if (!to_) {
      ::close(to_child[1]);
      fail("fdopen() failed");
      return;
    }
    std::string line;
    while (read_line(line, timeout_))
      if (line.find("\"ready\"") != std::string::npos) return;
    fail(ended("ended without a word"));
  }
  OrtPeer(const OrtPeer&) = delete;
  OrtPeer& operator=(const OrtPeer&) = delete;
  ~OrtPeer() { stop(); }

  bool running() const { return to_ != nullptr; }
  const std::string& why_not() const { return why_not_; }

  // One round of `seconds`, or nothing (why_not() says why; the peer is stopped).
  std::optional<Timing> round(double seconds) {
    if (!running()) return std::nullopt;
    if (std::fprintf(to_, "%g\n", seconds) < 0 || std::fflush(to_) != 0) {
      fail("ort_infer.py stopped reading");
      return std::nullopt;
    }
    std::string line;
    while (read_line(line, seconds + timeout_)) {
      auto med = json_number(line, "median_us"), mn = json_number(line, "min_us");
      if (med && mn) return Timing{*med, *mn};
    }
    fail(ended("ended without a figure"));
    return std::nullopt;
  }

 private:
  // The next line the script writes, within `timeout` seconds; false at its end, or when the time ran
  // out (timed_out_: a script that hangs must not hang the benchmark with it).
  bool read_line(std::string& line, double timeout) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
    for (;;) {
      if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
        line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return take(line);
      }
      if (from_ < 0) break;
      const double left = std::chrono::duration<double>(end - Clock::now()).count();
      if (left <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd p{from_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min(left * 1e3 + 1, 6e4)));
      if (ready <= 0) continue;  // the time left is checked again; EINTR likewise
      char buf[4096];
      const ssize_t got = ::read(from_, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ::close(from_);
        from_ = -1;
        break;
      }
      pending_.append(buf, static_cast<size_t>(got));
    }
    if (pending_.empty()) return false;  // the end; a last line without its newline still counts
    line.swap(pending_);
    pending_.clear();
    return take(line);
  }

  bool take(std::string& line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (!line.empty() && line.find("median_us") == std::string::npos && line.find("\"ready\"") == std::string::npos)
      last_line_ = line;
    return true;
  }

  std::string ended(const char* what) const {
    if (timed_out_) return fmt::format("ort_infer.py gave no answer in {} s", timeout_);
    return last_line_.empty() ? fmt::format("ort_infer.py {}", what) : last_line_;
  }

  void fail(const std::string& why) {
    why_not_ = "no ONNX Runtime figure: " + why;
    stop();
  }

  void stop() {
    if (to_) std::fclose(to_);  // the script's stdin ends: it exits
    to_ = nullptr;
    if (from_ >= 0) {
      std::string rest;
      if (!timed_out_)
        while (read_line(rest, 10.0)) {
        }
      if (timed_out_ && pid_ > 0) ::kill(-pid_, SIGKILL);
      if (from_ >= 0) ::close(from_);
      from_ = -1;
    }
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  // Seconds the script may take to get ready, or beyond a round's own: AXON_BENCH_PEER_TIMEOUT, else 120.
  static double peer_timeout() {
    const char* s = std::getenv("AXON_BENCH_PEER_TIMEOUT");
    const double t = s ? std::atof(s) : 0.0;
    return t > 0 ? t : 120.0;
  }

  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  int from_ = -1;
  std::string pending_, why_not_, last_line_;
  bool timed_out_ = false;
  double timeout_ = peer_timeout();
};

// What the kernels' pool uses without --threads (kernels/cpu/parallel.cpp): AXON_NUM_THREADS, else
// the CPUs this process may run on.
int default_threads() {
  if (const char* s = std::getenv("AXON_NUM_THREADS"); s && std::atoi(s) >= 1) return std::atoi(s);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1) return CPU_COUNT(&set);
  return 1;
}

}  // namespace

void run_infer(const Options& opt) {
  const int threads = opt.threads > 0 ? opt.threads : default_threads();
  const double seconds = 0.2;
  const int rounds = opt.repeats_or(9);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that died: its pipe's write fails instead of ending the run
  const std::vector<Case> cases = {
      {"mlp", surrogate_mlp, {64}, 1},          {"mlp", surrogate_mlp, {64}, 16},
      {"mlp", surrogate_mlp, {64}, 256}, {"cnn", fashion_mnist_cnn, {28, 28, 1}, 1},
      {"cnn", fashion_mnist_cnn, {28, 28, 1}, 64},
  };

  std::string ort_missing;
  std::filesystem::path dir;
  if (opt.ort_python.empty()) {
    ort_missing = "no ONNX Runtime figure: pass --ort-python PATH (a python with onnxruntime and numpy)";
  } else {
#ifdef AXON_BENCH_ONNX
    dir = std::filesystem::temp_directory_path() / fmt::format("axon-bench-infer-{}", ::getpid());
    std::filesystem::create_directories(dir);
#else
    ort_missing = "no ONNX Runtime figure: axon-bench was built without axon::onnx (libonnx-dev) to export the models";
#endif
  }

  if (!opt.json)
    fmt::print("axon-bench infer | commit {} | cpu, {} thread(s) | predict into a kept output, new input each call\n"
               "best of {} rounds (median of ~2 ms blocks each); ONNX Runtime {} in the same run\n\n"
               "{:<6} {:>6} {:>12} {:>12} {:>9}  {}\n",
               build_commit(), threads, rounds, opt.ort_python.empty() ? "not run" : "(intra_op_num_threads = threads)",
               "model", "batch", "axon us", "ORT us", "axon/ORT", "check");
  for (const Case& c : cases) {
    if (opt.size > 0 && c.batch != opt.size) continue;  // --size N: only batch N
    const Model model = c.build();
    const Params params = init(model, {.seed = 1});
    Shape shape = c.sample;
    shape.insert(shape.begin(), c.batch);
    Generator gen(7);
    std::vector<Tensor> ring;
    for (int i = 0; i < 8; ++i) ring.push_back(randn(shape, gen));
    const Tensor x = empty(shape);
    Tensor out = predict(model, params, ring[0]);
    const Tensor reference = apply(model, params, ring[0]).output;

    std::string model_path, why_not = ort_missing;
#ifdef AXON_BENCH_ONNX
    if (!dir.empty()) {
      model_path = (dir / fmt::format("{}_b{}.onnx", c.model, c.batch)).string();
      try {
        onnx::export_model(model, params, model_path);
      } catch (const std::exception& e) {
        model_path.clear();
        why_not = fmt::format("no ONNX Runtime figure: export failed: {}", e.what());
      }
    }
#endif
    auto call = [&](int64_t k) {
      copy_into(x, ring[static_cast<size_t>(k % 8)]);
      predict(model, params, x, {.out = out});
    };
    std::optional<OrtPeer> ort;
    if (!model_path.empty()) {
      ort.emplace(opt, model_path, shape, threads, seconds);
      if (!ort->running()) why_not = ort->why_not();
    }
    const int64_t block = warm_up(seconds, call);
    std::optional<Timing> axon_best, ort_best;
    for (int r = 0; r < rounds; ++r) {
      auto axon_round = [&] {
        const Timing t = time_round(seconds, block, call);
        if (!axon_best || t.median_us < axon_best->median_us) axon_best = t;
      };
      auto ort_round = [&] {
        if (!ort || !ort->running()) return;
        const std::optional<Timing> t = ort->round(seconds);
        if (!t) {
          why_not = ort->why_not();
          ort_best.reset();  // one failure says enough
          return;
        }
        if (!ort_best || t->median_us < ort_best->median_us) ort_best = t;
      };
      if (r % 2 == 0) axon_round(), ort_round();
      else ort_round(), axon_round();
    }
    ort.reset();
    // The timed calls left the last ring entry's prediction in `out`; the reference is the first's.
    predict(model, params, ring[0], {.out = out});
    const double err = max(abs(sub(out, reference))).item<double>();
    // Predict's convs may run on the Winograd kernel, which rounds differently from apply()'s (W2's
    // CNN at batch 64: up to 1.2e-6 apart); a wrong result is far larger.
    const double scale = max(abs(reference)).item<double>();
    const bool ok = err <= 1e-5 * std::max(scale, 1.0);
    const std::string check = ok ? "ok" : fmt::format("WRONG: predict differs from apply by {:.3g}", err);
    if (opt.json) {
      fmt::print("{{\"workload\": \"infer\", \"model\": \"{}\", \"batch\": {}, \"threads\": {}, \"axon_us\": {:.3f}, "
                 "\"axon_min_us\": {:.3f}, \"ort_us\": {}, \"ratio\": {}, \"ok\": {}, \"note\": \"{}\"}}\n",
                 c.model, c.batch, threads, axon_best->median_us, axon_best->min_us,
                 ort_best ? fmt::format("{:.3f}", ort_best->median_us) : "null",
                 ort_best ? fmt::format("{:.3f}", axon_best->median_us / ort_best->median_us) : "null",
                 ok ? "true" : "false", ort_best ? "" : json_escape(why_not));
    } else {
      fmt::print("{:<6} {:>6} {:>12.2f} {:>12} {:>9}  {}\n", c.model, c.batch, axon_best->median_us,
                 ort_best ? fmt::format("{:.2f}", ort_best->median_us) : "-",
                 ort_best ? fmt::format("{:.3f}", axon_best->median_us / ort_best->median_us) : "-",
                 ort_best ? check : check + "; " + why_not);
    }
  }
  if (!dir.empty()) std::filesystem::remove_all(dir);
}

}  // namespace axon::bench
