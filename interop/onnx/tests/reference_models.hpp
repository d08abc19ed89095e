#pragma once
// The models the ONNX export is proven on (issue 14): an MLP, the W2 CNN of bench/train_workloads.cpp,
// torchvision's ResNet-18 built with the model API, an LSTM / GRU stack, a transformer encoder block,
// and one model with the remaining mapped layers. Shared by test_onnx_export and axon-onnx-check.
#include <axon/model.hpp>
#include <map>
#include <string>
#include <vector>

namespace axon::onnx::reference {

struct Case {
  std::string name;
  Model model;
  Shape input;       // a concrete input shape (batch 4)
  bool ids = false;  // integer inputs in [0, 50)
};

inline Model mlp() {
  return input("features", {-1, 64}) | dense(128, {.activation = "relu"}) | dropout({.rate = 0.5}) |
         dense(64, {.activation = "gelu"}) | dense(32, {.activation = "tanh"}) | dense(10) | softmax();
}

// W2 of docs/workloads.md.
inline Model w2_cnn() {
  return input("images", {-1, 28, 28, 1}) |
         conv(32, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) |
         conv(64, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "relu"}) |
         max_pool({.kernel_size = {2}}) | flatten() | dense(128, {.activation = "relu"}) | dense(10);
}

// torchvision.models.resnet18(num_classes) with its module names as layer names ("." -> "_"); `names`
// gets layer -> PyTorch module for from_torch_state_dict.
class ResNet18 {
 public:
  explicit ResNet18(int64_t classes = 10, int64_t size = 64) {
    Model x = input("images", {-1, size, size, 3});
    x = relu(conv_bn(x, 64, 7, 2, "conv1", "bn1"));
    x = max_pool(x, {.kernel_size = {3}, .strides = {2}, .padding = Padding{{1, 1}, {1, 1}}});
    int64_t width = 64;
    for (int stage = 1; stage <= 4; ++stage) {
      const int64_t units = 64 << (stage - 1);
      for (int block = 0; block < 2; ++block) {
        const std::string p = "layer" + std::to_string(stage) + "." + std::to_string(block) + ".";
        const int64_t stride = stage > 1 && block == 0 ? 2 : 1;
        Model h = relu(conv_bn(x, units, 3, stride, p + "conv1", p + "bn1"));
        h = conv_bn(h, units, 3, 1, p + "conv2", p + "bn2");
        const bool project = stride != 1 || width != units;
        x = relu(add(h, project ? conv_bn(x, units, 1, stride, p + "downsample.0", p + "downsample.1") : x));
        width = units;
      }
    }
    model = dense(global_avg_pool(x), classes, {.name = "fc"});
    names["fc"] = "fc";
  }
  Model model;
  std::map<std::string, std::string> names;

 private:
  Model conv_bn(const Model& x, int64_t units, int64_t k, int64_t stride, const std::string& conv_name,
                const std::string& bn_name) {
    const int64_t p = k / 2;
    std::vector<std::pair<int64_t, int64_t>> pads(2, {p, p});
    const std::string c = underscored(conv_name), b = underscored(bn_name);
    names[c] = conv_name;
    names[b] = bn_name;
    Model y = conv(x, units,
                   {.kernel_size = {k}, .strides = {stride}, .padding = Padding(pads), .use_bias = false, .name = c});
    return batch_norm(y, {.name = b});
  }
  static std::string underscored(std::string s) {
    for (char& ch : s)
      if (ch == '.') ch = '_';
    return s;
  }
};

inline Model recurrent() {
  return input("sequence", {-1, 12, 16}) | lstm(32, {.bidirectional = true}) | gru(24, {.return_sequences = false}) |
         dense(5);
}

// Post-norm transformer encoder block (PyTorch's TransformerEncoderLayer, relu feed-forward).
inline Model transformer_block() {
  Model x = input("tokens", {-1, 10, 32});
  Model a = layer_norm(add(x, multi_head_attention(x, {.num_heads = 4})));
  Model f = dense(dense(a, 64, {.activation = "relu"}), 32);
  return layer_norm(add(a, f));
}

// Every other mapped layer, in small models.
inline Model other_image_layers() {
  Model x = input("pixels", {-1, 12, 12, 4});
  Model a = conv_transpose(x, 8, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same});
  Model b = conv_transpose(x, 8, {.kernel_size = {2}, .strides = {2}});
  Model c = depthwise_conv(x, 2, {.kernel_size = {3}, .padding = PaddingMode::same, .activation = "silu"});
  c = separable_conv2d(c, 1, {.kernel_size = {3}, .padding = PaddingMode::same});
  c = group_norm(c, 2);
  c = resize(c, {24, 24}, {.method = layers::ResizeMethod::bilinear});
  Model d = resize(blur_pool(instance_norm(x)), {24, 24});
  d = concatenate(d, d);
  Model e = concatenate({add(a, b), multiply(c, d), subtract(a, d)}, {.axis = -1});
  e = avg_pool(e, {.kernel_size = {2}, .padding = PaddingMode::same}) | leaky_relu() | batch_norm();
  e = pad(e, {{1, 0}, {0, 1}}) | elu() | lp_pool({.kernel_size = {2}}) | selu();
  Model f = adaptive_avg_pool(e, {.output_size = {3}}) | global_max_pool({.keep_axes = true}) | flatten();
  Model g = global_lp_pool(e) | hard_sigmoid() | dense(8) | mish() | softplus() | softsign() | hard_silu() | relu6() |
            hard_tanh() | celu() | log_sigmoid();
  return concatenate(f, g) | dense(6) | log_softmax();
}

inline Model other_sequence_layers() {
  Model ids = input("ids", {-1, 9});
  Model x = embedding(ids, 50, 16);
  // Ids 0 are padding: a query whose keys are all padded gets a zero row.
  Model y =
      multi_head_attention(x, {.num_heads = 2, .causal = true, .mask = mask(ids, 0)}) | rms_norm() | exp() | sigmoid();
  Model z = transpose(reshape(x, {3, 48}), {0, 2, 1}) | reshape({9, 16});
  std::vector<Model> parts = split(add(y, z), 2, {.axis = -1});
  Model joined = concatenate(parts[1], parts[0]);
  return bilinear(joined, z, 3) | log_sumexp();
}

// 1-d convolution, cross-attention, a bidirectional GRU's sequences.
inline Model other_signal_layers() {
  Model x = input("signal", {-1, 16, 3});
  Model q = conv(x, 6, {.kernel_size = {3}, .strides = {2}, .padding = PaddingMode::same}) | dense(8);
  Model context = dense(x, 8);
  Model a = multi_head_attention(q, context, {.num_heads = 2});
  return gru(a, 4, {.bidirectional = true}) | flatten() | dense(3);
}

// Channels-first layers (their tensors are NCHW in axon too), bicubic / nearest resizing, adaptive max.
inline Model other_channels_first_layers() {
  Model x = input("image", {-1, 10, 10, 3}) | transpose({0, 3, 1, 2});
  Model y = conv(x, 4, {.kernel_size = {3}, .padding = PaddingMode::same, .channels = Channels::first}) |
            max_pool({.kernel_size = {2}, .channels = Channels::first}) | transpose({0, 2, 3, 1});
  y = resize(y, {8, 8}, {.method = layers::ResizeMethod::bicubic}) | resize({3, 3});
  return adaptive_max_pool(y, {.output_size = {2}}) | flatten();
}

inline std::vector<Case> cases() {
  return {
      {"mlp", mlp(), {4, 64}},
      {"w2_cnn", w2_cnn(), {4, 28, 28, 1}},
      {"resnet18", ResNet18().model, {4, 64, 64, 3}},
      {"lstm", recurrent(), {4, 12, 16}},
      {"transformer", transformer_block(), {4, 10, 32}},
      {"image_layers", other_image_layers(), {4, 12, 12, 4}},
      {"sequence_layers", other_sequence_layers(), {4, 9}, true},
      {"signal_layers", other_signal_layers(), {4, 16, 3}},
      {"channels_first", other_channels_first_layers(), {4, 10, 10, 3}},
      // a channels-first value as the graph's output: transposed back to axon's NHWC
      {"conv_output", input("frames", {-1, 7, 9, 2}) | conv(3, {.kernel_size = {3}, .strides = {2}}), {4, 7, 9, 2}}};
}

}  // namespace axon::onnx::reference
