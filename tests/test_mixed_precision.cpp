// Mixed precision: policies (creation, printing, cast), apply_policy's casts around each layer
// (observed by spy layers), f32 master parameters with f32 gradients, the f32-kept norm / softmax
// layers, loss scaling (a hand-computed dynamic trace, skipped updates) and a short bf16 run.
#include <axon/mixed_precision.hpp>
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

double round_bf16(double v) { return static_cast<float>(bf16(static_cast<float>(v))); }

std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to(DType::f64).to_vector<double>(); }

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  Tensor x = a.to(Device::cpu()).contiguous(), y = b.to(Device::cpu()).contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

bool all_finite_host(const Tensor& t) {
  for (double v : host(t))
    if (!std::isfinite(v)) return false;
  return true;
}

// A layer that records what it was given (its input and parameters) and passes its input on.
struct Spy {
  std::shared_ptr<std::map<std::string, Tensor>> seen = std::make_shared<std::map<std::string, Tensor>>();
  Model operator()(const Model& x, const std::string& tag, const std::string& op = "spy",
                   std::vector<ParamSpec> params = {}) const {
    auto seen_ = seen;
    return layer(
        x,
        [seen_, tag](const std::vector<Tensor>& in, const ParamMap& p, ForwardContext&) {
          (*seen_)[tag] = in[0];
          Tensor y = in[0];
          for (const auto& [k, t] : p) {
            (*seen_)[tag + "/" + k] = t;
            y = mul(y, t);
          }
          return y;
        },
        {.params = std::move(params), .output_shape = [](const std::vector<Shape>& s) { return s[0]; }, .op_name = op});
  }
  const Tensor& at(const std::string& tag) const { return seen->at(tag); }
};

Tensor one_hot_rows(const std::vector<int64_t>& ids, int64_t classes, Device d) {
  std::vector<float> v(ids.size() * size_t(classes), 0.0f);
  for (size_t r = 0; r < ids.size(); ++r) v[r * size_t(classes) + size_t(ids[r])] = 1.0f;
  return from_vector(v, {int64_t(ids.size()), classes}, d);
}

}  // namespace

TEST_CASE("policies print as Axon's, cast only floating tensors and reject integer dtypes", "[model]") {
  Policy p = create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::f32});
  CHECK(to_string(p) == "Policy(params=f32, compute=bf16, output=f32)");
  CHECK(to_string(create_policy({.compute = DType::f16})) == "Policy(compute=f16)");
  CHECK(to_string(create_policy()) == "Policy()");
  std::ostringstream os;
  os << p;
  CHECK(os.str() == to_string(p));
  AXON_REQUIRE_THROWS_WITH(create_policy({.compute = DType::i32}), "compute must be a floating dtype, got i32");

  for (Device d : test::devices()) {
    INFO(d.str());
    const std::vector<double> xs = {0.1, -1.2345678, 3.14159265, 1e-3, 257.3, -0.7};
    Tensor x = from_vector(std::vector<float>(xs.begin(), xs.end()), {3, 2}, d);
    Tensor c = cast(p, x, PolicyPart::compute);
    CHECK(c.dtype() == DType::bf16);
    std::vector<double> rounded;
    for (double v : xs) rounded.push_back(round_bf16(float(v)));
    test::check_close(c, rounded, {3, 2}, {0, 0});
    CHECK(cast(p, x, PolicyPart::params).data_ptr() == x.data_ptr());  // already f32: the same tensor
    CHECK(cast(Policy{}, x, PolicyPart::compute).data_ptr() == x.data_ptr());  // unset: no cast

    Tensor ids = from_vector(std::vector<int64_t>{1, 2, 3}, {3}, d);
    Tensor ci = cast(p, ids, PolicyPart::compute);
    CHECK(ci.dtype() == DType::i64);
    CHECK(ci.data_ptr() == ids.data_ptr());
    // A hand-built policy naming an integer dtype never casts to it (Axon's cast).
    CHECK(cast(Policy{.compute = DType::i32}, x, PolicyPart::compute).dtype() == DType::f32);

    Params ps{{"dense_0", {{"kernel", x}, {"ids", ids}}}};
    Params cps = cast(p, ps, PolicyPart::compute);
    CHECK(cps.at("dense_0").at("kernel").dtype() == DType::bf16);
    CHECK(cps.at("dense_0").at("ids").dtype() == DType::i64);
  }
}

TEST_CASE("apply_policy: parameters stored in `params`, inputs and parameters cast to `compute`, outputs to `output`",
          "[model]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Spy spy;
    Model x = input("x", {-1, 4});
    Model h = spy(dense(x, 8), "after_dense");  // spy ops are left out of the policy below
    Model c = spy(h, "custom", "custom", {{.name = "w", .shape = {8}, .initializer = "ones"}});
    Model out = relu(c);
    const Policy policy = create_policy({.params = DType::bf16, .compute = DType::bf16, .output = DType::f16});
    Model mp = apply_policy(out, policy, {.except = {"spy"}});

    std::vector<std::string> names, mp_names;
    for (const auto& l : out.layers()) names.push_back(l.name);
    for (const auto& l : mp.layers()) mp_names.push_back(l.name);
    CHECK(mp_names == names);
    CHECK(policy_of(mp, "dense_0") == policy);
    CHECK(policy_of(mp, "custom_0") == policy);
    CHECK(policy_of(mp, "relu_0") == policy);
    CHECK(!policy_of(mp, "spy_0"));
    CHECK(!policy_of(out, "dense_0"));  // the original model is unchanged
    CHECK(!policy_of(mp, "x"));         // inputs never carry one
    AXON_REQUIRE_THROWS_WITH(policy_of(mp, "nope"), "no layer \"nope\"");

    // Parameters are created in the policy's dtype: the f32 draw of the same seed, rounded.
    Params p32 = init(out, {.device = d, .seed = 7});
    Params pbf = init(mp, {.device = d, .seed = 7});
    for (const auto& [layer, name] : {std::pair{"dense_0", "kernel"}, {"dense_0", "bias"}, {"custom_0", "w"}}) {
      INFO(layer << "." << name);
      const Tensor& t = pbf.at(layer).at(name);
      CHECK(t.dtype() == DType::bf16);
      std::vector<double> r;
      for (double v : host(p32.at(layer).at(name))) r.push_back(round_bf16(v));
      test::check_close(t, r, t.shape(), {0, 0});
    }

    Tensor xin = test::random_tensor({5, 4}, DType::f32, -1, 1, 11, d);
    Tensor y = apply(mp, pbf, xin).output;
    CHECK(spy.at("after_dense").dtype() == DType::f16);  // dense's output, cast to `output`
    CHECK(spy.at("custom").dtype() == DType::bf16);      // a policy layer's input, cast to `compute`
    CHECK(spy.at("custom/w").dtype() == DType::bf16);
    CHECK(y.dtype() == DType::f16);
    // The values: relu(x·W + b) in double on the bf16-rounded input and the stored bf16 parameters.
    std::vector<double> xv = host(xin), w = host(pbf.at("dense_0").at("kernel")), b = host(pbf.at("dense_0").at("bias"));
    std::vector<double> ref;
    for (int r = 0; r < 5; ++r)
      for (int j = 0; j < 8; ++j) {
        double z = b[size_t(j)];
        for (int k = 0; k < 4; ++k) z += round_bf16(xv[size_t(r * 4 + k)]) * w[size_t(k * 8 + j)];
        ref.push_back(std::max(z, 0.0));
      }
    test::check_close(y, ref, {5, 8}, {2e-2, 1e-2});

    // Integer inputs pass untouched; the embedding table is cast to `compute`.
    Spy ids_spy;
    Model ids = input("ids", {-1, 3});
    Model emb = embedding(ids_spy(ids, "ids", "custom"), 10, 4);
    Model emp = apply_policy(emb, create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::f32}));
    Params ep = init(emp, {.device = d, .seed = 2});
    CHECK(ep.at("embedding_0").at("kernel").dtype() == DType::f32);
    Tensor id_values = from_vector(std::vector<int64_t>{0, 3, 9, 9, 1, 4}, {2, 3}, d);
    Tensor e = apply(emp, ep, id_values).output;
    CHECK(ids_spy.at("ids").dtype() == DType::i64);
    CHECK(e.dtype() == DType::f32);
    std::vector<double> table = host(ep.at("embedding_0").at("kernel")), eref;
    for (int64_t id : {0, 3, 9, 9, 1, 4})
      for (int k = 0; k < 4; ++k) eref.push_back(round_bf16(table[size_t(id * 4 + k)]));
    test::check_close(e, eref, {2, 3, 4}, {0, 0});
  }
}

TEST_CASE("a bf16-compute MLP predicts as the f32 one and its f32 master parameters get f32 gradients", "[model]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Model model = input("input", {-1, 4}) | dense(16, {.activation = "relu"}) | dense(3, {.activation = "softmax"});
    Model mp = apply_policy(model, create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::f32}));
    CHECK(kept_in_f32(mp, "softmax_0"));
    CHECK(!policy_of(mp, "softmax_0"));
    CHECK(policy_of(mp, "relu_0"));
    CHECK(!kept_in_f32(mp, "dense_0"));

    Params params = init(model, {.device = d, .seed = 3});
    Params mp_params = init(mp, {.device = d, .seed = 3});
    for (const auto& [layer, m] : params)
      for (const auto& [name, t] : m) CHECK(bitwise_equal(mp_params.at(layer).at(name), t));

    Tensor x = test::random_tensor({32, 4}, DType::f32, -2, 2, 5, d);
    Tensor p32 = predict(model, params, x), pbf = predict(mp, params, x);
    CHECK(pbf.dtype() == DType::f32);
    test::check_close(pbf, p32, {3e-2, 3e-3});
    double max_diff = 0;
    std::vector<double> a = host(pbf), b = host(p32);
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
    CHECK(max_diff > 1e-6);  // the policy model really computed in bf16

    std::vector<int64_t> labels;
    for (int i = 0; i < 32; ++i) labels.push_back((i * 7) % 3);
    Tensor y = one_hot_rows(labels, 3, d);
    auto loss_of = [&](const Model& m) {
      return [&, m](const Params& p) {
        return losses::categorical_cross_entropy(y, apply(m, p, x).output, {.reduction = losses::Reduction::mean});
      };
    };
    Params g32 = grad(loss_of(model), params), gbf = grad(loss_of(mp), params);
    for (const auto& [layer, m] : g32)
      for (const auto& [name, g] : m) {
        INFO(layer << "." << name);
        const Tensor& gb = gbf.at(layer).at(name);
        CHECK(gb.dtype() == DType::f32);
        double scale = 0;
        for (double v : host(g)) scale = std::max(scale, std::fabs(v));
        CHECK(scale > 0);
        test::check_close(gb, g, {5e-2, 3e-2 * scale});
      }
  }
}

TEST_CASE("normalization and softmax layers stay in f32 under a policy unless the filter asks for them", "[model]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Spy spy;
    Model x = input("x", {-1, 6});
    Model model = spy(layer_norm(spy(dense(x, 8), "before_norm")), "after_norm") | dense(3) | softmax();
    const Policy bf = create_policy({.params = DType::bf16, .compute = DType::bf16, .output = DType::bf16});
    Model mp = apply_policy(model, bf, {.except = {"spy"}});
    CHECK(kept_in_f32(mp, "layer_norm_0"));
    CHECK(kept_in_f32(mp, "softmax_0"));
    CHECK(policy_of(mp, "dense_1") == bf);

    Params p = init(mp, {.device = d, .seed = 4});
    CHECK(p.at("dense_0").at("kernel").dtype() == DType::bf16);
    CHECK(p.at("layer_norm_0").at("gamma").dtype() == DType::f32);
    CHECK(p.at("layer_norm_0").at("beta").dtype() == DType::f32);
    // Non-trivial gamma / beta, so that the check below sees them.
    p["layer_norm_0"]["gamma"] = test::random_tensor({8}, DType::f32, 0.5, 1.5, 21, d);
    p["layer_norm_0"]["beta"] = test::random_tensor({8}, DType::f32, -0.5, 0.5, 22, d);

    Tensor xin = test::random_tensor({4, 6}, DType::f32, -1, 1, 9, d);
    Tensor out = apply(mp, p, xin).output;
    CHECK(out.dtype() == DType::f32);  // softmax of a bf16 dense output, raised to f32
    const Tensor& before = spy.at("before_norm");
    const Tensor& after = spy.at("after_norm");
    CHECK(before.dtype() == DType::bf16);
    CHECK(after.dtype() == DType::f32);
    // The norm ran in f32 on the bf16 values: the same as layer_norm in f32 on their f32 copies.
    Tensor ref = layers::layer_norm(before.to(DType::f32), p.at("layer_norm_0").at("gamma"), p.at("layer_norm_0").at("beta"));
    test::check_close(after, ref, test::tol_for(DType::f32));

    // The summary shows each parameter in its stored dtype: dense 56 + 27 parameters in bf16 (2 bytes),
    // layer_norm 16 in f32 (4 bytes): 230 bytes.
    const std::string table = summary(mp);
    CHECK(table.find("kernel: bf16[6, 8]") != std::string::npos);
    CHECK(table.find("gamma: f32[8]") != std::string::npos);
    CHECK(table.find("Total params: 99 (230 B)\n") != std::string::npos);
    CHECK(summary(model).find("Total params: 99 (396 B)\n") != std::string::npos);

    // Named in `only`, or keep_f32_ops off: the norm gets the policy.
    for (const Model& asked : {apply_policy(model, bf, {.only = {"dense", "layer_norm"}}),
                               apply_policy(model, bf, {.except = {"spy"}, .keep_f32_ops = false})}) {
      CHECK(policy_of(asked, "layer_norm_0") == bf);
      CHECK(!kept_in_f32(asked, "layer_norm_0"));
      Params pa = init(asked, {.device = d, .seed = 4});
      CHECK(pa.at("layer_norm_0").at("gamma").dtype() == DType::bf16);
      apply(asked, pa, xin);
      CHECK(spy.at("after_norm").dtype() == DType::bf16);
    }
    // A predicate decides on its own (Axon's filter function).
    Model by_name = apply_policy(model, bf, {.predicate = [](const std::string& layer, const std::string&) {
                                               return layer == "layer_norm_0";
                                             }});
    CHECK(policy_of(by_name, "layer_norm_0") == bf);
    CHECK(!policy_of(by_name, "dense_0"));

    // A stateful layer under an explicit policy: its new running statistics keep their stored dtype.
    Model bn = input("x", {-1, 3}) | batch_norm();
    Model bmp = apply_policy(bn, create_policy({.params = DType::f32, .compute = DType::bf16}), {.only = {"batch_norm"}});
    Params bp = init(bmp, {.device = d});
    ForwardResult r = apply(bmp, bp, test::random_tensor({8, 3}, DType::f32, -1, 1, 3, d), {.mode = Mode::train});
    CHECK(r.output.dtype() == DType::bf16);
    CHECK(r.state.at("batch_norm_0").at("mean").dtype() == DType::f32);
    CHECK(r.state.at("batch_norm_0").at("var").dtype() == DType::f32);
  }
}

TEST_CASE("dynamic loss scale: growth every period, halving on overflow, the minimum, as a hand-computed trace",
          "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    // Each step: the gradient kind ('F' finite, 'I' inf, 'N' NaN) and the expected state after it.
    struct Row {
      char kind;
      double scale;
      int64_t counter;
    };
    const std::vector<Row> trace = {
        {'F', 8, 1}, {'F', 8, 2}, {'F', 16, 0},  // the third finite step in a row doubles
        {'F', 16, 1}, {'I', 8, 0},               // overflow halves and restarts the count
        {'N', 4, 0},                             // NaN counts as overflow (GradScaler)
        {'F', 4, 1}, {'F', 4, 2}, {'I', 2, 0},   // an overflow just before growth
        {'F', 2, 1}, {'F', 2, 2}, {'F', 4, 0},   //
        {'I', 2, 0}, {'I', 1, 0}, {'I', 1, 0},   // not below min_loss_scale
        {'F', 1, 1},
    };
    LossScale ls = dynamic_loss_scale({.init_scale = 8, .period = 3, .factor = 2, .min_loss_scale = 1});
    CHECK(ls.skip_overflow);
    LossScaleState s = ls.init(d);
    CHECK(s.at("loss_scale").device() == d);
    CHECK(s.at("counter").device() == d);
    test::check_close(ls.scale(scalar_tensor(0.25, DType::f32, d), s), {2.0}, {}, {0, 0});
    const std::vector<double> truth = {0.5, -0.25, 3.0};
    for (size_t step = 0; step < trace.size(); ++step) {
      INFO("step " << step << " (" << trace[step].kind << ")");
      const double cur = s.at("loss_scale").to(Device::cpu()).item<float>();
      std::vector<float> g;
      for (double v : truth) g.push_back(float(v * cur));
      if (trace[step].kind == 'I') g[1] = float(kInf);
      if (trace[step].kind == 'N') g[2] = float(kNaN);
      Params grads{{"dense_0", {{"kernel", from_vector(g, {3}, d)}}}, {"dense_1", {{"bias", full({2}, cur, DType::f32, d)}}}};
      Unscaled u = ls.unscale(grads, s);
      const bool finite = trace[step].kind == 'F';
      CHECK(u.finite.to(Device::cpu()).item<bool>() == finite);
      if (finite) {
        test::check_close(u.grads.at("dense_0").at("kernel"), truth, {3}, {0, 0});
        test::check_close(u.grads.at("dense_1").at("bias"), {1.0, 1.0}, {2}, {0, 0});
      }
      s = u.state;
      CHECK(s.at("loss_scale").device() == d);
      CHECK(s.at("loss_scale").to(Device::cpu()).item<float>() == float(trace[step].scale));
      CHECK(s.at("counter").to(Device::cpu()).item<int64_t>() == trace[step].counter);
    }

    // ⚠ Axon's check: only ±inf is overflow, so a NaN step counts as finite.
    LossScale axon_ls = dynamic_loss_scale({.init_scale = 8, .period = 3, .nan_is_overflow = false, .skip_overflow = false});
    LossScaleState as = axon_ls.init(d);
    Unscaled un = axon_ls.unscale({{"l", {{"w", from_vector(std::vector<float>{1.0f, float(kNaN)}, {2}, d)}}}}, as);
    CHECK(un.finite.to(Device::cpu()).item<bool>());
    CHECK(un.state.at("loss_scale").to(Device::cpu()).item<float>() == 8.0f);
    CHECK(un.state.at("counter").to(Device::cpu()).item<int64_t>() == 1);
    Unscaled ui = axon_ls.unscale({{"l", {{"w", from_vector(std::vector<float>{1.0f, float(-kInf)}, {2}, d)}}}}, as);
    CHECK(!ui.finite.to(Device::cpu()).item<bool>());
    CHECK(ui.state.at("loss_scale").to(Device::cpu()).item<float>() == 4.0f);

    // A grown scale that would overflow f32 stays where it is.
    LossScale big = dynamic_loss_scale({.init_scale = 3e38, .period = 1});
    Unscaled ub = big.unscale({{"l", {{"w", full({2}, 1.0, DType::f32, d)}}}}, big.init(d));
    CHECK(ub.state.at("loss_scale").to(Device::cpu()).item<float>() == 3e38f);
    CHECK(ub.state.at("counter").to(Device::cpu()).item<int64_t>() == 0);
  }
  AXON_REQUIRE_THROWS_WITH(dynamic_loss_scale({.period = 0}), "period must be >= 1");
  AXON_REQUIRE_THROWS_WITH(static_loss_scale({.init_scale = -1}), "init_scale must be finite and positive");
}

TEST_CASE("static and identity loss scales", "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    LossScale st = static_loss_scale();
    LossScaleState s = st.init(d);
    CHECK(s.at("loss_scale").to(Device::cpu()).item<float>() == 32768.0f);
    test::check_close(st.scale(scalar_tensor(0.5, DType::f32, d), s), {16384.0}, {}, {0, 0});
    // A 16-bit loss is scaled in f32 (2^16 is beyond f16).
    Tensor l16 = st.scale(scalar_tensor(4.0, DType::f16, d), s);
    CHECK(l16.dtype() == DType::f32);
    test::check_close(l16, {131072.0}, {}, {0, 0});
    Unscaled u = st.unscale({{"l", {{"w", from_vector(std::vector<float>{32768.0f, -8192.0f}, {2}, d)}}}}, s);
    test::check_close(u.grads.at("l").at("w"), {1.0, -0.25}, {2}, {0, 0});
    CHECK(u.finite.to(Device::cpu()).item<bool>());
    CHECK(u.state.at("loss_scale").to(Device::cpu()).item<float>() == 32768.0f);
    // bf16 gradients stay bf16.
    Unscaled ub = st.unscale({{"l", {{"w", full({2}, 65536.0, DType::bf16, d)}}}}, s);
    CHECK(ub.grads.at("l").at("w").dtype() == DType::bf16);
    test::check_close(ub.grads.at("l").at("w"), {2.0, 2.0}, {2}, {0, 0});
    Unscaled bad = st.unscale({{"l", {{"w", from_vector(std::vector<float>{1.0f, float(kNaN)}, {2}, d)}}}}, s);
    CHECK(!bad.finite.to(Device::cpu()).item<bool>());

    LossScale id = identity_loss_scale();
    CHECK(id.init(d).empty());
    Tensor loss = scalar_tensor(0.5, DType::f32, d);
    CHECK(id.scale(loss, {}).data_ptr() == loss.data_ptr());
    CHECK(!id.unscale({}, {}).finite.defined());
    CHECK(!id.skip_overflow);
  }
}

TEST_CASE("train_step skips a step with non-finite gradients: parameters and optimizer state bitwise unchanged",
          "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Model model = input("input", {-1, 4}) | dense(8, {.activation = "relu"}) | dense(3, {.activation = "softmax"});
    Tensor x = test::random_tensor({16, 4}, DType::f32, -1, 1, 1, d);
    std::vector<int64_t> labels;
    for (int i = 0; i < 16; ++i) labels.push_back(i % 3);
    Tensor y = one_hot_rows(labels, 3, d);
    std::vector<float> xbad = x.to(Device::cpu()).to_vector<float>();
    xbad[5] = float(kNaN);
    Batch good{x, y}, bad{from_vector(xbad, {16, 4}, d), y};

    auto state_equal = [](const StepState& a, const StepState& b, const std::string& prefix) {
      auto sa = a.sub(prefix), sb = b.sub(prefix);
      REQUIRE(sa.size() == sb.size());
      REQUIRE(!sa.empty());
      for (const auto& [k, t] : sa) {
        INFO(prefix << "/" << k);
        CHECK(bitwise_equal(t, sb.at(k)));
      }
    };
    auto scale_of = [](const StepState& s) { return s.at("loss_scale/loss_scale").to(Device::cpu()).item<float>(); };
    auto counter_of = [](const StepState& s) { return s.at("loss_scale/counter").to(Device::cpu()).item<int64_t>(); };

    Step step = train_step(model, "categorical_cross_entropy", optim::adam(0.01),
                           {.seed = 1, .loss_scale = dynamic_loss_scale({.init_scale = 1024})});
    StepState s0 = step.init(good, {});
    CHECK(scale_of(s0) == 1024.0f);
    StepState s1 = step.step(good, s0);
    CHECK(scale_of(s1) == 1024.0f);
    CHECK(counter_of(s1) == 1);
    CHECK(!bitwise_equal(s1.at("model_state/dense_0/kernel"), s0.at("model_state/dense_0/kernel")));

    // The same step without loss scaling: a power-of-two scale changes nothing but the bits of
    // nothing, and the logged loss is the unscaled one.
    Step plain = train_step(model, "categorical_cross_entropy", optim::adam(0.01), {.seed = 1});
    StepState p1 = plain.step(good, plain.init(good, {}));
    for (const auto& [k, t] : p1.sub("model_state")) test::check_close(s1.at("model_state/" + k), t, {1e-6, 1e-7});
    test::check_close(s1.at("loss"), p1.at("loss"), {1e-6, 0});

    StepState s2 = step.step(bad, s1);
    state_equal(s2, s1, "model_state");
    state_equal(s2, s1, "optimizer_state");
    int counts = 0;  // the optimizer's step count did not move either
    for (const auto& [k, t] : s2.sub("optimizer_state"))
      if (k.size() >= 5 && k.compare(k.size() - 5, 5, "count") == 0) {
        CHECK(t.to(Device::cpu()).item<int64_t>() == 1);
        ++counts;
      }
    CHECK(counts > 0);
    CHECK(scale_of(s2) == 512.0f);
    CHECK(counter_of(s2) == 0);
    StepState s3 = step.step(good, s2);
    CHECK(!bitwise_equal(s3.at("model_state/dense_0/kernel"), s2.at("model_state/dense_0/kernel")));
    for (const auto& [k, t] : s3.sub("model_state")) CHECK(all_finite_host(t));
    CHECK(counter_of(s3) == 1);

    // A checkpointed loss-scale state is picked up by init.
    StepState given;
    given.set_sub("loss_scale", s2.sub("loss_scale"));
    CHECK(scale_of(step.init(good, given)) == 512.0f);

    // ⚠ Axon's behaviour: the update is applied anyway (the NaN reaches the parameters) ...
    Step applied = train_step(model, "categorical_cross_entropy", optim::adam(0.01),
                              {.seed = 1, .loss_scale = dynamic_loss_scale({.init_scale = 1024, .skip_overflow = false})});
    StepState a2 = applied.step(bad, s1);
    CHECK(!all_finite_host(a2.at("model_state/dense_0/kernel")));
    CHECK(scale_of(a2) == 512.0f);
    // ... and a NaN is not even an overflow.
    Step axon_like = train_step(
        model, "categorical_cross_entropy", optim::adam(0.01),
        {.seed = 1,
         .loss_scale = dynamic_loss_scale({.init_scale = 1024, .nan_is_overflow = false, .skip_overflow = false})});
    StepState x2 = axon_like.step(bad, s1);
    CHECK(!all_finite_host(x2.at("model_state/dense_0/kernel")));
    CHECK(scale_of(x2) == 1024.0f);
    CHECK(counter_of(x2) == 2);
  }
}

TEST_CASE("bf16 mixed precision training with dynamic loss scaling reduces the loss", "[train]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    // Three classes separated by hyperplanes through the origin of [-1, 1)^4.
    const int64_t n = 512;
    std::vector<double> xs = test::random_values(n * 4, -1, 1, 17);
    const double a[4][3] = {{1.0, -0.5, 0.2}, {-0.7, 1.0, 0.3}, {0.4, 0.6, -1.0}, {0.9, -0.2, 0.8}};
    std::vector<int64_t> ids;
    for (int64_t r = 0; r < n; ++r) {
      int64_t best = 0;
      double zb = -1e9;
      for (int c = 0; c < 3; ++c) {
        double z = 0;
        for (int j = 0; j < 4; ++j) z += xs[size_t(r * 4 + j)] * a[j][c];
        if (z > zb) { zb = z; best = c; }
      }
      ids.push_back(best);
    }
    Tensor x = from_vector(std::vector<float>(xs.begin(), xs.end()), {n, 4}, d), y = one_hot_rows(ids, 3, d);

    Model model = input("input", {-1, 4}) | dense(32, {.activation = "relu"}) | dense(3, {.activation = "softmax"});
    Model mp = apply_policy(model, create_policy({.params = DType::f32, .compute = DType::bf16, .output = DType::f32}));
    Loop loop = trainer(mp, "categorical_cross_entropy", optim::adam(0.01), {.log = 0, .loss_scale = dynamic_loss_scale()});
    metric(loop, "accuracy");
    LoopState s = loop.run(tensor_dataset(x, y, {.batch_size = 32, .shuffle = true, .seed = 5}), {}, {.epochs = 6});
    auto first = metric_values(s.epoch_metrics.at(0)), last = metric_values(s.epoch_metrics.at(5));
    CHECK(last.at("loss") < 0.6 * first.at("loss"));
    CHECK(last.at("accuracy") > 0.9);
    for (const auto& [layer, m] : model_state(s))
      for (const auto& [name, t] : m) CHECK(t.dtype() == DType::f32);  // f32 master parameters
    // 96 steps, all finite in bf16 (f32's exponent range): the scale has not moved.
    CHECK(s.step_state.at("loss_scale/loss_scale").to(Device::cpu()).item<float>() == 32768.0f);
    CHECK(s.step_state.at("loss_scale/counter").to(Device::cpu()).item<int64_t>() == 96);
  }
}
