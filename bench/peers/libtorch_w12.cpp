// The LibTorch C++ peer of axon-bench's W1 (seed MLP) and W2 (small CNN): Fashion-MNIST epochs with
// Adam 1e-3, batch 128, cross-entropy on the logits, the data gathered by a shuffled index each step.
// One JSON object a line in axon-bench --json's keys (value: the median epoch, min_ms: the best), so
// that tools/compare_cpu.sh reads both alike.
//
//   OPENBLAS_NUM_THREADS=1 libtorch_w12 w1|w2 [--epochs N] [--threads N] [--steps N] [--data DIR]
//
// Debian's LibTorch runs its own OpenMP threads: without OPENBLAS_NUM_THREADS=1 a threaded OpenBLAS
// inside each of them oversubscribes the cores and LibTorch runs many times slower than it can.
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 16);
  int got;
  while ((got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0)
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  gzclose(f);
  return bytes;
}

// An IDX file (big-endian dims after a magic whose last byte is the rank): pixels scaled to [0, 1]
// as f32, labels as i64.
torch::Tensor load_idx(const std::string& dir, const std::string& name, bool pixels) {
  const std::vector<uint8_t> b = read_gz(dir + "/" + name);
  if (b.size() < 4) throw std::runtime_error(name + ": not an IDX file");
  const int rank = b[3];
  std::vector<int64_t> dims;
  for (int i = 0; i < rank; ++i) {
    const uint8_t* d = &b[4 + 4 * i];
    dims.push_back((int64_t(d[0]) << 24) | (d[1] << 16) | (d[2] << 8) | d[3]);
  }
  auto raw = torch::from_blob(const_cast<uint8_t*>(b.data()) + 4 + 4 * rank, dims, torch::kUInt8);
  return pixels ? raw.to(torch::kFloat32).div_(255) : raw.to(torch::kInt64);
}

torch::nn::Sequential mlp() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.5), nn::Linear(128, 10));
}

torch::nn::Sequential cnn() {
  namespace nn = torch::nn;
  auto conv = [](int64_t in, int64_t out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)); };
  return nn::Sequential(conv(1, 32), nn::ReLU(), nn::MaxPool2d(2), conv(32, 64), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Linear(128, 10));
}

struct Args {
  std::string workload, data;
  int epochs = 2, threads = 2;
  int64_t steps = 0;  // 0: the whole epoch, 468 full batches as the recipe
};

Args parse(int argc, char** argv) {
  Args a;
  const char* env = std::getenv("FASHION_MNIST");
  a.data = env ? env : "data/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(s + " needs a value");
      return argv[++i];
    };
    if (s == "w1" || s == "w2") a.workload = s;
    else if (s == "--epochs") a.epochs = std::stoi(next());
    else if (s == "--threads") a.threads = std::stoi(next());
    else if (s == "--steps") a.steps = std::stoll(next());
    else if (s == "--data") a.data = next();
    else throw std::runtime_error("unknown argument '" + s + "'");
  }
  if (a.workload.empty() || a.epochs < 1) throw std::runtime_error("usage: libtorch_w12 w1|w2 [--epochs N>=1] ...");
  return a;
}

std::string exists_or_debian(const std::string& dir) {
  gzFile f = gzopen((dir + "/t10k-labels-idx1-ubyte.gz").c_str(), "rb");
  if (f) {
    gzclose(f);
    return dir;
  }
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  torch::set_num_threads(a.threads);
  torch::manual_seed(0);
  const std::string dir = exists_or_debian(a.data);
  const bool image = a.workload == "w2";
  torch::Tensor xtr = load_idx(dir, "train-images-idx3-ubyte.gz", true);
  torch::Tensor ytr = load_idx(dir, "train-labels-idx1-ubyte.gz", false);
  torch::Tensor xte = load_idx(dir, "t10k-images-idx3-ubyte.gz", true);
  torch::Tensor yte = load_idx(dir, "t10k-labels-idx1-ubyte.gz", false);
  if (image) {
    xtr = xtr.unsqueeze(1);
    xte = xte.unsqueeze(1);
  }
  torch::nn::Sequential model = image ? cnn() : mlp();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t batch = 128, n = xtr.size(0);
  const int64_t steps = a.steps > 0 ? std::min(a.steps, n / batch) : n / batch;

  std::vector<double> ms;
  for (int e = 0; e < a.epochs; ++e) {
    model->train();
    const torch::Tensor perm = torch::randperm(n, torch::kInt64);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) {
      const torch::Tensor j = perm.slice(0, i * batch, (i + 1) * batch);
      opt.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xtr.index_select(0, j)),
                                                                ytr.index_select(0, j));
      loss.backward();
      opt.step();
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  model->eval();
  torch::NoGradGuard no_grad;
  const double acc = model->forward(xte).argmax(1).eq(yte).to(torch::kFloat64).mean().item<double>();

  std::vector<double> s = ms;
  std::sort(s.begin(), s.end());
  const double median = s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
  std::printf("{\"workload\": \"%s\", \"op\": \"epoch\", \"dtype\": \"f32\", \"n\": %d, \"shape\": \"%d epoch(s), %lld "
              "steps\", \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"repeats\": %zu, \"value\": %.3f, "
              "\"unit\": \"ms/epoch\", \"ok\": true, \"check\": \"test accuracy %.4f after %d epoch(s)\", "
              "\"device\": \"cpu\", \"commit\": \"peer\", \"impl\": \"LibTorch %s C++ (%d threads)\"}\n",
              a.workload.c_str(), a.epochs, a.epochs, static_cast<long long>(steps), median, s.front(), s.back(),
              s.size(), median, acc, a.epochs, TORCH_VERSION, torch::get_num_threads());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "libtorch_w12: %s\n", e.what());
  return 1;
}
