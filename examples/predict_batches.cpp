// Prediction over a whole test set in batches, written into a buffer the caller owns, with the
// peak memory it took: predict's batch_size bounds the activations held at once.
//   example_predict_batches [--batch-size N (0: one pass)] [--data DIR]
// Prints the host allocator's peak during predict (axon memory_stats, the CPU device) and the
// process's peak resident size (VmHWM). Parameters are freshly initialised: the memory, not the
// accuracy, is the point.
#include <axon/axon.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

using namespace axon;

namespace {

double vm_hwm_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch_size = 1024;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch-size")) batch_size = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--data")) dir = argv[i + 1];
  }
  try {
    data::ImageSet d = data::load_fashion_mnist(data::find_fashion_mnist(dir));
    Model model = fashion_mnist_cnn();  // W2 of docs/workloads.md
    Params params = init(model, {.seed = 1});
    Tensor logits = empty({d.test_images.shape()[0], 10});  // the caller's buffer
    const double hwm_before = vm_hwm_mib();
    reset_peak_memory(Device::cpu());
    const size_t in_use = memory_stats(Device::cpu()).in_use;
    predict(model, params, d.test_images, {.batch_size = batch_size, .out = logits});
    const double peak = double(memory_stats(Device::cpu()).peak - in_use) / (1 << 20);
    Tensor predicted = argmax(logits, 1);
    std::printf("predict %lld images, batch_size %lld: peak %.1f MiB above the data (axon memory_stats), "
                "process VmHWM %.1f MiB (%.1f MiB before predict); first class %lld\n",
                (long long)d.test_images.shape()[0], (long long)batch_size, peak, vm_hwm_mib(), hwm_before,
                (long long)predicted.slice(0, 0, 1).to(DType::i64).reshape({}).item<int64_t>());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
