// lstm, gru, conv_lstm and mask: Axon's recurrent builders over the functional recurrent layers.
#include "spec.hpp"

#include <algorithm>

#include <axon/activations.hpp>
#include <axon/initializers.hpp>
#include <axon/layers/recurrent.hpp>
#include <axon/ops.hpp>

namespace axon {

using detail::NodeBuild;

namespace {

struct Gates {
  const char* op;
  std::vector<std::string> wi, wh, b;
  size_t carry;  // tensors in the carry: {c, h} or {h}
};
const Gates kLstm{"lstm", {"wii", "wif", "wig", "wio"}, {"whi", "whf", "whg", "who"}, {"bi", "bf", "bg", "bo"}, 2};
const Gates kGru{"gru", {"wir", "wiz", "win"}, {"whr", "whz", "whn"}, {"br", "bz", "bin", "bhn"}, 1};

// ---- Axon's random initial state (InitialState::random)

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

Tensor draw(const std::string& who, const Initializer& init, const Shape& s, DType dt, Device dev, Generator& gen) {
  namespace I = initializers;
  if (init.fn) return init.fn(s, dt, dev, gen);
  const std::string& n = init.name;
  if (n == "zeros") return I::zeros(s, {.dtype = dt, .device = dev});
  if (n == "ones") return I::ones(s, {.dtype = dt, .device = dev});
  if (n == "identity") return I::identity(s, {.dtype = dt, .device = dev});
  if (n == "uniform") return I::uniform(s, {.dtype = dt, .device = dev, .generator = &gen});
  if (n == "normal") return I::normal(s, {.dtype = dt, .device = dev, .generator = &gen});
  const I::ScaleOptions so{.dtype = dt, .device = dev, .generator = &gen};
  if (n == "lecun_uniform") return I::lecun_uniform(s, so);
  if (n == "lecun_normal") return I::lecun_normal(s, so);
  if (n == "glorot_uniform") return I::glorot_uniform(s, so);
  if (n == "glorot_normal") return I::glorot_normal(s, so);
  const I::HeOptions ho{.dtype = dt, .device = dev, .generator = &gen};
  if (n == "he_uniform") return I::he_uniform(s, ho);
  if (n == "he_normal") return I::he_normal(s, ho);
  if (n == "variance_scaling") return I::variance_scaling(s, {.dtype = dt, .device = dev, .generator = &gen});
  if (n == "orthogonal") return I::orthogonal(s, {.dtype = dt, .device = dev, .generator = &gen});
  AXON_FAIL(who, "unknown recurrent_initializer \"{}\"", n);
}

// The same draw on every call (Axon keeps the key as fixed state): a stream per seed, layer and tensor.
layers::Carry random_state(const std::string& who, const Initializer& init, uint64_t seed, const std::string& layer,
                           const std::string& prefix, size_t n, const Shape& shape, const Tensor& like) {
  static const char* names[] = {"c", "h"};
  layers::Carry carry;
  for (size_t i = 0; i < n; ++i) {
    const char* name = n == 2 ? names[i] : "h";
    Generator gen(mix(seed ^ mix(fnv1a(layer + "." + prefix + name))));
    Tensor t = draw(who, init, shape, like.dtype(), like.device(), gen);
    AXON_CHECK(t.defined() && t.shape() == shape, who, "recurrent_initializer \"{}\" gave {} for shape {}", init.name,
               t.defined() ? describe(t) : std::string("an undefined tensor"), to_string(shape));
    carry.push_back(t);
  }
  return carry;
}

// ---- shape rules shared by the recurrent builders

bool compatible(int64_t a, int64_t b) { return a == -1 || b == -1 || a == b; }

void check_activation(const NodeBuild& b, const char* what, const std::string& name) {
  const auto& valid = activations::names();
  AXON_CHECK(std::find(valid.begin(), valid.end(), name) != valid.end(), b.who,
             "unknown {} \"{}\"; valid names: {}", what, name, fmt::join(valid, ", "));
}

// The mask input (b.in[1]) against the sequence [batch, time, ...].
void check_mask(const NodeBuild& b, const Shape& m) {
  const Shape& s = b.in[0];
  const bool ok = (m.size() == 2 || (m.size() == 3 && compatible(m[2], 1))) && compatible(m[0], s[0]) &&
                  compatible(m[1], s[1]);
  AXON_CHECK(ok, b.who, "mask shape {} must be [batch, time] (or [batch, time, 1]) for input shape {}", to_string(m),
             to_string(s));
}

void check_hidden_state(const NodeBuild& b, size_t first, size_t n, const Shape& state) {
  for (size_t i = 0; i < n; ++i) {
    const Shape& h = b.in[first + i];
    bool ok = h.size() == state.size();
    for (size_t d = 0; ok && d < h.size(); ++d) ok = compatible(h[d], state[d]);
    AXON_CHECK(ok, b.who, "hidden_state {} has shape {} but the state is {}", i, to_string(h), to_string(state));
  }
}

// ---- lstm / gru

struct RnnSettings {
  const Gates* gates;
  int64_t units;
  layers::RecurrentOptions run;
  bool has_mask, random, return_sequences, bidirectional;
  size_t hidden_inputs;
  Initializer recurrent_initializer;
  uint64_t seed;
  std::string who;
};

layers::GateParams gate_map(const ParamMap& p, const std::string& prefix, const std::vector<std::string>& keys) {
  layers::GateParams m;
  for (const auto& k : keys) m[k] = p.at(prefix + k);
  return m;
}

layers::UnrollOutput run_direction(const RnnSettings& s, const Tensor& x, const layers::Carry& carry,
                                   const Tensor& mask, const ParamMap& p, const std::string& prefix, bool reverse) {
  const Gates& g = *s.gates;
  auto ik = gate_map(p, prefix + "input_kernel.", g.wi);
  auto hk = gate_map(p, prefix + "hidden_kernel.", g.wh);
  layers::GateParams bias;
  if (p.count(prefix + "bias." + g.b[0])) bias = gate_map(p, prefix + "bias.", g.b);
  layers::RecurrentOptions ro = s.run;
  ro.reverse = reverse;
  return g.carry == 2 ? layers::lstm(x, carry, mask, ik, hk, bias, ro) : layers::gru(x, carry, mask, ik, hk, bias, ro);
}

Tensor rnn_forward(const RnnSettings& s, const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
  const Tensor& x = in[0];
  size_t k = 1;
  Tensor mask = s.has_mask ? in[k++] : Tensor();
  layers::Carry carry(in.begin() + static_cast<std::ptrdiff_t>(k),
                      in.begin() + static_cast<std::ptrdiff_t>(k + s.hidden_inputs));
  const size_t n = s.gates->carry;
  const Shape state{x.dim() > 0 ? x.size(0) : 0, s.units};
  auto initial = [&](const std::string& prefix) {
    return s.random ? random_state(s.who, s.recurrent_initializer, s.seed, ctx.layer, prefix, n, state, x)
                    : layers::Carry{};
  };
  if (carry.empty()) carry = initial("");
  auto fwd = run_direction(s, x, carry, mask, p, "", false);
  Tensor out = s.return_sequences ? fwd.output : fwd.carry.back();
  if (!s.bidirectional) return out;
  auto bwd = run_direction(s, x, initial("backward."), mask, p, "backward.", true);
  return concat({out, s.return_sequences ? bwd.output : bwd.carry.back()}, -1);
}

Model recurrent(const Gates& g, const Model& x, int64_t units, const RecurrentLayerOptions& o) {
  std::vector<Model> inputs{x};
  if (o.mask.defined()) inputs.push_back(o.mask);
  AXON_CHECK(o.hidden_state.empty() || o.hidden_state.size() == g.carry, g.op, "hidden_state must hold {} models ({}), got {}",
             g.carry, g.carry == 2 ? "{c, h}" : "{h}", o.hidden_state.size());
  inputs.insert(inputs.end(), o.hidden_state.begin(), o.hidden_state.end());
  return detail::make_node(g.op, inputs, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() == 3, b.who, "input shape {} must be [batch, time, features]", to_string(s));
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    const int64_t in = detail::known_dim(b, s, 2, "feature dim");
    if (!o.activation.fn) check_activation(b, "activation", o.activation.name);
    if (!o.gate.fn) check_activation(b, "gate", o.gate.name);
    if (o.mask.defined()) check_mask(b, b.in[1]);
    check_hidden_state(b, o.mask.defined() ? 2 : 1, o.hidden_state.size(), {s[0], units});
    AXON_CHECK(!(o.bidirectional && !o.hidden_state.empty()), b.who,
               "hidden_state is not supported with bidirectional (each direction starts from its own state)");
    const int64_t dirs = o.bidirectional ? 2 : 1;
    b.node.shape = o.return_sequences ? Shape{s[0], s[1], units * dirs} : Shape{s[0], units * dirs};

    const bool same_init = o.hidden_kernel_initializer.name.empty() && !o.hidden_kernel_initializer.fn;
    const Initializer& hidden_init = same_init ? o.kernel_initializer : o.hidden_kernel_initializer;
    for (const char* pre : {"", "backward."}) {
      const std::string prefix = pre;
      if (!prefix.empty() && !o.bidirectional) break;
      for (const auto& k : g.wi)
        b.node.params.push_back(
            {.name = prefix + "input_kernel." + k, .shape = {in, units}, .initializer = o.kernel_initializer});
      for (const auto& k : g.wh)
        b.node.params.push_back({.name = prefix + "hidden_kernel." + k, .shape = {units, units}, .initializer = hidden_init});
      if (o.use_bias)
        for (const auto& k : g.b)
          b.node.params.push_back({.name = prefix + "bias." + k, .shape = {units}, .initializer = o.bias_initializer});
    }
    b.node.options = {{"activation", o.activation.label()}, {"gate", o.gate.label()}, {"unroll", detail::enum_name(o.unroll)}};
    if (!o.return_sequences) b.node.options.push_back({"return_sequences", "false"});
    if (o.bidirectional) b.node.options.push_back({"bidirectional", "true"});
    if (o.initial_state == InitialState::random) b.node.options.push_back({"initial_state", ":random"});

    RnnSettings st{&g,
                   units,
                   {o.gate, o.activation, o.unroll, false},
                   o.mask.defined(),
                   o.initial_state == InitialState::random && o.hidden_state.empty(),
                   o.return_sequences,
                   o.bidirectional,
                   o.hidden_state.size(),
                   o.recurrent_initializer,
                   o.seed,
                   b.who};
    b.node.forward = [st](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
      return rnn_forward(st, in, p, ctx);
    };
  });
}

// ---- conv_lstm

// Output size of one spatial dim of the input convolution (dilation 1); -1 stays -1.
int64_t conv_out(int64_t in, int64_t k, int64_t s, const Padding& p, size_t d) {
  if (in < 0) return -1;
  if (p.mode == PaddingMode::same) return (in + s - 1) / s;
  const int64_t lo = p.mode == PaddingMode::explicit_pads ? p.pads[d].first : 0;
  const int64_t hi = p.mode == PaddingMode::explicit_pads ? p.pads[d].second : 0;
  return (in + lo + hi - k) / s + 1;
}

}  // namespace

Model lstm(const Model& x, int64_t units, RecurrentLayerOptions o) { return recurrent(kLstm, x, units, o); }
Layer lstm(int64_t units, RecurrentLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return lstm(x, units, o); });
}
Model gru(const Model& x, int64_t units, RecurrentLayerOptions o) { return recurrent(kGru, x, units, o); }
Layer gru(int64_t units, RecurrentLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return gru(x, units, o); });
}

Model conv_lstm(const Model& x, int64_t units, ConvLstmLayerOptions o) {
  std::vector<Model> inputs{x};
  if (o.mask.defined()) inputs.push_back(o.mask);
  AXON_CHECK(o.hidden_state.empty() || o.hidden_state.size() == 2, "conv_lstm",
             "hidden_state must hold 2 models ({{c, h}}), got {}", o.hidden_state.size());
  inputs.insert(inputs.end(), o.hidden_state.begin(), o.hidden_state.end());
  return detail::make_node("conv_lstm", inputs, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("units", units).options(o).str();
    const Shape& s = b.in[0];
    AXON_CHECK(s.size() >= 4, b.who, "input shape {} must be [batch, time, channels, spatial...]", to_string(s));
    AXON_CHECK(units > 0, b.who, "units must be positive, got {}", units);
    const int64_t nd = static_cast<int64_t>(s.size()) - 3;
    const int64_t cin = detail::known_dim(b, s, 2, "channel dim");
    auto k = detail::per_dim(b, o.kernel_size, nd, "kernel_size");
    auto st = detail::per_dim(b, o.strides, nd, "strides");
    if (o.padding.mode == PaddingMode::explicit_pads)
      AXON_CHECK(static_cast<int64_t>(o.padding.pads.size()) == nd, b.who,
                 "padding has {} (lo, hi) pairs but input shape {} has {} spatial dims", o.padding.pads.size(),
                 to_string(s), nd);
    Shape state{s[0], units};
    for (int64_t d = 0; d < nd; ++d) {
      const auto dd = static_cast<size_t>(d);
      const int64_t out = conv_out(s[3 + d], k[dd], st[dd], o.padding, dd);
      AXON_CHECK(out < 0 || out > 0, b.who, "kernel_size {} does not fit input shape {}", detail::show_list(k),
                 to_string(s));
      const int64_t again = conv_out(out, k[dd], st[dd], o.padding, dd);
      AXON_CHECK(again == out, b.who,
                 "the state has spatial size {} along dim {} but the hidden convolution (kernel_size {}, strides {}, "
                 "padding {}) would give {}: they must keep the state's size",
                 out, d, detail::show_list(k), detail::show_list(st), detail::show_padding(o.padding), again);
      state.push_back(out);
    }
    if (o.mask.defined()) check_mask(b, b.in[1]);
    check_hidden_state(b, o.mask.defined() ? 2 : 1, o.hidden_state.size(), state);
    if (o.return_sequences) {
      b.node.shape = state;
      b.node.shape.insert(b.node.shape.begin() + 1, s[1]);
    } else {
      b.node.shape = state;
    }
    Shape ik{4 * units, cin}, hk{4 * units, units};
    ik.insert(ik.end(), k.begin(), k.end());
    hk.insert(hk.end(), k.begin(), k.end());
    b.node.params.push_back(
        {.name = "input_kernel", .shape = ik, .initializer = o.kernel_initializer, .channels_first = true});
    b.node.params.push_back(
        {.name = "hidden_kernel", .shape = hk, .initializer = o.kernel_initializer, .channels_first = true});
    if (o.use_bias) b.node.params.push_back({.name = "bias", .shape = {4 * units}, .initializer = o.bias_initializer});
    b.node.options = {{"kernel_size", detail::show_list(k)},
                      {"strides", detail::show_list(st)},
                      {"padding", detail::show_padding(o.padding)},
                      {"unroll", detail::enum_name(o.unroll)}};
    if (!o.return_sequences) b.node.options.push_back({"return_sequences", "false"});

    const layers::ConvLstmSequenceOptions run{st, o.padding, o.unroll, false};
    const bool has_mask = o.mask.defined(), sequences = o.return_sequences;
    const bool random = o.initial_state == InitialState::random && o.hidden_state.empty();
    const size_t hidden_inputs = o.hidden_state.size();
    const Initializer rinit = o.recurrent_initializer;
    const uint64_t seed = o.seed;
    const std::string who = b.who;
    b.node.forward = [=](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext& ctx) {
      const Tensor& x = in[0];
      size_t i = 1;
      Tensor m = has_mask ? in[i++] : Tensor();
      layers::Carry carry(in.begin() + static_cast<std::ptrdiff_t>(i),
                          in.begin() + static_cast<std::ptrdiff_t>(i + hidden_inputs));
      if (random) {
        Shape shape{x.size(0), units};
        for (int64_t d = 0; d < nd; ++d) {
          const auto dd = static_cast<size_t>(d);
          shape.push_back(conv_out(x.size(3 + d), k[dd], st[dd], run.padding, dd));
        }
        carry = random_state(who, rinit, seed, ctx.layer, "", 2, shape, x);
      }
      auto it = p.find("bias");
      auto r = layers::conv_lstm(x, carry, m, p.at("input_kernel"), p.at("hidden_kernel"),
                                 it == p.end() ? Tensor() : it->second, run);
      return sequences ? r.output : r.carry.back();
    };
  });
}
Layer conv_lstm(int64_t units, ConvLstmLayerOptions o) {
  return detail::as_layer([=](const Model& x) { return conv_lstm(x, units, o); });
}

Model mask(const Model& x, int64_t eos_token, NameOptions o) {
  return detail::make_node("mask", {x}, o.name, [&](NodeBuild& b) {
    b.node.spec = detail::SpecWriter()("eos_token", eos_token).str();
    b.node.shape = b.in[0];
    b.node.options = {{"eos_token", std::to_string(eos_token)}};
    b.node.forward = [eos_token](const std::vector<Tensor>& in, const ParamMap&, ForwardContext&) {
      return eq(cast(in[0], DType::i64), Scalar(static_cast<long long>(eos_token)));
    };
  });
}

}  // namespace axon
