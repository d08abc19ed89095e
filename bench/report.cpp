#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "bench.hpp"

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>
#endif

#include "axon_bench_commit.h"  // written at every build (cmake/AxonBenchCommit.cmake)

namespace axon::bench {

const char* build_commit() { return AXON_BENCH_COMMIT; }

std::string device_name(Device d) {
#ifdef AXON_HAS_CUDA
  if (d.is_cuda()) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d.index) == cudaSuccess)
      return fmt::format("{} (cuda:{}, {} SMs, {:.0f} GiB)", p.name, d.index, p.multiProcessorCount,
                         static_cast<double>(p.totalGlobalMem) / (1 << 30));
  }
#endif
  if (d.is_cuda()) return d.str();
  std::ifstream info("/proc/cpuinfo");
  std::string line, model = "cpu";
  while (std::getline(info, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  }
  return fmt::format("{} ({} threads)", model, std::thread::hardware_concurrency());
}

namespace {
std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}
std::string json_num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "null"; }
std::string json_opt(const std::optional<double>& v) { return v ? json_num(*v) : "null"; }
std::string pct(const std::optional<double>& ref, double v) {
  return ref && *ref > 0 ? fmt::format("{:.1f}%", 100 * v / *ref) : "-";
}
std::string num_or_dash(const std::optional<double>& v) { return v ? fmt::format("{:.4g}", *v) : "-"; }

// One line per workload for the footer: what its rows time, and what they are set against (the
// definitions: docs/workloads.md).
std::string what_it_measures(std::string w) {
  for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string> m = {
      {"w1", "one training epoch of the seed MLP on Fashion-MNIST (trainer, Adam, batch 128), ms; check: test "
             "accuracy after it; against: PyTorch's epoch on an H100 (GPU), LibTorch via tools/compare_cpu.sh (CPU)"},
      {"w2", "one training epoch of the small CNN on Fashion-MNIST, ms; check: test accuracy; against: as W1"},
      {"w3", "one n x n matrix product, TFLOP/s = 2n^3 / time; check: against a float64 product; against: "
             "cuBLAS through PyTorch on an H100 (GPU), nothing on the CPU"},
      {"w4", "memory-bound kernels, GB/s counting each byte read and written once; check: against float64; "
             "against: the ceiling, a device memcpy of the same size measured in this run"},
      {"w5", "one GPT-2 training step (forward, backward, AdamW), tokens/s; against: PyTorch on an H100"},
      {"w6", "2-layer LSTM forward + backward, ms; against: PyTorch on an H100 (GPU), tools/compare_cpu.sh (CPU)"},
      {"w7", "one ResNet-18 training step, images/s; against: PyTorch on an H100 (GPU), tools/compare_cpu.sh (CPU)"},
      {"autograd", "host cost of recording and replaying the tape, us per op; against: the target in the ceiling column"},
      {"memory", "fused activation kernels forward (and forward + backward), GB/s; against: the memcpy ceiling"},
      {"optim", "one AdamW update over a parameter set, fused and composite, us and GB/s; against: a copy of the "
                "same bytes"},
      {"conv", "3x3 NHWC convolutions forward (and forward + backward), TFLOP/s"},
  };
  auto it = m.find(w);
  return it == m.end() ? std::string() : it->second;
}
}  // namespace

Reporter::Reporter(const Options& opt)
    : opt_(opt),
      device_name_(device_name(opt.device)),
      peer_applies_(opt.device.is_cuda() && device_name_.find("H100") != std::string::npos) {}

void Reporter::header() {
  if (opt_.json) return;
  fmt::print("axon-bench {} | commit {} | {} on {}\n", opt_.workload, build_commit(), opt_.device.str(), device_name_);
  fmt::print("median over repeats after warm-up; spread p10..p90; value from the median\n\n");
  fmt::print("{:<8} {:<17} {:<5} {:<15} {:>10} {:>10} {:>10} {:>9} {:<8} {:>9} {:>7} {:>8} {:>7}  {}\n", "wl", "op",
             "dtype", "size", "median ms", "p10 ms", "p90 ms", "value", "unit", "ceiling", "%ceil", "PyTorch",
             "%torch", "check");
  std::fflush(stdout);
}

void Reporter::figure(const Figure& given) {
  Figure f = given;
  if (f.peer && !peer_applies_) {
    f.peer.reset();
    peer_dropped_ = true;
  }
  peer_shown_ = peer_shown_ || f.peer.has_value();
  if (std::find(workloads_.begin(), workloads_.end(), f.workload) == workloads_.end()) workloads_.push_back(f.workload);
  if (!f.ok) ++failures_;
  if (opt_.json) {
    fmt::print("{{\"workload\": {}, \"op\": {}, \"dtype\": {}, \"n\": {}, \"shape\": {}, \"median_ms\": {}, "
               "\"p10_ms\": {}, \"p90_ms\": {}, \"min_ms\": {}, \"max_ms\": {}, \"repeats\": {}, \"value\": {}, "
               "\"unit\": {}, \"ceiling\": {}, \"ceiling_what\": {}, \"peer\": {}, \"ok\": {}, \"check\": {}, "
               "\"device\": {}, \"commit\": {}}}\n",
               json_str(f.workload), json_str(f.op), json_str(f.dtype), f.n, json_str(f.shape), json_num(f.t.median_ms),
               json_num(f.t.p10_ms), json_num(f.t.p90_ms), json_num(f.t.min_ms), json_num(f.t.max_ms), f.t.repeats,
               json_num(f.value), json_str(f.unit), json_opt(f.ceiling), json_str(f.ceiling_what), json_opt(f.peer),
               f.ok ? "true" : "false", json_str(f.check), json_str(device_name_), json_str(build_commit()));
  } else {
    fmt::print("{:<8} {:<17} {:<5} {:<15} {:>10.3f} {:>10.3f} {:>10.3f} {:>9.4g} {:<8} {:>9} {:>7} {:>8} {:>7}  {}\n",
               f.workload, f.op, f.dtype, f.shape, f.t.median_ms, f.t.p10_ms, f.t.p90_ms, f.value, f.unit,
               num_or_dash(f.ceiling), pct(f.ceiling, f.value), num_or_dash(f.peer), pct(f.peer, f.value),
               f.ok ? "ok" : "WRONG: " + f.check);
  }
  if (!f.ok)
    fmt::print(stderr, "WARNING: {} {} {} {}: the result is wrong ({}); its timing is not a result\n", f.workload,
               f.op, f.dtype, f.shape, f.check);
  std::fflush(stdout);
}

void Reporter::error(const std::string& workload, const std::string& what, const std::string& message) {
  ++failures_;
  if (opt_.json)
    fmt::print("{{\"workload\": {}, \"op\": {}, \"error\": {}, \"device\": {}, \"commit\": {}}}\n", json_str(workload),
               json_str(what), json_str(message), json_str(device_name_), json_str(build_commit()));
  else
    fmt::print("{:<8} {:<39} error: {}\n", workload, what, message);
  std::fflush(stdout);
}

void Reporter::note(const std::string& text) {
  fmt::print(opt_.json ? stderr : stdout, "{}\n", text);
}

void Reporter::footer() {
  for (const auto& w : workloads_)
    if (auto what = what_it_measures(w); !what.empty()) note(fmt::format("{}: {}", w, what));
  if (peer_shown_)
    note("PyTorch column: PyTorch 2.11 on an H100 80GB HBM3 (docs/workloads.md), not this run, at the definition sizes "
         "only; tools/gpu_check.sh runs bench/peers/torch_gpu.py beside axon-bench for same-run ratios");
  else if (opt_.device.is_cuda())
    note(fmt::format("PyTorch column: empty: {}; tools/gpu_check.sh runs bench/peers/torch_gpu.py beside axon-bench "
                     "for same-run ratios",
                     peer_dropped_ ? "the reference figures were taken on an H100, not on this card"
                                   : "no reference figure at these sizes"));
  else
    note("PyTorch column: empty on the CPU (no figure from another run is comparable); tools/compare_cpu.sh runs "
         "LibTorch / PyTorch interleaved with axon-bench and prints the ratios");
}

}  // namespace axon::bench
