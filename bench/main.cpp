// axon-bench [w1|...|w7|infer|autograd|memory|optim|conv|all|quick] [--device cpu|cuda[:i]] [--json] [--repeats N] [--warmup N] [--size N]
#include <cstdlib>
#include <string>

#include "bench.hpp"

namespace {
void usage(std::FILE* to) {
  fmt::print(to,
             "usage: axon-bench [w1|w2|w3|w4|w5|w6|w7|infer|autograd|memory|optim|conv|all|quick] [--device cpu|cuda] [--json]\n"
             "                  [--repeats N] [--warmup N] [--size N] [--epochs N] [--data DIR] [--dtype f32|bf16]\n"
             "  w1     the seed MLP on Fashion-MNIST (model + training APIs, Adam, batch 128): ms an epoch, test accuracy\n"
             "  w2     the small CNN (conv 32, pool, conv 64, pool, dense 128, dense 10) likewise\n"
             "         (--epochs N: default 1 on the CPU, 5 on a GPU; --size N: at most N steps an epoch;\n"
             "          --data DIR: default data/fashion-mnist, then /usr/share/datasets/fashion-mnist;\n"
             "          --compile: each train step replayed as a CUDA graph, no effect on the CPU;\n"
             "          --pipeline: batches from a data::Pipeline reading the IDX files with crop+flip on 2 threads,\n"
             "          4 batches ahead; the check line says how long the loop waited for its batches;\n"
             "          --verbose: a line with the allocations a step and the share the host cache served)\n"
             "  w3     GEMM n = 4096, 8192: f32, TF32, bf16, f16 on a GPU (f32, f64 on the CPU), TFLOP/s\n"
             "  w4     copy, add, gelu, sum on 2^28 f32; row softmax and layer norm of 16384x16384, GB/s (CPU: each array\n"
             "         4x the last-level cache read from the machine)\n"
             "  w5     one GPT-2 124M training step (vocab 50304, d 768, 12 layers, 12 heads, T 1024, batch 8, AdamW),\n"
             "         tokens/s (--size N: width d, layers = heads = d/64, T = 4d/3; default 768 on a GPU, 256 on the CPU)\n"
             "  w6     2-layer LSTM (input 128, hidden 512, batch 64, 128 steps) forward + backward, ms\n"
             "         (--size N: time steps, default 128)\n"
             "  w7     ResNet-18 on 3x32x32 NHWC images, batch 256, SGD momentum 0.9: images/s of a training step\n"
             "         (--size N: the batch, default 256; below 32, lr 0.1 may not fit the batch in 5 steps)\n"
             "         w5/w7 --dtype bf16: mixed precision (default on a GPU), f32 on the CPU\n"
             "  autograd  host cost of the tape: 1000 small ops forward and backward, us per op\n"
             "  memory the fused activations (softplus, log_sigmoid, silu, mish, elu, selu, gelu, hard_silu,\n"
             "         leaky_relu) forward and"
             " forward + backward on 2^28 f32 (2^22 on the CPU), GB/s\n"
             "  optim  one AdamW update, fused and composite, over the W1 MLP's and (GPU) a 124M-parameter set, us and GB/s\n"
             "  conv   ResNet-style 3x3 NHWC convs (GPU: f32, TF32, bf16; CPU: W2's two convs, f32), fwd and fwd+bwd,\n"
             "         TFLOP/s (--size N: the batch)\n"
             "  allreduce  all_reduce (sum, f32) bus bandwidth over sizes 4 KiB .. 64 MiB, GB/s: MPI on the CPU, NCCL on a\n"
             "         GPU (axon::dist; launch with mpirun -np N)\n"
             "  --ranks N  W1/W2 data-parallel over N ranks: mpirun -np N axon-bench w1 --ranks N (batch 128 split)\n"
             "  infer  small-batch predict (surrogate MLP 64-256-256-256-8 tanh at batch 1, 16, 256; W2's CNN at 1, 64),\n"
             "         us a call, new input values each call, into a kept output (--threads N: the kernels' threads;\n"
             "         --ort-python PY: ONNX Runtime's time for the same exported models in the same run, from\n"
             "         bench/peers/ort_infer.py or --ort-script PATH, one process a model, its rounds of 0.2 s alternating with\n"
             "         axon's; --repeats N: rounds, default 9; --size N: batch N only)\n"
             "  all    w3 then w4\n"
             "  quick  both at small sizes (default): W3 n = 512 on the CPU, 2048 on a GPU; W4 n = 2^24 on a GPU\n"
             "  --size N   W3: the matrix side; W4: the element count (softmax on sqrt(N) x sqrt(N))\n"
             "  the device defaults to cuda when a GPU is present, else cpu\n");
}

long parse_int(const std::string& flag, const char* v) {
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (!end || *end || x < 0) throw axon::Error(fmt::format("axon-bench: {} needs a non-negative integer, got '{}'", flag, v));
  return x;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace axon;
  bench::Options opt;
  bool device_given = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> const char* {
        if (i + 1 >= argc) throw Error(fmt::format("axon-bench: {} needs a value", a));
        return argv[++i];
      };
      if (a == "-h" || a == "--help") {
        usage(stdout);
        return 0;
      } else if (a == "w1" || a == "w2" || a == "w3" || a == "w4" || a == "w5" || a == "w6" || a == "w7" || a == "autograd" || a == "memory" || a == "optim" || a == "conv" || a == "all" || a == "quick" || a == "allreduce" || a == "infer") {
        opt.workload = a;
      } else if (a == "--device") {
        opt.device = Device::parse(value());
        device_given = true;
      } else if (a == "--json") {
        opt.json = true;
      } else if (a == "--repeats") {
        opt.repeats = static_cast<int>(parse_int(a, value()));
      } else if (a == "--warmup") {
        opt.warmup = static_cast<int>(parse_int(a, value()));
      } else if (a == "--epochs") {
        opt.epochs = static_cast<int>(parse_int(a, value()));
      } else if (a == "--dtype") {
        opt.dtype = value();
        if (opt.dtype != "f32" && opt.dtype != "bf16")
          throw Error(fmt::format("axon-bench: --dtype must be f32 or bf16, got '{}'", opt.dtype));
      } else if (a == "--compile") {
        opt.compile = true;
      } else if (a == "--pipeline") {
        opt.pipeline = true;
      } else if (a == "--verbose") {
        opt.verbose = true;
      } else if (a == "--data") {
        opt.data = value();
      } else if (a == "--ranks") {
        opt.ranks = static_cast<int>(parse_int(a, value()));
      } else if (a == "--threads") {
        opt.threads = static_cast<int>(parse_int(a, value()));
        if (opt.threads < 1) throw Error("axon-bench: --threads must be at least 1");
        // Read once by the kernels' pool, which nothing has started yet.
        ::setenv("AXON_NUM_THREADS", std::to_string(opt.threads).c_str(), 1);
      } else if (a == "--ort-python") {
        opt.ort_python = value();
      } else if (a == "--ort-script") {
        opt.ort_script = value();
      } else if (a == "--size") {
        opt.size = parse_int(a, value());
      } else {
        throw Error(fmt::format("axon-bench: unknown argument '{}'", a));
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    usage(stderr);
    return 2;
  }
  if (!device_given && cuda_available()) opt.device = Device::cuda(0);
  if (opt.device.is_cuda() && !cuda_available()) {
    fmt::print(stderr, "axon-bench: --device {}, but {}\n", opt.device.str(),
               built_with_cuda() ? "no GPU is visible" : "axon was built without CUDA");
    return 2;
  }

  if (opt.ranks > 0 || opt.workload == "allreduce") try {
      bench::setup_dist(opt);
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}\n", e.what());
      return 2;
    }
  if (opt.workload == "infer") try {
      if (device_given && opt.device.is_cuda()) throw Error("axon-bench infer: CPU only (--device cpu)");
      opt.device = Device::cpu();
      if (opt.ort_script.empty()) opt.ort_script = AXON_BENCH_ORT_SCRIPT;
      bench::run_infer(opt);
      return 0;
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}\n", e.what());
      return 1;
    }
  bench::Reporter out(opt);
  out.header();
  const std::string& w = opt.workload;
  if (w == "w3" || w == "all" || w == "quick") bench::run_w3(opt, out);
  if (w == "w4" || w == "all" || w == "quick") bench::run_w4(opt, out);
  if (w == "autograd") bench::run_autograd(opt, out);
  if (w == "memory") bench::run_memory(opt, out);
  if (w == "optim") bench::run_optim(opt, out);
  if (w == "conv") bench::run_conv(opt, out);
  if (w == "w1" || w == "w2") bench::run_train(opt, out);
  if (w == "allreduce") bench::run_allreduce(opt, out);
  if (w == "w5") bench::run_w5(opt, out);
  if (w == "w6") bench::run_w6(opt, out);
  if (w == "w7") bench::run_w7(opt, out);
  out.footer();
  if (out.failures()) fmt::print(stderr, "axon-bench: {} figure(s) failed or were wrong\n", out.failures());
  return out.failures() ? 1 : 0;
}
