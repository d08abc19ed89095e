// Normalization layers against float64 references computed here with plain loops.
#include <cmath>
#include <map>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

namespace {

// Normalizes groups of elements: group_of(i) gives a group id per flat index; stats per group.
std::vector<double> ref_group_normalize(const std::vector<double>& v, const std::vector<int64_t>& group,
                                        int64_t ngroups, double eps, bool rms) {
  std::vector<double> s(ngroups, 0), q(ngroups, 0), cnt(ngroups, 0);
  for (size_t i = 0; i < v.size(); ++i) {
    s[group[i]] += v[i];
    cnt[group[i]] += 1;
  }
  for (int64_t g = 0; g < ngroups; ++g) s[g] = rms ? 0 : s[g] / cnt[g];
  for (size_t i = 0; i < v.size(); ++i) q[group[i]] += (v[i] - s[group[i]]) * (v[i] - s[group[i]]);
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = (v[i] - s[group[i]]) / std::sqrt(q[group[i]] / cnt[group[i]] + eps);
  return out;
}

// Flat index -> coordinates of a row-major shape.
std::vector<int64_t> coords(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
    c[d] = i % s[d];
    i /= s[d];
  }
  return c;
}

// Normalization over `axis` only (layer norm / rms norm reference), with per-channel affine.
std::vector<double> ref_axis_norm(const Tensor& x, int64_t axis, const std::vector<double>& gamma,
                                  const std::vector<double>& beta, double eps, bool rms, double shift = 0) {
  auto v = x.to_vector<double>();
  const Shape& s = x.shape();
  std::vector<int64_t> group(v.size());
  int64_t ngroups = 0;
  std::map<std::vector<int64_t>, int64_t> ids;
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = coords(static_cast<int64_t>(i), s);
    c[axis] = 0;
    auto it = ids.find(c);
    if (it == ids.end()) it = ids.emplace(c, ngroups++).first;
    group[i] = it->second;
  }
  auto out = ref_group_normalize(v, group, ngroups, eps, rms);
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t ch = coords(static_cast<int64_t>(i), s)[axis];
    if (!gamma.empty()) out[i] *= gamma[ch] + shift;
    if (!beta.empty()) out[i] += beta[ch];
  }
  return out;
}

}  // namespace

TEST_CASE("layer_norm forward: dtypes, channel_index, layouts, empty", "[layers][norm]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    for (int layout = 0; layout < 3; ++layout) {
      Tensor x = random_tensor({3, 4, 6}, dt, -3, 3, 21);
      if (layout == 1) x = random_tensor({6, 3, 4}, dt, -3, 3, 22).permute({1, 2, 0});
      if (layout == 2) x = random_tensor({3, 4, 12}, dt, -3, 3, 23).slice(2, 0, 12, 2);
      for (int64_t ci : {-1, 1}) {
        INFO(dtype_name(dt) << " layout " << layout << " channel_index " << ci);
        int64_t c = ci < 0 ? 2 : ci;
        Tensor g = random_tensor({x.size(c)}, dt, 0.5, 1.5, 24),
               b = random_tensor({x.size(c)}, dt, -1, 1, 25);
        Tensor y = layers::layer_norm(x, g, b, {.epsilon = 1e-5, .channel_index = ci});
        CHECK(y.dtype() == dt);
        auto tol = tol_for(dt);
        if (dt == DType::bf16 || dt == DType::f16) tol.atol = 3e-2;
        check_close(y, ref_axis_norm(x, c, g.to_vector<double>(), b.to_vector<double>(), 1e-5, false),
                    x.shape(), tol);
        check_cuda_matches_cpu(
            [&](const std::vector<Tensor>& in) {
              return layers::layer_norm(in[0], in[1], in[2], {.channel_index = ci});
            },
            {x, g, b}, tol);
      }
    }
  }
  Tensor e = zeros({0, 5});
  CHECK(layers::layer_norm(e, ones({5}), zeros({5})).shape() == Shape{0, 5});
  CHECK(layer_norm_last(zeros({3, 0})).shape() == Shape{3, 0});
  // No gamma / beta: plain normalization; a constant row gives 0 (eps keeps it finite).
  Tensor c = full({2, 4}, 3.0);
  check_close(layers::layer_norm(c, {}, {}), std::vector<double>(8, 0.0), {2, 4}, tol_for(DType::f32));
}

TEST_CASE("layer_norm on long rows (register and global kernels) matches CUDA", "[layers][norm]") {
  // Row lengths for every CUDA path: vector registers (1000, 4096, 20000), scalar registers (1001), the
  // global-memory kernels (40000), tiny rows (6).
  for (int64_t n : {6, 1000, 1001, 4096, 20000, 40000}) {
    INFO("n " << n);
    for (DType dt : {DType::f32, DType::bf16}) {
      Tensor x = random_tensor({3, n}, dt, -2, 5, 26);
      Tensor g = random_tensor({n}, dt, 0.5, 1.5, 27), b = random_tensor({n}, dt, -1, 1, 28);
      auto tol = dt == DType::f32 ? test::Tol{1e-4, 1e-4} : test::Tol{2e-2, 5e-2};
      Tensor y = layer_norm_last(x, g, b);
      check_close(y, ref_axis_norm(x, 1, g.to_vector<double>(), b.to_vector<double>(), 1e-5, false), x.shape(),
                  tol);
      check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return layer_norm_last(in[0], in[1], in[2]); },
                             {x, g, b}, tol);
      check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return rms_norm_last(in[0], in[1]); }, {x, g},
                             tol);
      // Backward kernels (dx and the chunked gamma / beta sums) on CUDA against the CPU.
      Tensor w = random_tensor({3, n}, dt, -1, 1, 29);
      for (bool rms : {false, true}) {
        check_cuda_matches_cpu(
            [rms](const std::vector<Tensor>& in) {
              auto gr = grad(
                  [&](const std::vector<Tensor>& p) {
                    Tensor out = rms ? rms_norm_last(p[0], p[1]) : layer_norm_last(p[0], p[1], p[2]);
                    return sum(mul(out, in[3]));
                  },
                  std::vector<Tensor>{in[0], in[1], in[2]});
              return concat({gr[0].reshape({-1}), gr[1], rms ? gr[1] : gr[2]});
            },
            {x.to(DType::f32), g.to(DType::f32), b.to(DType::f32), w.to(DType::f32)}, {1e-3, 1e-3});
      }
    }
    // A contiguous row block at a 4-byte offset: the unaligned (scalar) path.
    Tensor flat = random_tensor({2 * n + 1}, DType::f32, -2, 2, 30);
    Tensor xs = flat.narrow(0, 1, 2 * n).reshape({2, n});
    check_close(layer_norm_last(xs), ref_axis_norm(contiguous(xs), 1, {}, {}, 1e-5, false), {2, n}, {1e-4, 1e-4});
    check_cuda_matches_cpu(
        [n](const std::vector<Tensor>& in) { return layer_norm_last(in[0].narrow(0, 1, 2 * n).reshape({2, n})); },
        {flat}, {1e-4, 1e-4});
  }
}

TEST_CASE("rms_norm forward with shift and channel_index", "[layers][norm]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Tensor x = random_tensor({2, 5, 3}, dt, -2, 2, 31);
    for (int64_t ci : {-1, 1}) {
      int64_t c = ci < 0 ? 2 : ci;
      Tensor g = random_tensor({x.size(c)}, dt, -1, 1, 32);
      for (double shift : {0.0, 1.0}) {
        INFO(dtype_name(dt) << " ci " << ci << " shift " << shift);
        Tensor y = layers::rms_norm(x, g, {.epsilon = 1e-6, .channel_index = ci, .shift = shift});
        auto tol = tol_for(dt);
        if (dt == DType::bf16) tol.atol = 3e-2;
        check_close(y, ref_axis_norm(x, c, g.to_vector<double>(), {}, 1e-6, true, shift), x.shape(), tol);
      }
    }
  }
  // bf16 with upcast normalization rounds x / rms to bf16 before the scale; with all, only at the end.
  Tensor xb = random_tensor({4, 9}, DType::bf16, -2, 2, 34), gb = random_tensor({9}, DType::bf16, -2, 2, 35);
  auto nrm = ref_axis_norm(xb, 1, {}, {}, 1e-6, true);
  auto gv = gb.to_vector<double>();
  std::vector<double> want_norm(nrm.size()), want_all(nrm.size());
  for (size_t i = 0; i < nrm.size(); ++i) {
    double rounded = static_cast<float>(bf16(static_cast<float>(nrm[i])));
    want_norm[i] = static_cast<float>(bf16(static_cast<float>(rounded * (gv[i % 9] + 0.5))));
    want_all[i] = static_cast<float>(bf16(static_cast<float>(nrm[i] * (gv[i % 9] + 0.5))));
  }
  Tensor yn = layers::rms_norm(xb, gb, {.shift = 0.5});
  Tensor ya = layers::rms_norm(xb, gb, {.shift = 0.5, .upcast = layers::RmsUpcast::all});
  CHECK(yn.dtype() == DType::bf16);
  check_close(yn, want_norm, xb.shape(), {1e-2, 1e-2});
  check_close(ya, want_all, xb.shape(), {1e-2, 1e-2});
  // Without gamma: unit scale.
  Tensor x = random_tensor({4, 7}, DType::f64, -2, 2, 33);
  check_close(layers::rms_norm(x, {}), ref_axis_norm(x, 1, {}, {}, 1e-6, true), x.shape(),
              tol_for(DType::f64));
}

TEST_CASE("layer_norm, rms_norm and group_norm gradients", "[layers][norm][autograd]") {
  Tensor x = random_tensor({3, 5}, DType::f64, -2, 2, 41);
  Tensor g = random_tensor({5}, DType::f64, 0.5, 1.5, 42), b = random_tensor({5}, DType::f64, -1, 1, 43);
  check_grad([](const std::vector<Tensor>& in) { return layers::layer_norm(in[0], in[1], in[2]); },
             {x, g, b});
  check_grad([](const std::vector<Tensor>& in) { return layers::layer_norm(in[0], {}, {}); }, {x});
  Tensor x3 = random_tensor({2, 3, 4}, DType::f64, -2, 2, 44);
  Tensor g3 = random_tensor({3}, DType::f64, 0.5, 1.5, 45), b3 = random_tensor({3}, DType::f64, -1, 1, 46);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::layer_norm(in[0], in[1], in[2], {.channel_index = 1});
      },
      {x3, g3, b3});
  check_grad([](const std::vector<Tensor>& in) { return layers::rms_norm(in[0], in[1]); }, {x, g});
  check_grad([](const std::vector<Tensor>& in) { return layers::rms_norm(in[0], in[1], {.shift = 0.5}); },
             {x, g});
  Tensor xg = random_tensor({2, 3, 4}, DType::f64, -2, 2, 47);
  Tensor gg = random_tensor({4}, DType::f64, 0.5, 1.5, 48), bg = random_tensor({4}, DType::f64, -1, 1, 49);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return layers::group_norm(in[0], in[1], in[2], {.num_groups = 2});
      },
      {xg, gg, bg});
}

TEST_CASE("layer_norm and rms_norm gradients of gradients (composite backward)", "[layers][norm][autograd]") {
  Tensor x = random_tensor({2, 4}, DType::f64, -2, 2, 51);
  Tensor g = random_tensor({4}, DType::f64, 0.5, 1.5, 52), b = random_tensor({4}, DType::f64, -1, 1, 53);
  Tensor w = random_tensor({2, 4}, DType::f64, -1, 1, 54);
  for (bool rms : {false, true}) {
    INFO("rms " << rms);
    // h(x, g, b) = d/dx sum(w * norm(x)), a function whose own gradient needs the backward's backward.
    check_grad(
        [&](const std::vector<Tensor>& in) {
          std::vector<Tensor> ps{in[0], in[1], in[2]};
          auto grads = grad(
              [&](const std::vector<Tensor>& p) {
                Tensor y = rms ? rms_norm_last(p[0], p[1]) : layer_norm_last(p[0], p[1], p[2]);
                return sum(mul(y, w));
              },
              ps);
          return add(mul(grads[0], grads[0]), sum(grads[1]));
        },
        {x, g, b}, 1e-5, {1e-4, 1e-6});
  }
}

TEST_CASE("fused layer_norm backward matches the composite formula", "[layers][norm][autograd]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = random_tensor({4, 33}, dt, -3, 3, 55);
    Tensor g = random_tensor({33}, dt, 0.5, 1.5, 56), b = random_tensor({33}, dt, -1, 1, 57);
    Tensor w = random_tensor({4, 33}, dt, -1, 1, 58);
    auto fused =
        grad([&](const std::vector<Tensor>& p) { return sum(mul(layer_norm_last(p[0], p[1], p[2]), w)); },
             std::vector<Tensor>{x, g, b});
    auto comp = grad(
        [&](const std::vector<Tensor>& p) {
          Tensor xc = sub(p[0], mean(p[0], {-1}, true));
          Tensor y = add(mul(mul(xc, rsqrt(add(mean(square(xc), {-1}, true), 1e-5))), p[1]), p[2]);
          return sum(mul(y, w));
        },
        std::vector<Tensor>{x, g, b});
    for (int i = 0; i < 3; ++i) check_close(fused[i], comp[i], {1e-4, 1e-5});
  }
}

TEST_CASE("group_norm and instance_norm forward", "[layers][norm]") {
  for (DType dt : {DType::f32, DType::f64}) {
    for (auto ch : {0, 1}) {  // channels last, channels first
      Tensor x =
          ch == 0 ? random_tensor({2, 3, 2, 6}, dt, -2, 2, 61) : random_tensor({2, 6, 3, 2}, dt, -2, 2, 61);
      int64_t c = ch == 0 ? 3 : 1;
      Tensor g = random_tensor({6}, dt, 0.5, 1.5, 62), b = random_tensor({6}, dt, -1, 1, 63);
      INFO(dtype_name(dt) << " channels " << (ch ? "first" : "last"));
      auto v = x.to_vector<double>();
      auto gv = g.to_vector<double>(), bv = b.to_vector<double>();
      // group norm, 3 groups of 2 channels: group = (batch, channel / 2)
      std::vector<int64_t> grp(v.size()), inst(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        auto cc = coords(static_cast<int64_t>(i), x.shape());
        grp[i] = cc[0] * 3 + cc[c] / 2;
        inst[i] = cc[0] * 6 + cc[c];
      }
      auto rg = ref_group_normalize(v, grp, 6, 1e-5, false);
      auto ri = ref_group_normalize(v, inst, 12, 1e-5, false);
      for (size_t i = 0; i < v.size(); ++i) {
        int64_t k = coords(static_cast<int64_t>(i), x.shape())[c];
        rg[i] = rg[i] * gv[k] + bv[k];
        ri[i] = ri[i] * gv[k] + bv[k];
      }
      check_close(layers::group_norm(x, g, b, {.num_groups = 3, .channel_index = c}), rg, x.shape(),
                  tol_for(dt));
      auto r = layers::instance_norm(x, g, b, {}, {}, {.channel_index = c, .training = true});
      check_close(r.output, ri, x.shape(), tol_for(dt));
      check_cuda_matches_cpu(
          [&](const std::vector<Tensor>& in) {
            return layers::group_norm(in[0], in[1], in[2], {.num_groups = 3, .channel_index = c});
          },
          {x, g, b}, tol_for(dt));
    }
  }
  CHECK(layers::group_norm(zeros({0, 4}), {}, {}, {.num_groups = 2}).shape() == Shape{0, 4});
}

TEST_CASE("batch_norm: training statistics, running-stat updates, inference", "[layers][norm]") {
  const int64_t C = 3;
  Tensor rm = zeros({C}, DType::f64), rv = ones({C}, DType::f64);
  Tensor g = random_tensor({C}, DType::f64, 0.5, 1.5, 71), b = random_tensor({C}, DType::f64, -1, 1, 72);
  std::vector<double> em(C, 0.0), ev(C, 1.0), am(C, 0.0), av(C, 1.0);
  Tensor arm = zeros({C}, DType::f64), arv = ones({C}, DType::f64);
  for (int step = 0; step < 4; ++step) {
    Tensor x = random_tensor({4, 2, C}, DType::f64, -2, 3, 80 + step);
    auto v = x.to_vector<double>();
    std::vector<double> m(C, 0), q(C, 0);
    for (size_t i = 0; i < v.size(); ++i) m[i % C] += v[i] / 8;
    for (size_t i = 0; i < v.size(); ++i) q[i % C] += (v[i] - m[i % C]) * (v[i] - m[i % C]) / 8;
    std::vector<double> expect(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      int64_t k = i % C;
      expect[i] =
          (v[i] - m[k]) / std::sqrt(q[k] + 1e-5) * g.to_vector<double>()[k] + b.to_vector<double>()[k];
    }
    auto r = layers::batch_norm(x, g, b, rm, rv, {.training = true});
    check_close(r.output, expect, x.shape(), tol_for(DType::f64));
    auto ra = layers::batch_norm(
        x, g, b, arm, arv,
        {.momentum = 0.9, .training = true, .convention = layers::MomentumConvention::axon});
    for (int64_t k = 0; k < C; ++k) {
      em[k] = 0.9 * em[k] + 0.1 * m[k];
      ev[k] = 0.9 * ev[k] + 0.1 * q[k] * 8.0 / 7.0;  // PyTorch: unbiased variance
      am[k] = 0.9 * am[k] + 0.1 * m[k];              // Axon with momentum 0.9: the same weights, biased var
      av[k] = 0.9 * av[k] + 0.1 * q[k];
    }
    rm = r.running_mean;
    rv = r.running_var;
    arm = ra.running_mean;
    arv = ra.running_var;
    check_close(rm, em, {C}, tol_for(DType::f64));
    check_close(rv, ev, {C}, tol_for(DType::f64));
    check_close(arm, am, {C}, tol_for(DType::f64));
    check_close(arv, av, {C}, tol_for(DType::f64));
  }
  // Inference: normalizes with the running statistics and returns them unchanged.
  Tensor x = random_tensor({2, C}, DType::f64, -2, 2, 90);
  auto r = layers::batch_norm(x, g, b, rm, rv);
  auto v = x.to_vector<double>();
  std::vector<double> expect(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t k = i % C;
    expect[i] =
        (v[i] - em[k]) / std::sqrt(ev[k] + 1e-5) * g.to_vector<double>()[k] + b.to_vector<double>()[k];
  }
  check_close(r.output, expect, x.shape(), tol_for(DType::f64));
  CHECK(r.running_mean.impl_ptr() == rm.impl_ptr());
  // Channels first.
  Tensor xf = random_tensor({2, C, 5}, DType::f32, -2, 2, 91);
  auto rf = layers::batch_norm(xf, {}, {}, zeros({C}), ones({C}), {.channel_index = 1, .training = true});
  Tensor m = mean(rf.output, {0, 2});
  check_close(m, std::vector<double>(C, 0.0), {C}, {1e-5, 1e-5});
}

TEST_CASE("batch_norm and instance_norm gradients", "[layers][norm][autograd]") {
  Tensor x = random_tensor({4, 3}, DType::f64, -2, 2, 92);
  Tensor g = random_tensor({3}, DType::f64, 0.5, 1.5, 93), b = random_tensor({3}, DType::f64, -1, 1, 94);
  Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
  check_grad(
      [&](const std::vector<Tensor>& in) {
        return layers::batch_norm(in[0], in[1], in[2], rm, rv, {.training = true}).output;
      },
      {x, g, b});
  check_grad(
      [&](const std::vector<Tensor>& in) { return layers::batch_norm(in[0], in[1], in[2], rm, rv).output; },
      {x, g, b});
  Tensor xi = random_tensor({2, 4, 3}, DType::f64, -2, 2, 95);
  check_grad(
      [&](const std::vector<Tensor>& in) {
        return layers::instance_norm(in[0], in[1], in[2], {}, {}, {.training = true}).output;
      },
      {xi, g, b});
}

TEST_CASE("normalization errors name the layer and the shapes", "[layers][norm][errors]") {
  Tensor x = zeros({2, 6});
  AXON_REQUIRE_THROWS_WITH(layers::layer_norm(x, ones({5}), zeros({6})),
                           "layer_norm: gamma must have shape [6]");
  AXON_REQUIRE_THROWS_WITH(layers::layer_norm(x, ones({6}), zeros({6}), {.channel_index = 2}), "layer_norm");
  AXON_REQUIRE_THROWS_WITH(layers::rms_norm(x, ones({2, 6})), "rms_norm: gamma must have shape [6]");
  AXON_REQUIRE_THROWS_WITH(layers::group_norm(x, {}, {}, {.num_groups = 4}),
                           "group_norm: num_groups 4 must divide the 6 channels");
  AXON_REQUIRE_THROWS_WITH(layers::batch_norm(zeros({6}), {}, {}, zeros({6}), ones({6})),
                           "batch_norm: the input must have rank >= 2");
  AXON_REQUIRE_THROWS_WITH(layers::batch_norm(x, {}, {}, zeros({5}), ones({6})),
                           "batch_norm: running_mean must have shape [6]");
  AXON_REQUIRE_THROWS_WITH(layers::instance_norm(x, {}, {}), "instance_norm: the input must have rank >= 3");
  AXON_REQUIRE_THROWS_WITH(layer_norm_last(x, ones({6}, DType::f32), Tensor(), -1.0), "epsilon");
}
