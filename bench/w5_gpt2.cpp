// W5 of docs/workloads.md: one training step of GPT-2 124M (vocab 50304, d 768, 12 layers, 12 heads,
// T 1024, batch 8, causal attention, AdamW) on one fixed random batch, as the PyTorch peer
// (torch_workloads.py w_gpt) times it: forward, cross-entropy, backward and the optimizer, tokens/s.
// Built with the model API: embedding, a custom position-embedding layer, pre-norm blocks of
// layer_norm / multi_head_attention(causal) / dense-gelu(tanh)-dense with residual adds, a final
// layer_norm; the LM head is tied to the token embedding, so it is a matmul with that kernel in the
// loss. bf16 runs the model under a mixed-precision policy (f32 master parameters, bf16 compute,
// norms, embeddings and the residual stream kept in f32), the peer's autocast; the head's matmul is
// bf16 and its logits are raised to f32 for the loss, as the peer's `.float()`.
#include <algorithm>
#include <cmath>

#include "model_step.hpp"

namespace axon::bench {

namespace {

struct Gpt2 {
  int64_t vocab = 50304, d = 768, layers = 12, heads = 12, T = 1024, batch = 8;
  std::string shape() const {
    return fmt::format("d{} L{} H{} T{} B{} V{}", d, layers, heads, T, batch, vocab);
  }
  bool full() const { return d == 768 && layers == 12 && heads == 12 && T == 1024 && batch == 8 && vocab == 50304; }
};

// --size N is the width: GPT-2's proportions (head size 64, layers = heads, T = 4d/3) scaled to it.
Gpt2 config(const Options& opt) {
  Gpt2 c;
  const int64_t d = opt.size > 0 ? opt.size : (opt.device.is_cuda() ? 768 : 256);
  AXON_CHECK(d % 64 == 0, "axon-bench w5", "--size {} (the width d) must be a multiple of 64", d);
  c.d = d;
  c.layers = c.heads = d / 64;
  c.T = std::clamp<int64_t>(d * 4 / 3 / 64 * 64, 64, 1024);
  return c;
}

// GPT-2's N(0, 0.02) for the embeddings (the dense kernels keep glorot_uniform).
Initializer normal_002() {
  return Initializer(
      [](const Shape& s, DType dt, Device dev, Generator& g) { return normal(s, 0.0, 0.02, g, dt, dev); },
      "normal(0, 0.02)");
}

Model gpt2(const Gpt2& c) {
  Model tokens = input("tokens", {-1, c.T});
  Model x = embedding(tokens, c.vocab, c.d, {.kernel_initializer = normal_002(), .name = "wte"});
  x = layer(
      x, [](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) { return add(in[0], p.at("kernel")); },
      {.params = {{.name = "kernel", .shape = {c.T, c.d}, .initializer = normal_002()}},
       .output_shape = [](const std::vector<Shape>& s) { return s[0]; },
       .op_name = "position_embedding",
       .name = "wpe"});
  auto gelu_tanh = [](const Tensor& t) { return gelu(t, /*tanh_approximation=*/true); };
  for (int64_t l = 0; l < c.layers; ++l) {
    Model a = layer_norm(x) | multi_head_attention({.num_heads = c.heads, .causal = true});
    x = add(x, a);
    Model m = layer_norm(x) | dense(4 * c.d) | nx(gelu_tanh) | dense(c.d);
    x = add(x, m);
  }
  return layer_norm(x, {.name = "ln_f"});
}

}  // namespace

void run_w5(const Options& opt, Reporter& out) {
  const Device dev = opt.device;
  const bool gpu = dev.is_cuda();
  const std::string dtype = !opt.dtype.empty() ? opt.dtype : (gpu ? "bf16" : "f32");
  Gpt2 c;
  try {
    c = config(opt);
    Model model = gpt2(c);
    // As autocast: the embeddings and the residual adds stay f32 (f32 + bf16 promotes to f32).
    if (dtype == "bf16")
      model = apply_policy(model, create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::bf16}),
                           {.except = {"embedding", "position_embedding", "add"}});
    ModelStep s(model, init(model, {.device = dev, .seed = 0}), optim::adamw(3e-4, {.decay = 0.01}));

    Generator gen(5);
    // The peer draws ids below GPT-2's 50257 tokens from the padded 50304-row table.
    const int64_t ids = std::min<int64_t>(c.vocab, 50257);
    const Tensor tokens = randint(0, ids, {c.batch, c.T}, gen, DType::i64, dev);
    const Tensor targets = randint(0, ids, {c.batch * c.T}, gen, DType::i64, dev);
    const DType head = dtype == "bf16" ? DType::bf16 : DType::f32;
    auto step = [&] {
      s.step([&](const Params& p, Params&) {
        Tensor h = apply(model, p, tokens, {.mode = Mode::train}).output.reshape({c.batch * c.T, c.d});
        Tensor wte = cast(p.at("wte").at("kernel"), head);
        Tensor logits = cast(matmul(cast(h, head), wte.transpose(0, 1)), DType::f32);
        return losses::categorical_cross_entropy(
            targets, logits, {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
      });
    };

    Figure f;
    f.workload = "w5";
    f.op = "train step";
    f.dtype = dtype;
    f.shape = c.shape();
    f.n = c.batch * c.T;
    f.t = time_repeats(dev, opt.warmup_or(gpu ? 3 : 1), opt.repeats_or(gpu ? 10 : 3), step);
    f.value = static_cast<double>(f.n) / f.t.median_ms * 1e3;
    f.unit = "tok/s";
    if (gpu && c.full()) f.peer = 255e3;  // PyTorch eager, H100 (compiled: 306k); none for a CPU

    const std::vector<double> l = s.loss_values();
    auto [down, text] = loss_decreases(l);
    // Small embeddings make the first logits nearly uniform: the first loss is close to ln(vocab).
    const double uniform = std::log(static_cast<double>(c.vocab));
    const bool near_uniform = !l.empty() && std::abs(l.front() - uniform) < 1.0;
    f.ok = down && near_uniform;
    f.check = fmt::format("{}; first loss vs ln(vocab) {:.4f}{}; PyTorch H100 255k tok/s eager, 306k compiled, "
                          "target >= 350k at full size{}",
                          text, uniform, near_uniform ? "" : " (too far)", c.full() ? "" : " (reduced size)");
    out.figure(f);
  } catch (const std::exception& e) {
    out.error("w5", fmt::format("train step {} {}", dtype, c.shape()), e.what());
  }
}

}  // namespace axon::bench
