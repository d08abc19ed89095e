// Losses against float64 references computed here, gradients against finite differences, and the
// fused softmax cross-entropy (forward, backward and second derivative).
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include <axon/losses.hpp>
#include <axon/nn_ops.hpp>
#include <axon/train/trainer.hpp>

#include "harness.hpp"

using namespace axon;
using namespace axon::losses;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::random_values;
using axon::test::Tol;
using axon::test::tol_for;
using Ts = std::vector<Tensor>;

namespace {
const Tol kTol{1e-6, 1e-9};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}
double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
// Per-row mean over the last axis of f(y, p), rows of `cols`.
std::vector<double> row_mean(const std::vector<double>& y, const std::vector<double>& p, int64_t cols,
                             const std::function<double(double, double)>& f) {
  std::vector<double> out;
  for (size_t r = 0; r < y.size() / cols; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += f(y[r * cols + c], p[r * cols + c]);
    out.push_back(s / double(cols));
  }
  return out;
}
double ref_log_softmax(const std::vector<double>& x, int64_t row, int64_t c, int64_t k) {
  double m = -INFINITY, s = 0;
  for (int64_t i = 0; i < c; ++i) m = std::max(m, x[row * c + i]);
  for (int64_t i = 0; i < c; ++i) s += std::exp(x[row * c + i] - m);
  return x[row * c + k] - m - std::log(s);
}
// Rows of positive values summing to 1.
Tensor probabilities(int64_t rows, int64_t cols, uint64_t seed) {
  auto v = random_values(rows * cols, 0.05, 1, seed);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += v[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] /= s;
  }
  return from_vector(v, {rows, cols});
}
Tensor one_hot_rows(const std::vector<int64_t>& ids, int64_t cols) {
  std::vector<double> v(ids.size() * cols, 0.0);
  for (size_t r = 0; r < ids.size(); ++r) v[r * cols + ids[r]] = 1;
  return from_vector(v, {int64_t(ids.size()), cols});
}
double softplus_d(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
}  // namespace

TEST_CASE("binary_cross_entropy: probabilities, logits, weights, reductions", "[losses]") {
  Tensor y = from_vector(std::vector<double>{1, 0, 1, 0, 0.3, 1}, {2, 3});
  Tensor p = from_vector(std::vector<double>{0.9, 0.2, 0.4, 0.7, 0.5, 1.0}, {2, 3});
  auto yv = y.to_vector<double>(), pv = p.to_vector<double>();
  auto prob = [](double y, double p) {
    p = std::min(std::max(p, 1e-7), 1 - 1e-7);
    return -(y * std::log(p) + (1 - y) * std::log(1 - p));
  };
  auto per = row_mean(yv, pv, 3, prob);
  check_close(binary_cross_entropy(y, p), per, {2}, kTol);
  check_close(binary_cross_entropy(y, p, {.reduction = Reduction::mean}), {mean_of(per)}, {}, kTol);
  check_close(binary_cross_entropy(y, p, {.reduction = Reduction::sum}), {sum_of(per)}, {}, kTol);
  // weights: y * pw + (1 - y) * nw per element
  auto weighted = row_mean(yv, pv, 3, [&](double y, double p) { return prob(y, p) * (y * 3 + (1 - y) * 0.5); });
  check_close(binary_cross_entropy(y, p, {.positive_weight = 3.0, .negative_weight = 0.5}), weighted, {2}, kTol);
  // logits, including |x| = 1000
  Tensor x = from_vector(std::vector<double>{2, -1, 1000, -1000, 0, 3}, {2, 3});
  auto xv = x.to_vector<double>();
  auto logit = [](double y, double x) { return y * softplus_d(-x) + (1 - y) * softplus_d(x); };
  for (DType dt : {DType::f64, DType::f32}) {
    check_close(binary_cross_entropy(y.to(dt), x.to(dt), {.from_logits = true}), row_mean(yv, xv, 3, logit), {2},
                tol_for(dt));
  }
  Tensor pr = random_tensor({3, 4}, DType::f64, 0.05, 0.95, 5), yr = random_tensor({3, 4}, DType::f64, 0, 1, 6);
  check_grad([](const Ts& v) { return binary_cross_entropy(v[0], v[1]); }, {yr, pr});
  check_grad([](const Ts& v) { return binary_cross_entropy(v[0], v[1], {.from_logits = true}); },
             {yr, random_tensor({3, 4}, DType::f64, -4, 4, 7)});
  check_cuda_matches_cpu([](const Ts& v) { return binary_cross_entropy(v[0], v[1], {.from_logits = true}); },
                         {yr.to(DType::f32), random_tensor({3, 4}, DType::f32, -4, 4, 7)}, tol_for(DType::f32));
}

TEST_CASE("categorical_cross_entropy: dense and sparse, probabilities and logits", "[losses]") {
  const int64_t B = 4, C = 5;
  std::vector<int64_t> ids = {2, 0, 4, 1};
  Tensor p = probabilities(B, C, 11);
  Tensor x = random_tensor({B, C}, DType::f64, -3, 3, 12);
  Tensor oh = one_hot_rows(ids, C);
  Tensor soft = probabilities(B, C, 13);
  auto pv = p.to_vector<double>(), xv = x.to_vector<double>(), sv = soft.to_vector<double>();
  std::vector<double> ref_p, ref_x, ref_soft_x, ref_soft_p;
  for (int64_t r = 0; r < B; ++r) {
    ref_p.push_back(-std::log(pv[r * C + ids[r]]));
    ref_x.push_back(-ref_log_softmax(xv, r, C, ids[r]));
    double a = 0, b = 0;
    for (int64_t c = 0; c < C; ++c) {
      a -= sv[r * C + c] * ref_log_softmax(xv, r, C, c);
      b -= sv[r * C + c] * std::log(pv[r * C + c]);
    }
    ref_soft_x.push_back(a);
    ref_soft_p.push_back(b);
  }
  Tensor sid = from_vector(ids, {B});
  check_close(categorical_cross_entropy(oh, p), ref_p, {B}, kTol);
  check_close(categorical_cross_entropy(soft, p), ref_soft_p, {B}, kTol);
  check_close(categorical_cross_entropy(sid, p, {.sparse = true}), ref_p, {B}, kTol);
  check_close(categorical_cross_entropy(sid.reshape({B, 1}), p, {.sparse = true}), ref_p, {B}, kTol);
  check_close(categorical_cross_entropy(oh, x, {.from_logits = true}), ref_x, {B}, kTol);
  check_close(categorical_cross_entropy(soft, x, {.from_logits = true}), ref_soft_x, {B}, kTol);
  check_close(categorical_cross_entropy(sid, x, {.from_logits = true, .sparse = true}), ref_x, {B}, kTol);
  check_close(categorical_cross_entropy(sid.to(DType::i32), x, {.from_logits = true, .sparse = true}), ref_x, {B},
              kTol);
  check_close(categorical_cross_entropy(oh, x, {.from_logits = true, .reduction = Reduction::mean}),
              {mean_of(ref_x)}, {}, kTol);
  check_close(categorical_cross_entropy(oh, x, {.from_logits = true, .reduction = Reduction::sum}),
              {sum_of(ref_x)}, {}, kTol);
  // xlogy: a zero label over a zero probability contributes 0, not NaN
  Tensor pz = from_vector(std::vector<double>{0.0, 1.0}, {1, 2}), yz = from_vector(std::vector<double>{0.0, 1.0}, {1, 2});
  check_close(categorical_cross_entropy(yz, pz), {0.0}, {1}, kTol);
  // class weights: w[class] per sample; mean = sum(w l) / sum(w)
  std::vector<double> cw = {1, 2, 3, 4, 5};
  std::vector<double> wl;
  double wsum = 0, wlsum = 0;
  for (int64_t r = 0; r < B; ++r) {
    wl.push_back(cw[ids[r]] * ref_x[r]);
    wsum += cw[ids[r]];
    wlsum += wl.back();
  }
  check_close(categorical_cross_entropy(oh, x, {.class_weights = cw, .from_logits = true}), wl, {B}, kTol);
  check_close(categorical_cross_entropy(sid, x, {.class_weights = cw, .from_logits = true, .sparse = true}), wl, {B},
              kTol);
  check_close(categorical_cross_entropy(oh, x, {.class_weights = cw, .from_logits = true, .reduction = Reduction::mean}),
              {wlsum / wsum}, {}, kTol);
}

TEST_CASE("fused softmax cross-entropy: layouts, dtypes, extremes, empty", "[losses]") {
  // rank 3 logits, transposed layout
  Tensor x = random_tensor({3, 6, 2}, DType::f64, -4, 4, 21).permute({0, 2, 1});  // {3, 2, 6}
  Tensor y = random_tensor({3, 2, 6}, DType::f64, 0, 1, 22);
  auto xv = x.contiguous().to_vector<double>(), yv = y.to_vector<double>();
  std::vector<double> ref;
  for (int64_t r = 0; r < 6; ++r) {
    double l = 0;
    for (int64_t c = 0; c < 6; ++c) l -= yv[r * 6 + c] * ref_log_softmax(xv, r, 6, c);
    ref.push_back(l);
  }
  check_close(softmax_cross_entropy(x, y), ref, {3, 2}, kTol);
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Tensor xd = x.to(dt), yd = y.to(dt);
    auto xr = xd.contiguous().to_vector<double>(), yr = yd.to_vector<double>();
    std::vector<double> r2;
    for (int64_t r = 0; r < 6; ++r) {
      double l = 0;
      for (int64_t c = 0; c < 6; ++c) l -= yr[r * 6 + c] * ref_log_softmax(xr, r, 6, c);
      r2.push_back(l);
    }
    Tensor l = softmax_cross_entropy(xd, yd);
    CHECK(l.dtype() == dt);
    check_close(l, r2, {3, 2}, tol_for(dt));
  }
  // |x| = 1000: finite
  Tensor big = from_vector(std::vector<double>{1000, -1000, 0, -1000, 1000, 999}, {2, 3});
  Tensor lab = from_vector(std::vector<int64_t>{1, 2}, {2});
  for (DType dt : {DType::f32, DType::f64}) {
    check_close(sparse_softmax_cross_entropy(big.to(dt), lab), {2000, 1 + std::log1p(std::exp(-1.0))}, {2},
                tol_for(dt));
  }
  // NaN in a row poisons that row only
  Tensor withnan = from_vector(std::vector<double>{1, NAN, 0, 1, 2, 3}, {2, 3});
  auto out = sparse_softmax_cross_entropy(withnan, lab).to_vector<double>();
  CHECK(std::isnan(out[0]));
  CHECK(std::abs(out[1] - (-ref_log_softmax({1, 2, 3}, 0, 3, 2))) < 1e-12);
  // empty batch
  CHECK(sparse_softmax_cross_entropy(zeros({0, 4}, DType::f32), zeros({0}, DType::i64)).shape() == Shape{0});
  Tensor ge = grad([](const Tensor& p) { return sum(softmax_cross_entropy(p, zeros({0, 4}))); }, zeros({0, 4}));
  CHECK(ge.shape() == Shape{0, 4});
  CHECK(categorical_cross_entropy(zeros({0, 4}), zeros({0, 4}), {.from_logits = true, .reduction = Reduction::sum})
            .item<float>() == 0.0f);
  check_cuda_matches_cpu([](const Ts& v) { return softmax_cross_entropy(v[0], v[1]); },
                         {random_tensor({37, 1000}, DType::f32, -5, 5, 3), random_tensor({37, 1000}, DType::f32, 0, 1, 4)},
                         tol_for(DType::f32));
  check_cuda_matches_cpu([](const Ts& v) { return sparse_softmax_cross_entropy(v[0], v[1]); },
                         {random_tensor({64, 7}, DType::f32, -5, 5, 3), from_vector(std::vector<int64_t>(64, 3), {64})},
                         tol_for(DType::f32));
}

TEST_CASE("cross-entropy gradients, fused backward and second derivatives", "[losses][autograd]") {
  Tensor x = random_tensor({3, 4}, DType::f64, -3, 3, 31);
  Tensor y = random_tensor({3, 4}, DType::f64, 0, 1, 32);
  Tensor ids = from_vector(std::vector<int64_t>{3, 0, 2}, {3});
  check_grad([](const Ts& v) { return softmax_cross_entropy(v[0], v[1]); }, {x, y});
  check_grad([&](const Ts& v) { return sparse_softmax_cross_entropy(v[0], ids); }, {x});
  check_grad([](const Ts& v) { return categorical_cross_entropy(v[0], v[1]); }, {y, probabilities(3, 4, 33)});
  check_grad([&](const Ts& v) { return categorical_cross_entropy(ids, v[0], {.sparse = true}); },
             {probabilities(3, 4, 34)});
  check_grad([&](const Ts& v) {
    return categorical_cross_entropy(ids, v[0], {.class_weights = {1, 2, 3, 4}, .from_logits = true, .sparse = true,
                                                 .reduction = Reduction::mean});
  }, {x});
  // the fused backward: softmax * sum(y) - y, checked directly
  auto [val, g] = value_and_grad([&](const Tensor& p) { return sum(softmax_cross_entropy(p, y)); }, x);
  auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  std::vector<double> ref;
  for (int64_t r = 0; r < 3; ++r) {
    double sy = 0;
    for (int64_t c = 0; c < 4; ++c) sy += yv[r * 4 + c];
    for (int64_t c = 0; c < 4; ++c) ref.push_back(std::exp(ref_log_softmax(xv, r, 4, c)) * sy - yv[r * 4 + c]);
  }
  check_close(g, ref, {3, 4}, kTol);
  // grad of grad through the recorded composite
  check_grad([&](const Ts& v) {
    return grad([&](const Tensor& p) { return sum(mul(softmax_cross_entropy(p, y), v[1])); }, v[0]);
  }, {x, random_tensor({3}, DType::f64, -1, 1, 35)});
  check_grad([&](const Ts& v) {
    return grad([&](const Tensor& p) { return sum(sparse_softmax_cross_entropy(p, ids)); }, v[0]);
  }, {x});
}

TEST_CASE("regression and margin losses", "[losses]") {
  Tensor y = random_tensor({3, 4}, DType::f64, -2, 2, 41), p = random_tensor({3, 4}, DType::f64, -2, 2, 42);
  auto yv = y.to_vector<double>(), pv = p.to_vector<double>();
  check_close(mean_absolute_error(y, p), row_mean(yv, pv, 4, [](double a, double b) { return std::abs(a - b); }), {3},
              kTol);
  check_close(mean_squared_error(y, p), row_mean(yv, pv, 4, [](double a, double b) { return (a - b) * (a - b); }),
              {3}, kTol);
  check_close(hinge(y, p), row_mean(yv, pv, 4, [](double a, double b) { return std::max(0.0, 1 - a * b); }), {3},
              kTol);
  check_close(log_cosh(y, p), row_mean(yv, pv, 4, [](double a, double b) { return std::log(std::cosh(b - a)); }),
              {3}, kTol);
  check_close(poisson(y, add(p, 3.0)),  // positive predictions
              row_mean(yv, pv, 4, [](double a, double b) { return (b + 3) - a * std::log(b + 3 + 1e-7); }), {3}, kTol);
  std::vector<double> hub, sm;
  for (size_t i = 0; i < yv.size(); ++i) {
    double d = std::abs(yv[i] - pv[i]);
    hub.push_back(d <= 0.7 ? 0.5 * d * d : 0.7 * d - 0.5 * 0.49);
    sm.push_back(std::log1p(std::exp(-yv[i] * pv[i])));
  }
  check_close(huber(y, p, {.delta = 0.7}), hub, {3, 4}, kTol);
  check_close(soft_margin(y, p), sm, {3, 4}, kTol);
  check_close(soft_margin(y, p, {.reduction = Reduction::mean}), {mean_of(sm)}, {}, kTol);
  // log_cosh stays finite for |d| = 1000
  Tensor big = from_vector(std::vector<double>{1000, -1000}, {1, 2});
  check_close(log_cosh(zeros({1, 2}, DType::f64), big), {1000 - std::log(2.0)}, {1}, kTol);
  // categorical hinge
  Tensor oh = one_hot_rows({1, 3, 0}, 4);
  auto ov = oh.to_vector<double>();
  std::vector<double> ch;
  for (int64_t r = 0; r < 3; ++r) {
    double neg = -INFINITY, pos = 0;
    for (int64_t c = 0; c < 4; ++c) {
      neg = std::max(neg, (1 - ov[r * 4 + c]) * pv[r * 4 + c]);
      pos += ov[r * 4 + c] * pv[r * 4 + c];
    }
    ch.push_back(std::max(0.0, neg - pos + 1));
  }
  check_close(categorical_hinge(oh, p), ch, {3}, kTol);
  // kl divergence
  Tensor a = probabilities(3, 4, 43), b = probabilities(3, 4, 44);
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> kl(3, 0.0);
  for (int64_t i = 0; i < 12; ++i) kl[i / 4] += av[i] * std::log(av[i] / bv[i]);
  check_close(kl_divergence(a, b), kl, {3}, kTol);
  // margin ranking
  Tensor s = from_vector(std::vector<double>{1, -1, 1, -1}, {4});
  Tensor p1 = from_vector(std::vector<double>{0.5, 0.5, -1, 2}, {4}), p2 = from_vector(std::vector<double>{0.2, 0.1, 0, 1}, {4});
  check_close(margin_ranking(s, p1, p2, {.margin = 0.5}), {0.2, 0.9, 1.5, 1.5}, {4}, kTol);
  // cosine similarity: Keras' negated loss by default, the similarity on request
  Tensor u = from_vector(std::vector<double>{1, 0, 1, 1, 2, 3}, {2, 3}), w = from_vector(std::vector<double>{1, 1, 0, -1, -2, -3}, {2, 3});
  check_close(cosine_similarity(u, w), {-0.5, 1.0}, {2}, kTol);
  check_close(cosine_similarity(u, w, {.similarity = true}), {0.5, -1.0}, {2}, kTol);
  check_close(cosine_similarity(zeros({1, 3}, DType::f64), w.slice(0, 0, 1)), {0.0}, {1}, kTol);

  // gradients
  Tensor pp = random_tensor({3, 4}, DType::f64, 0.2, 2, 45);
  std::map<std::string, std::function<Tensor(const Ts&)>> fs = {
      {"mae", [](const Ts& v) { return mean_absolute_error(v[0], v[1]); }},
      {"mse", [](const Ts& v) { return mean_squared_error(v[0], v[1]); }},
      {"hinge", [](const Ts& v) { return hinge(v[0], v[1]); }},
      {"log_cosh", [](const Ts& v) { return log_cosh(v[0], v[1]); }},
      {"poisson", [](const Ts& v) { return poisson(v[0], v[1]); }},
      {"huber", [](const Ts& v) { return huber(v[0], v[1], {.delta = 0.7}); }},
      {"soft_margin", [](const Ts& v) { return soft_margin(v[0], v[1]); }},
      {"categorical_hinge", [](const Ts& v) { return categorical_hinge(v[0], v[1]); }},
      {"kl_divergence", [](const Ts& v) { return kl_divergence(v[0], v[1]); }},
      {"cosine", [](const Ts& v) { return cosine_similarity(v[0], v[1]); }},
      {"margin", [](const Ts& v) { return margin_ranking(sign(v[0]), v[0], v[1], {.margin = 0.3}); }},
  };
  for (auto& [name, f] : fs) {
    INFO(name);
    check_grad(f, {name == "kl_divergence" ? a : y, name == "kl_divergence" ? b : pp});
    check_cuda_matches_cpu(f, {y.to(DType::f32), pp.to(DType::f32)}, tol_for(DType::f32));
  }
}

namespace {
// Brute force: sum over every path of length T whose collapse (merge repeats, drop blanks) is `label`.
double ctc_brute(const std::vector<double>& prob, int64_t T, int64_t D, const std::vector<int64_t>& label,
                 int64_t blank) {
  double total = 0;
  std::vector<int64_t> path(T, 0);
  for (int64_t code = 0; code < int64_t(std::pow(D, T)); ++code) {
    int64_t c = code;
    double pr = 1;
    for (int64_t t = 0; t < T; ++t) {
      path[t] = c % D;
      c /= D;
      pr *= prob[t * D + path[t]];
    }
    std::vector<int64_t> col;
    for (int64_t t = 0; t < T; ++t)
      if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) col.push_back(path[t]);
    if (col == label) total += pr;
  }
  return -std::log(total);
}
}  // namespace

TEST_CASE("connectionist temporal classification", "[losses]") {
  // hand-computed: T = 2, blank 0, label {1}: paths 11, 01, 10
  Tensor lp = log(from_vector(std::vector<double>{0.4, 0.6, 0.7, 0.3}, {1, 2, 2}));
  Tensor lab = from_vector(std::vector<int64_t>{1}, {1, 1}), len = from_vector(std::vector<int64_t>{1}, {1});
  check_close(connectionist_temporal_classification(len, lab, lp), {-std::log(0.72)}, {1}, kTol);
  // brute force on random cases, with repeats, an empty label and a non-zero blank
  const int64_t B = 3, T = 5, D = 3, S = 3;
  std::vector<double> probs_v;
  Tensor logits = random_tensor({B, T, D}, DType::f64, -2, 2, 51);
  Tensor logp = log_softmax(logits, -1);
  auto pv = exp(logp).to_vector<double>();
  std::vector<int64_t> labels = {1, 1, 2, 2, 0, 0, 1, 2, 1};  // rows; padded
  std::vector<int64_t> lens = {3, 0, 3};
  for (int64_t blank : {0, 1}) {
    std::vector<int64_t> lb = labels;
    if (blank == 1)  // keep labels off the blank
      for (auto& v : lb) v = v == 1 ? 0 : v;
    std::vector<double> ref;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> pb(pv.begin() + b * T * D, pv.begin() + (b + 1) * T * D);
      ref.push_back(ctc_brute(pb, T, D, std::vector<int64_t>(lb.begin() + b * S, lb.begin() + b * S + lens[b]), blank));
    }
    INFO("blank " << blank);
    Tensor yt = from_vector(lb, {B, S}), lt = from_vector(lens, {B});
    check_close(connectionist_temporal_classification(lt, yt, logp, {.blank = blank}), ref, {B}, {1e-9, 1e-9});
    double m = (ref[0] / 3 + ref[1] / 1 + ref[2] / 3) / 3;  // lengths clamped to >= 1
    check_close(connectionist_temporal_classification(lt, yt, logp, {.blank = blank, .reduction = Reduction::mean}),
                {m}, {}, {1e-9, 1e-9});
    check_grad([&](const Ts& v) {
      return connectionist_temporal_classification(lt, yt, log_softmax(v[0], -1), {.blank = blank});
    }, {logits});
  }
  // an impossible alignment (label longer than T allows) gives a huge finite loss
  Tensor short_lp = log_softmax(random_tensor({1, 2, 3}, DType::f64, -1, 1, 52), -1);
  Tensor rep = from_vector(std::vector<int64_t>{1, 1}, {1, 2}), two = from_vector(std::vector<int64_t>{2}, {1});
  CHECK(connectionist_temporal_classification(two, rep, short_lp).item<double>() > 1e4);
  AXON_REQUIRE_THROWS_WITH(connectionist_temporal_classification(two, rep, short_lp.select(0, 0)), "{B, T, D}");
  AXON_REQUIRE_THROWS_WITH(connectionist_temporal_classification(from_vector(std::vector<int64_t>{3}, {1}), rep, short_lp),
                           "label length 3");
  AXON_REQUIRE_THROWS_WITH(connectionist_temporal_classification(two, zeros({1, 2}, DType::i64), short_lp),
                           "other than the blank");
}

TEST_CASE("CTC with input lengths: brute force, PyTorch's ctc_loss and gradients", "[losses]") {
  const int64_t B = 2, T = 5, D = 3, S = 2;
  std::vector<double> lg;  // the logits PyTorch's figures below were computed from
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < D; ++d) lg.push_back(std::sin(double(1 + b * 15 + t * 3 + d)));
  Tensor logits = from_vector(lg, {B, T, D});
  Tensor logp = log_softmax(logits, -1);
  Tensor labels = from_vector(std::vector<int64_t>{1, 2, 2, 0}, {B, S});
  Tensor label_lens = from_vector(std::vector<int64_t>{2, 1}, {B});
  Tensor input_lens = from_vector(std::vector<int64_t>{5, 3}, {B});
  const CtcOptions o{.input_lengths = input_lens};
  // torch.nn.functional.ctc_loss(logp.transpose(0, 1), labels, [5, 3], [2, 1], reduction='none' / 'mean')
  check_close(connectionist_temporal_classification(label_lens, labels, logp, o), {2.00528923878063, 1.28410399465531},
              {B}, {1e-12, 1e-12});
  CtcOptions mean_o = o;
  mean_o.reduction = Reduction::mean;
  check_close(connectionist_temporal_classification(label_lens, labels, logp, mean_o), {1.14337430702281}, {},
              {1e-12, 1e-12});
  // The float64 brute force over the first T_b steps only.
  auto pv = exp(logp).to_vector<double>();
  std::vector<double> p1(pv.begin() + T * D, pv.begin() + T * D + 3 * D);
  CHECK(connectionist_temporal_classification(label_lens, labels, logp, o).to_vector<double>()[1] ==
        Catch::Approx(ctc_brute(p1, 3, D, {2}, 0)).epsilon(1e-12));
  // Steps past T_b get no gradient; the rest match finite differences.
  Tensor g = grad([&](const Tensor& x) {
    return sum(connectionist_temporal_classification(label_lens, labels, log_softmax(x, -1), o));
  }, logits);
  CHECK(max(abs(slice(g.select(0, 1), 0, 3, T))).item<double>() == 0.0);
  CHECK(max(abs(slice(g.select(0, 1), 0, 0, 3))).item<double>() > 1e-3);
  check_grad([&](const Ts& v) {
    return connectionist_temporal_classification(label_lens, labels, log_softmax(v[0], -1), o);
  }, {logits});
  // All lengths equal to T give the loss without lengths.
  Tensor full_lens = from_vector(std::vector<int64_t>{T, T}, {B});
  check_close(connectionist_temporal_classification(label_lens, labels, logp, {.input_lengths = full_lens}),
              connectionist_temporal_classification(label_lens, labels, logp), {0, 0});
  AXON_REQUIRE_THROWS_WITH(connectionist_temporal_classification(
                               label_lens, labels, logp, {.input_lengths = from_vector(std::vector<int64_t>{5, 6}, {B})}),
                           "input length 6 of sequence 1 is outside [1, 5]");
  AXON_REQUIRE_THROWS_WITH(connectionist_temporal_classification(label_lens, labels, logp,
                                                                 {.input_lengths = from_vector(std::vector<int64_t>{5}, {1})}),
                           "input_lengths must be integer {B} with B = 2");
}

TEST_CASE("smooth_l1 as PyTorch's smooth_l1_loss", "[losses]") {
  Tensor y = from_vector(std::vector<double>{0, 1, 2, -3, 0.25}, {5});
  Tensor p = from_vector(std::vector<double>{0.5, -0.2, 2.1, 0, 0.3}, {5});
  // torch.nn.functional.smooth_l1_loss(p, y, beta=0.8, reduction='none'), then 'mean', then beta=0
  check_close(smooth_l1(y, p, {.beta = 0.8}), {0.15625, 0.8, 0.00625, 2.6, 0.0015625}, {5}, {1e-12, 1e-12});
  check_close(smooth_l1(y, p, {.beta = 0.8, .reduction = Reduction::mean}), {0.7128125}, {}, {1e-12, 1e-12});
  check_close(smooth_l1(y, p, {.beta = 0}), {0.5, 1.2, 0.1, 3, 0.05}, {5}, {1e-12, 1e-12});
  check_close(smooth_l1(y, p, {.beta = 0.8}), div(huber(y, p, {.delta = 0.8}), 0.8), {1e-12, 1e-12});
  for (double beta : {0.8, 0.0})
    check_grad([&](const Ts& v) { return smooth_l1(v[0], v[1], {.beta = beta}); }, {y, p});
  AXON_REQUIRE_THROWS_WITH(smooth_l1(y, p, {.beta = -1}), "smooth_l1: beta must be finite and >= 0, got -1");
  // By name, for trainer: the mean over the batch with beta 1.
  training::Loss by_name("smooth_l1");
  check_close(by_name(y, p), smooth_l1(y, p, {.reduction = Reduction::mean}), {1e-12, 1e-12});
}

TEST_CASE("label smoothing", "[losses]") {
  Tensor y = one_hot_rows({1, 0}, 4), p = probabilities(2, 4, 61);
  check_close(apply_label_smoothing(y, p), {0.025, 0.925, 0.025, 0.025, 0.925, 0.025, 0.025, 0.025}, {2, 4}, kTol);
  check_close(apply_label_smoothing(y, p, {.smoothing = 0.2}), {0.05, 0.85, 0.05, 0.05, 0.85, 0.05, 0.05, 0.05}, {2, 4},
              kTol);
  LossFn smoothed = label_smoothing([](const Tensor& a, const Tensor& b) { return categorical_cross_entropy(a, b); });
  check_close(smoothed(y, p), categorical_cross_entropy(apply_label_smoothing(y, p), p), {0, 0});
  AXON_REQUIRE_THROWS_WITH(apply_label_smoothing(y.select(0, 0), p.select(0, 0)), "rank >= 2");
}

TEST_CASE("loss errors", "[losses][errors]") {
  Tensor p = probabilities(3, 4, 71), x = random_tensor({3, 4}, DType::f32);
  Tensor ids = from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(ids, p), "must have y_pred's shape");
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(ids.to(DType::f32), p, {.sparse = true}),
                           "integer class ids");
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(ids.slice(0, 0, 2), p, {.sparse = true}), "must have shape [3]");
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(ids, x, {.class_weights = {1, 2}, .from_logits = true, .sparse = true}),
                           "class_weights has 2 entries but y_pred f32[3, 4] on cpu has 4 classes");
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(from_vector(std::vector<int64_t>{0, 4, 1}, {3}), x,
                                                     {.from_logits = true, .sparse = true}),
                           "class ids must lie in [0, 4)");
  AXON_REQUIRE_THROWS_WITH(categorical_cross_entropy(from_vector(std::vector<int64_t>{0, -1, 1}, {3}), p, {.sparse = true}),
                           "class ids must lie in [0, 4)");
  AXON_REQUIRE_THROWS_WITH(binary_cross_entropy(p.slice(1, 0, 3), p), "must have the same shape");
  AXON_REQUIRE_THROWS_WITH(mean_squared_error(p, p.t()), "mean_squared_error");
  AXON_REQUIRE_THROWS_WITH(softmax_cross_entropy(x, ids), "dense labels must be floating");
  AXON_REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(x, x), "sparse labels must be integer class ids");
  AXON_REQUIRE_THROWS_WITH(huber(p, p, {.delta = 0}), "delta must be positive");
}
