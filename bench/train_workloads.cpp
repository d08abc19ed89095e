// W1 (the seed MLP) and W2 (the small CNN) of docs/workloads.md: Fashion-MNIST epochs trained with the
// model-creation and training APIs exactly as a user writes them (trainer, Adam 1e-3, batch 128,
// cross-entropy on logits), timed per epoch from a device synchronisation at its start to one at
// its end; the test accuracy after the last epoch is the figure's check.
#include <chrono>
#include <numeric>

#include <axon/data/pipeline.hpp>

#include "bench.hpp"

namespace axon::bench {

Model w2_model() {
  return input("images", {-1, 28, 28, 1}) |
         conv(32, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) |
         conv(64, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) | flatten() | dense(128, {.activation = "relu"}) | dense(10);
}

namespace {

Model w1_model() {
  return input("images", {-1, 28, 28, 1}) | flatten() | dense(128, {.activation = "relu"}) |
         dropout({.rate = 0.5}) | dense(10);
}

Tensor loss(const Tensor& y, const Tensor& logits) {
  return losses::categorical_cross_entropy(y, logits,
                                           {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
}

struct Workload {
  const char* id;
  Model (*model)();
  double peer_eager_ms, peer_graphed_ms;  // PyTorch 2.11 on an H100 (docs/workloads.md): eager, "reduce-overhead"
  double min_accuracy;              // after one full epoch
};

void run_one(const Workload& w, const Options& opt, Reporter& out) {
  const Device dev = opt.device;
  const std::string dir = data::find_fashion_mnist(opt.data);
  // --pipeline reads the training images itself: only the test split is loaded here then.
  const data::ImageSet d =
      data::load_fashion_mnist(dir, {.device = dev, .split = opt.pipeline ? data::Split::test : data::Split::all});
  const Tensor &train_x = d.train_images, &train_y = d.train_labels;
  const Model model = w.model();

  const training::DataParallel& dp = opt.data_parallel;
  Loop loop = trainer(model, loss, optim::adam(1e-3), {.log = 0, .compile = opt.compile, .data_parallel = dp});
  // Epoch times: synchronised at both ends, and taken before validation runs.
  std::vector<double> ms;
  std::chrono::steady_clock::time_point t0;
  loop.handle(training::Event::epoch_started, [&](LoopState&) {
    synchronize(dev);
    t0 = std::chrono::steady_clock::now();
    return training::Action::continue_;
  });
  loop.handle(training::Event::epoch_completed, [&](LoopState&) {
    synchronize(dev);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    return training::Action::continue_;
  });
  training::metric(loop, "accuracy", [](const Tensor& y, const Tensor& p) {
    return metrics::accuracy(y, p, {.sparse = true});
  });
  training::validate(loop, model, training::tensor_dataset(d.test_images, d.test_labels, {.batch_size = 1000}));

  const int epochs = opt.epochs > 0 ? opt.epochs : (dev.is_cuda() ? 5 : 1);
  const int64_t steps = opt.size > 0 ? opt.size : -1;  // --size N: at most N steps an epoch
  // --ranks: each rank takes its part of every batch of 128 (the same order as one process).
  const training::BatchOptions batches{.batch_size = 128 / std::max(dp.size, 1), .shuffle = true};
  AXON_CHECK(!(opt.pipeline && dp.size > 1), "axon-bench", "--pipeline with --ranks is not supported");
  // --pipeline: samples read from the IDX files on the CPU, randomly cropped (padding 2) and flipped on
  // two background threads, four batches ahead, then moved to the device.
  training::Dataset train_data =
      opt.pipeline ? data::Pipeline(data::from_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"))
                         .map(data::random_crop(28, 28, 2))
                         .map(data::random_flip())
                         .shuffle(0)
                         .batch(128)
                         .prefetch(4, 2)
                         .to(dev)
                         .dataset()
      : dp.size > 1 ? training::sharded_dataset(train_x, train_y, dp.rank, dp.size, batches)
                    : training::tensor_dataset(train_x, train_y, batches);
  // The time the loop waits for its batches: what loading costs the step.
  double data_ms = 0;
  training::Dataset timed(train_data.num_batches(), [&](int64_t epoch, int64_t index) {
    auto t = std::chrono::steady_clock::now();
    training::Batch b = train_data.batch(epoch, index);
    data_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    return b;
  });
  LoopState state = loop.run(timed, {}, {.epochs = epochs, .iterations = steps});
  const double acc = state.epoch_metrics.rbegin()->second.at("validation_accuracy").item<double>();

  Figure f;
  f.workload = w.id;
  f.dtype = "f32";
  f.op = opt.compile && dev.is_cuda() ? "epoch (graphed)" : "epoch";
  f.shape = fmt::format("{} epoch(s), {} steps{}", epochs, steps > 0 ? steps : train_data.num_batches(),
                        dp.size > 1 ? fmt::format(", {} ranks x batch {}", dp.size, batches.batch_size) : "");
  f.n = epochs;
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  f.t.repeats = static_cast<int>(sorted.size());
  f.t.median_ms = sorted[sorted.size() / 2];
  f.t.min_ms = f.t.p10_ms = sorted.front();
  f.t.max_ms = f.t.p90_ms = sorted.back();
  // The first epoch pays for the allocator's and libraries' warm-up: the median is the figure.
  f.value = f.t.median_ms;
  f.unit = "ms/epoch";
  // A reference figure is an H100's full epoch: never set beside a partial one (--size), nor on the CPU,
  // where no figure from another run compares (tools/compare_cpu.sh takes the peers in the same run).
  if (dev.is_cuda() && steps <= 0) f.peer = opt.compile ? w.peer_graphed_ms : w.peer_eager_ms;
  f.ok = steps > 0 || acc >= w.min_accuracy;
  f.check = fmt::format("test accuracy {:.4f} after {} epoch(s){}; waited {:.0f} ms of {:.0f} for {} batches",
                        acc, epochs,
                        steps > 0 ? " (steps limited: not checked)" : fmt::format(" (>= {:.2f})", w.min_accuracy),
                        data_ms, std::accumulate(ms.begin(), ms.end(), 0.0),
                        opt.pipeline ? "pipeline (crop+flip, prefetch 4)" : "in-memory");
  out.figure(f);
}

}  // namespace

void run_train(const Options& opt, Reporter& out) {
  static const Workload w1{"w1", w1_model, 791, 682, 0.80};
  static const Workload w2{"w2", w2_model, 1156, 617, 0.85};
  if (opt.workload == "w1") run_one(w1, opt, out);
  if (opt.workload == "w2") run_one(w2, opt, out);
}

}  // namespace axon::bench
