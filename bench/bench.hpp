#pragma once
// axon-bench: the workloads W1-W7 (W1 MLP and W2 CNN training epochs, W3
// GEMM, W4 memory-bound kernels, W5 GPT-2 124M, W6 LSTM and W7 ResNet-18 training steps),
// each figure timed after a warm-up over many repeats and printed beside its ceiling and PyTorch's.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <axon/axon.hpp>

namespace axon::bench {

struct Options {
  std::string workload = "quick";  // w1 .. w7 | autograd | memory | optim | conv | all | quick
  Device device = Device::cpu();
  bool json = false;
  int repeats = -1;  // -1: the workload's default for the device
  int warmup = -1;
  // 0: the workload's sizes; W3: matrix side n, W4: element count; W1/W2: steps an epoch; W5: the
  // width d (layers = heads = d / 64, T = 4d/3); W6: time steps; W7: the batch
  int64_t size = 0;
  int epochs = 0;    // W1/W2: 0 is 1 on the CPU, 5 on a GPU
  std::string dtype;  // W5/W7: "f32" or "bf16" (mixed precision); empty: the workload's default
  bool compile = false;  // W1/W2: train steps captured as CUDA graphs (TrainStepOptions::compile)
  std::string data;  // W1/W2: the Fashion-MNIST folder (default data/fashion-mnist, then Debian's)
  bool pipeline = false;  // W1/W2: batches from a data::Pipeline (IDX on the CPU, crop + flip, prefetch)
  bool verbose = false;   // W1/W2: a line with the allocations a step and the host cache's hit rate
  // W1/W2 --ranks N: data-parallel over the N ranks mpirun launched (dist.cpp sets the rest);
  // batch 128 split among them, the figure printed by rank 0.
  int ranks = 0;
  training::DataParallel data_parallel = {};
  // infer: the kernels' threads (set through AXON_NUM_THREADS before any kernel runs; 0: default),
  // and the python + script that time the same models in ONNX Runtime (empty python: no peer).
  int threads = 0;
  std::string ort_python;
  std::string ort_script;
  bool quick() const { return workload == "quick"; }
  int repeats_or(int dflt) const { return repeats > 0 ? repeats : dflt; }
  int warmup_or(int dflt) const { return warmup >= 0 ? warmup : dflt; }
};

// Milliseconds per repeat, summarised.
struct Stats {
  double median_ms = 0, p10_ms = 0, p90_ms = 0, min_ms = 0, max_ms = 0;
  int repeats = 0;
};

// Runs fn `warmup` times, then `repeats` times, each timed alone: with CUDA events on the device's
// stream (axon::cuda::stream) for a GPU, with std::chrono::steady_clock on the CPU.
Stats time_repeats(Device device, int warmup, int repeats, const std::function<void()>& fn);

struct Figure {
  std::string workload, op, dtype, shape;
  int64_t n = 0;
  Stats t;
  double value = 0;  // from the median time
  std::string unit;
  std::optional<double> ceiling;  // same unit
  std::string ceiling_what;
  // PyTorch 2.11 on an H100 (docs/workloads.md, not this run), at the workload's definition sizes only;
  // the Reporter drops it on any other device. Same-run peers: tools/gpu_check.sh, tools/compare_cpu.sh.
  std::optional<double> peer;
  bool ok = true;                 // the result was checked against a float64 reference
  std::string check;              // what the check found
};

// Prints figures as they come: an aligned table, or one JSON object a line with --json.
class Reporter {
 public:
  explicit Reporter(const Options& opt);
  void header();
  void figure(const Figure& f);
  void error(const std::string& workload, const std::string& what, const std::string& message);
  void note(const std::string& text);  // a line of the table's footer (stderr with --json)
  void footer();                       // where the PyTorch column's figures come from
  int failures() const { return failures_; }

 private:
  const Options& opt_;
  std::string device_name_;
  bool peer_applies_;    // an H100: the card the PyTorch figures were taken on
  bool peer_shown_ = false, peer_dropped_ = false;
  int failures_ = 0;
  std::vector<std::string> workloads_;  // in the order their rows came, for the footer's legend
};

std::string device_name(Device d);
const char* build_commit();

void run_w3(const Options& opt, Reporter& out);
void run_w4(const Options& opt, Reporter& out);
void run_autograd(const Options& opt, Reporter& out);  // host cost of the tape (autograd.cpp)
void run_memory(const Options& opt, Reporter& out);    // fused activations' GB/s (memory.cpp)
void run_optim(const Options& opt, Reporter& out);     // AdamW update, fused and composite (optim.cpp)
void run_conv(const Options& opt, Reporter& out);      // 3x3 NHWC convs fwd and fwd+bwd (conv.cpp)
void run_train(const Options& opt, Reporter& out);     // W1 / W2 training epochs (train_workloads.cpp)
void run_w5(const Options& opt, Reporter& out);        // GPT-2 124M training step (w5_gpt2.cpp)
void run_w6(const Options& opt, Reporter& out);        // 2-layer LSTM forward + backward (w6_lstm.cpp)
void run_w7(const Options& opt, Reporter& out);        // ResNet-18 CIFAR-sized training step (w7_resnet.cpp)
void run_infer(const Options& opt);  // small-batch predict beside ONNX Runtime (infer.cpp); prints its own table

// axon::dist (dist.cpp; without MPI in the build both say so and fail): the job's communicator for
// --ranks and allreduce (ranks other than 0 print nothing), and the all-reduce bus bandwidth.
void setup_dist(Options& opt);
void run_allreduce(const Options& opt, Reporter& out);

// Element `i` of a tensor, read back to the host as a double (for spot checks).
double element(const Tensor& t, int64_t i);

}  // namespace axon::bench
