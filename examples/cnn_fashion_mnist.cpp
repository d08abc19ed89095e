// Trains the W2 CNN (docs/workloads.md) on Fashion-MNIST, channels last (NHWC, f32), with the
// functional and optimization APIs only: parameters as a named map, value_and_grad, optim::adam.
//   conv 32 3x3 same relu -> max_pool 2 -> conv 64 3x3 same relu -> max_pool 2 -> flatten
//   -> dense 128 relu -> dense 10; categorical cross-entropy from logits; Adam 1e-3; batch 128.
//
//   example_cnn_fashion_mnist [--device cpu|cuda] [--epochs N] [--data DIR] [--limit-steps N]
//
// Prints per-epoch loss, test accuracy, time and ms/step. --limit-steps N stops each epoch after N
// steps and skips the evaluation (for profiling). Without it, exits non-zero below 85% final test accuracy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include <axon/axon.hpp>
#include <axon/data/fashion_mnist.hpp>
#include <axon/initializers.hpp>
#include <axon/layers/conv.hpp>
#include <axon/layers/linear.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/losses.hpp>
#include <axon/optim.hpp>

using namespace axon;

namespace {

struct Args {
  Device device = default_device();  // --device overrides
  int epochs = 1;
  std::string data;  // default: data/fashion-mnist, then /usr/share/datasets/fashion-mnist
  int64_t batch = 128;
  int64_t limit_steps = 0;  // 0: whole epochs
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("cnn_fashion_mnist: " + k + " needs a value");
      return argv[++i];
    };
    if (k == "--device") {
      std::string d = value();
      if (d == "cpu") a.device = Device::cpu();
      else if (d == "cuda") a.device = Device::cuda(0);
      else throw Error("cnn_fashion_mnist: --device must be cpu or cuda, got " + d);
    } else if (k == "--epochs") {
      a.epochs = std::stoi(value());
    } else if (k == "--data") {
      a.data = value();
    } else if (k == "--limit-steps") {
      a.limit_steps = std::stoll(value());
    } else {
      throw Error("cnn_fashion_mnist: unknown argument " + k +
                  " (usage: --device cpu|cuda --epochs N --data DIR --limit-steps N)");
    }
  }
  return a;
}

Tensor forward(const Params& p, const Tensor& x) {
  const ConvOptions same{.padding = Padding::same()};
  const layers::PoolOptions pool2{.kernel_size = {2}};
  Tensor h = relu(layers::conv(x, p.at("conv_0").at("kernel"), p.at("conv_0").at("bias"), same));
  h = layers::max_pool(h, pool2);
  h = relu(layers::conv(h, p.at("conv_1").at("kernel"), p.at("conv_1").at("bias"), same));
  h = layers::max_pool(h, pool2);
  h = h.reshape({h.size(0), -1});
  h = relu(layers::dense(h, p.at("dense_0").at("kernel"), p.at("dense_0").at("bias")));
  return layers::dense(h, p.at("dense_1").at("kernel"), p.at("dense_1").at("bias"));
}

Tensor loss_fn(const Params& p, const Tensor& x, const Tensor& y) {
  return losses::categorical_cross_entropy(
      y, forward(p, x), {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
}

// In batches, so that the convolutions' column buffers stay small.
double accuracy(const Params& p, const Tensor& x, const Tensor& y) {
  NoGrad ng;
  const int64_t n = x.size(0), step = 1000;
  Tensor correct = zeros({}, DType::f32, x.device());
  for (int64_t i = 0; i < n; i += step) {
    const int64_t e = std::min(n, i + step);
    Tensor pred = argmax(forward(p, x.slice(0, i, e)), 1);
    correct = add(correct, sum(cast(eq(pred, y.slice(0, i, e)), DType::f32)));
  }
  return correct.item<float>() / double(n);
}

Params init_params(Device dev) {
  Generator gen(42);
  auto glorot = [&](const Shape& s) {
    return initializers::glorot_uniform(s, {.device = dev, .generator = &gen});
  };
  Params p;
  p["conv_0"]["kernel"] = glorot({3, 3, 1, 32});  // HWIO
  p["conv_0"]["bias"] = zeros({32}, DType::f32, dev);
  p["conv_1"]["kernel"] = glorot({3, 3, 32, 64});
  p["conv_1"]["bias"] = zeros({64}, DType::f32, dev);
  p["dense_0"]["kernel"] = glorot({7 * 7 * 64, 128});
  p["dense_0"]["bias"] = zeros({128}, DType::f32, dev);
  p["dense_1"]["kernel"] = glorot({128, 10});
  p["dense_1"]["bias"] = zeros({10}, DType::f32, dev);
  return p;
}

int run(const Args& a) {
  auto t0 = std::chrono::steady_clock::now();
  const data::ImageSet d = data::load_fashion_mnist(data::find_fashion_mnist(a.data), {.device = a.device});
  const Tensor &train_x = d.train_images, &train_y = d.train_labels, &test_x = d.test_images, &test_y = d.test_labels;
  const int64_t n = train_x.size(0);
  std::printf("Fashion-MNIST: %lld train, %lld test images on %s (loaded in %.2f s)\n", (long long)n,
              (long long)test_x.size(0), a.device.str().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  Params params = init_params(a.device);
  auto optimizer = optim::adam(1e-3);
  optim::State state = optimizer.init(params);

  std::mt19937_64 rng(7);
  std::vector<int64_t> order(static_cast<size_t>(n));
  double acc = 0;
  for (int epoch = 1; epoch <= a.epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), int64_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    Tensor perm = from_vector(order, {n}).to(a.device);  // batches are gathered on the device
    Tensor loss_sum = zeros({}, DType::f32, a.device);  // summed on the device: no sync per batch
    int64_t steps = 0;
    for (int64_t i = 0; i < n; i += a.batch) {
      if (a.limit_steps > 0 && steps >= a.limit_steps) break;
      Tensor idx = perm.slice(0, i, std::min(n, i + a.batch));
      Tensor x = take(train_x, idx), y = take(train_y, idx);
      auto [loss, grads] = value_and_grad([&](const Params& p) { return loss_fn(p, x, y); }, params);
      auto [updates, new_state] = optimizer.update(grads, state, params);
      params = optim::apply_updates(params, updates);
      state = std::move(new_state);
      loss_sum = add(loss_sum, loss);
      ++steps;
    }
    const double mean_loss = loss_sum.item<float>() / double(steps);  // item() waits for the device
    const double train_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double ms_step = 1e3 * train_secs / double(steps);
    if (a.limit_steps > 0) {  // profiling: no evaluation
      std::printf("Epoch %d: %lld steps, loss %.4f, training %.2f s, %.2f ms/step\n", epoch, (long long)steps,
                  mean_loss, train_secs, ms_step);
    } else {
      acc = accuracy(params, test_x, test_y);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("Epoch %d: %lld steps, loss %.4f, test accuracy %.4f, %.2f s (training %.2f s, %.2f ms/step)\n",
                  epoch, (long long)steps, mean_loss, acc, secs, train_secs, ms_step);
    }
    std::fflush(stdout);
  }
  if (a.limit_steps == 0 && acc < 0.85) {
    std::fprintf(stderr, "final test accuracy %.4f is below 0.85\n", acc);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
