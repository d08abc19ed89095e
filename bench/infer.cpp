// axon-bench infer: small-batch inference as an embedding code runs it every time step (issue 17):
// the same model and parameters, new input values copied into the input each call, predict()'s
// result written into memory the caller keeps (PredictOptions::out). Models: the surrogate MLP
// 64 -> 256 -> 256 -> 256 -> 8 (tanh) at batch 1, 16, 256 and W2's CNN at batch 1, 64.
//
// With --ort-python PATH (a python that imports onnxruntime and numpy), each model is exported with
// axon::onnx and bench/peers/ort_infer.py times it in ONNX Runtime with the same thread count, the
// two taking turns round by round, so the ratio comes from one run on one machine state.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
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

// The same scheme as ort_infer.py: as long a warm-up as the timed part, then blocks of about 2 ms of
// calls, the figures per call.
template <class F>
Timing time_calls(double seconds, F&& call) {
  int64_t n = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    for (int k = 0; k < 10; ++k) call(n + k);
    n += 10;
  }
  const int64_t block = std::max<int64_t>(1, static_cast<int64_t>(2e-3 / (seconds_since(t0) / double(n))));
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

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// ort_infer.py's figures, or the reason there are none.
struct PeerRun {
  std::optional<Timing> t;
  std::string why_not;
};

PeerRun run_ort(const Options& opt, const std::string& model_path, const Shape& shape, int threads, double seconds) {
  std::string dims;
  for (size_t d = 0; d < shape.size(); ++d) dims += (d ? "," : "") + std::to_string(shape[d]);
  const std::string cmd = fmt::format("{} {} {} --shape {} --threads {} --seconds {} 2>&1", shell_quote(opt.ort_python),
                                      shell_quote(opt.ort_script), shell_quote(model_path), dims, threads, seconds);
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {std::nullopt, "could not start " + opt.ort_python};
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  const int rc = pclose(p);
  const auto brace = text.rfind('{');
  auto med = brace == std::string::npos ? std::nullopt : json_number(text.substr(brace), "median_us");
  auto mn = brace == std::string::npos ? std::nullopt : json_number(text.substr(brace), "min_us");
  if (rc != 0 || !med || !mn) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto nl = text.rfind('\n');
    return {std::nullopt, "no ONNX Runtime figure: " + (nl == std::string::npos ? text : text.substr(nl + 1))};
  }
  return {Timing{*med, *mn}, {}};
}

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
  const double seconds = 0.3;
  const int rounds = opt.repeats_or(3);
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
    std::optional<Timing> axon_best, ort_best;
    for (int r = 0; r < rounds; ++r) {
      auto axon_round = [&] {
        Timing t = time_calls(seconds, call);
        if (!axon_best || t.median_us < axon_best->median_us) axon_best = t;
      };
      auto ort_round = [&] {
        if (model_path.empty()) return;
        PeerRun p = run_ort(opt, model_path, shape, threads, seconds);
        if (!p.t) {
          why_not = p.why_not;
          model_path.clear();  // one failure says enough
          return;
        }
        if (!ort_best || p.t->median_us < ort_best->median_us) ort_best = p.t;
      };
      if (r % 2 == 0) axon_round(), ort_round();
      else ort_round(), axon_round();
    }
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
