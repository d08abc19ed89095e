// Trains the seed's MLP (784 -> 128 relu -> 10) on Fashion-MNIST with the functional and
// optimization APIs only: parameters as a named map, value_and_grad, optim::adamw. No model API.
//
//   example_mlp_fashion_mnist [--device cpu|cuda] [--epochs N] [--data DIR]
//
// Prints per-epoch loss, test accuracy and time; exits non-zero below 84% final test accuracy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include <axon/axon.hpp>
#include <axon/data/fashion_mnist.hpp>
#include <axon/optim.hpp>

using namespace axon;

namespace {

struct Args {
  Device device = default_device();  // --device overrides
  int epochs = 2;
  std::string data;  // default: data/fashion-mnist, then /usr/share/datasets/fashion-mnist
  int64_t batch = 128;
  double lr = 2e-3;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("mlp_fashion_mnist: " + k + " needs a value");
      return argv[++i];
    };
    if (k == "--device") {
      std::string d = value();
      if (d == "cpu") a.device = Device::cpu();
      else if (d == "cuda") a.device = Device::cuda(0);
      else throw Error("mlp_fashion_mnist: --device must be cpu or cuda, got " + d);
    } else if (k == "--epochs") {
      a.epochs = std::stoi(value());
    } else if (k == "--data") {
      a.data = value();
    } else if (k == "--lr") {
      a.lr = std::stod(value());
    } else {
      throw Error("mlp_fashion_mnist: unknown argument " + k +
                  " (usage: --device cpu|cuda --epochs N --data DIR --lr X)");
    }
  }
  return a;
}

// Glorot (Xavier) uniform: U(−l, l), l = √(6/(fan_in + fan_out)).
Tensor glorot_uniform(int64_t fan_in, int64_t fan_out, Generator& gen, Device dev) {
  double l = std::sqrt(6.0 / double(fan_in + fan_out));
  return uniform({fan_in, fan_out}, -l, l, gen, DType::f32, dev);
}

Tensor forward(const Params& p, const Tensor& x) {
  Tensor h = relu(add(matmul(x, p.at("dense_0").at("kernel")), p.at("dense_0").at("bias")));
  return add(matmul(h, p.at("dense_1").at("kernel")), p.at("dense_1").at("bias"));
}

// Mean categorical cross-entropy of logits against integer labels.
Tensor loss_fn(const Params& p, const Tensor& x, const Tensor& y) {
  Tensor logp = log_softmax(forward(p, x), 1);
  return neg(mean(sum(mul(one_hot(y, 10, DType::f32).to(logp.device()), logp), {1})));
}

double accuracy(const Params& p, const Tensor& x, const Tensor& y) {
  NoGrad ng;
  Tensor pred = argmax(forward(p, x), 1);
  return mean(cast(eq(pred, y), DType::f32)).item<float>();
}

int run(const Args& a) {
  auto t0 = std::chrono::steady_clock::now();
  const data::ImageSet d = data::load_fashion_mnist(data::find_fashion_mnist(a.data), {.device = a.device, .flatten = true});
  const Tensor &train_x = d.train_images, &train_y = d.train_labels, &test_x = d.test_images, &test_y = d.test_labels;
  const int64_t n = train_x.size(0);
  std::printf("Fashion-MNIST: %lld train, %lld test images on %s (loaded in %.2f s)\n", (long long)n,
              (long long)test_x.size(0), a.device.str().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  Generator gen(42);
  Params params;
  params["dense_0"]["kernel"] = glorot_uniform(784, 128, gen, a.device);
  params["dense_0"]["bias"] = zeros({128}, DType::f32, a.device);
  params["dense_1"]["kernel"] = glorot_uniform(128, 10, gen, a.device);
  params["dense_1"]["bias"] = zeros({10}, DType::f32, a.device);

  auto optimizer = optim::adamw(a.lr, {.decay = 1e-4});
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
    int64_t batches = 0;
    for (int64_t i = 0; i < n; i += a.batch) {
      Tensor idx = perm.slice(0, i, std::min(n, i + a.batch));
      Tensor x = take(train_x, idx), y = take(train_y, idx);
      auto [loss, grads] = value_and_grad([&](const Params& p) { return loss_fn(p, x, y); }, params);
      auto [updates, new_state] = optimizer.update(grads, state, params);
      params = optim::apply_updates(params, updates);
      state = std::move(new_state);
      loss_sum = add(loss_sum, loss);
      ++batches;
    }
    double mean_loss = loss_sum.item<float>() / double(batches);
    acc = accuracy(params, test_x, test_y);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("Epoch %d: loss %.4f, test accuracy %.4f, %.2f s\n", epoch, mean_loss, acc, secs);
    std::fflush(stdout);
  }
  if (acc < 0.84) {
    std::fprintf(stderr, "final test accuracy %.4f is below 0.84\n", acc);
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
