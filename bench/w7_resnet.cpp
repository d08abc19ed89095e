// W7 of docs/workloads.md: one training step of ResNet-18 on 3x32x32 images (NHWC), batch 256, SGD lr 0.1
// momentum 0.9, on one fixed random batch, as the PyTorch peer (torch_workloads.py w_resnet) times
// it: images/s. The network is torchvision's resnet18(num_classes=10) -- the ImageNet stem (7x7
// stride-2 conv, 3x3 stride-2 max pool) kept on 32x32 inputs, so the stages run at 8, 4, 2 and 1
// pixels -- built with the model API: conv (no bias, torch's symmetric padding), batch_norm, relu,
// add for the residuals, 1x1 stride-2 projections where the width changes, global_avg_pool, dense.
// bf16 runs it under a mixed-precision policy (batch norm kept in f32), the peer's autocast.
#include <cmath>

#include "model_step.hpp"

namespace axon::bench {

namespace {

Padding symmetric(int64_t p) { return Padding{{p, p}, {p, p}}; }

Model conv_bn(const Model& x, int64_t units, int64_t k, int64_t stride) {
  return batch_norm(conv(x, units,
                         {.kernel_size = {k}, .strides = {stride}, .padding = symmetric(k / 2), .use_bias = false,
                          .kernel_initializer = "he_normal"}));
}

// torchvision's BasicBlock: relu(bn(conv(relu(bn(conv(x))))) + shortcut).
Model basic_block(const Model& x, int64_t units, int64_t stride) {
  Model h = conv_bn(relu(conv_bn(x, units, 3, stride)), units, 3, 1);
  const bool project = stride != 1 || x.output_shape().back() != units;
  return relu(add(h, project ? conv_bn(x, units, 1, stride) : x));
}

Model resnet18() {
  Model x = relu(conv_bn(input("images", {-1, 32, 32, 3}), 64, 7, 2));
  x = max_pool(x, {.kernel_size = {3}, .strides = {2}, .padding = symmetric(1)});
  for (auto [units, stride] : {std::pair<int64_t, int64_t>{64, 1}, {128, 2}, {256, 2}, {512, 2}})
    x = basic_block(basic_block(x, units, stride), units, 1);
  return global_avg_pool(x) | dense(10);
}

}  // namespace

void run_w7(const Options& opt, Reporter& out) {
  const Device dev = opt.device;
  const bool gpu = dev.is_cuda();
  const std::string dtype = !opt.dtype.empty() ? opt.dtype : (gpu ? "bf16" : "f32");
  const int64_t batch = opt.size > 0 ? opt.size : 256;  // about 1.3 s a step on a 2-core CPU
  const std::string shape = fmt::format("B{} 32x32x3", batch);
  try {
    Model model = resnet18();
    if (dtype == "bf16")
      model = apply_policy(model, create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::bf16}));
    ModelStep s(model, init(model, {.device = dev, .seed = 0}), optim::sgd(0.1, {.momentum = 0.9}));

    Generator gen(7);
    const Tensor images = randn({batch, 32, 32, 3}, gen, DType::f32, dev);
    const Tensor labels = randint(0, 10, {batch}, gen, DType::i64, dev);
    auto step = [&] {
      s.step([&](const Params& p, Params& new_state) {
        ForwardResult r = apply(model, p, images, {.mode = Mode::train});
        new_state = std::move(r.state);
        return losses::categorical_cross_entropy(labels, cast(r.output, DType::f32),
                                                 {.from_logits = true, .sparse = true,
                                                  .reduction = losses::Reduction::mean});
      });
    };

    Figure f;
    f.workload = "w7";
    f.op = "train step";
    f.dtype = dtype;
    f.shape = shape;
    f.n = batch;
    f.t = time_repeats(dev, opt.warmup_or(gpu ? 5 : 1), opt.repeats_or(gpu ? 20 : 4), step);
    f.value = static_cast<double>(batch) / f.t.median_ms * 1e3;
    f.unit = "img/s";
    const bool full = batch == 256;
    if (gpu && full) f.peer = 30.6e3;  // PyTorch eager, H100; none for a CPU

    auto [ok, text] = loss_decreases(s.loss_values());
    f.ok = ok;
    f.check = fmt::format("{}; PyTorch H100 30.6k img/s, target >= 36k at batch 256{}", text,
                          full ? "" : " (reduced size)");
    out.figure(f);
  } catch (const std::exception& e) {
    out.error("w7", fmt::format("train step {} {}", dtype, shape), e.what());
  }
}

}  // namespace axon::bench
