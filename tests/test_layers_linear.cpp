// dense, bilinear and embedding against float64 loops.
#include <cmath>

#include "harness.hpp"

using namespace axon;
using axon::test::check_close;
using axon::test::check_cuda_matches_cpu;
using axon::test::check_grad;
using axon::test::random_tensor;
using axon::test::tol_for;

TEST_CASE("dense forward: rank 2 and 3, bias, transposed input", "[layers][linear]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    for (int layout = 0; layout < 2; ++layout) {
      Tensor x = layout == 0 ? random_tensor({2, 3, 4}, dt, -1, 1, 1)
                             : random_tensor({2, 4, 3}, dt, -1, 1, 1).transpose(1, 2);
      Tensor w = random_tensor({4, 5}, dt, -1, 1, 2), b = random_tensor({5}, dt, -1, 1, 3);
      auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
      std::vector<double> ref(2 * 3 * 5);
      for (int r = 0; r < 6; ++r)
        for (int o = 0; o < 5; ++o) {
          double s = bv[o];
          for (int i = 0; i < 4; ++i) s += xv[r * 4 + i] * wv[i * 5 + o];
          ref[r * 5 + o] = s;
        }
      INFO(dtype_name(dt) << " layout " << layout);
      auto tol = tol_for(dt);
      if (dt == DType::bf16) tol.atol = 3e-2;
      check_close(layers::dense(x, w, b), ref, {2, 3, 5}, tol);
      check_cuda_matches_cpu([](const std::vector<Tensor>& in) { return layers::dense(in[0], in[1], in[2]); },
                             {x, w, b}, tol);
    }
  }
  CHECK(layers::dense(zeros({0, 4}), zeros({4, 5})).shape() == Shape{0, 5});
  Tensor x = random_tensor({3, 4}, DType::f64, -1, 1, 4), w = random_tensor({4, 2}, DType::f64, -1, 1, 5);
  Tensor b = random_tensor({2}, DType::f64, -1, 1, 6);
  check_grad([](const std::vector<Tensor>& in) { return layers::dense(in[0], in[1], in[2]); }, {x, w, b});
}

TEST_CASE("bilinear forward and gradients", "[layers][linear]") {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x1 = random_tensor({2, 3, 4}, dt, -1, 1, 11), x2 = random_tensor({2, 3, 5}, dt, -1, 1, 12);
    Tensor a = random_tensor({6, 4, 5}, dt, -1, 1, 13), b = random_tensor({6}, dt, -1, 1, 14);
    auto v1 = x1.to_vector<double>(), v2 = x2.to_vector<double>(), av = a.to_vector<double>(),
         bv = b.to_vector<double>();
    std::vector<double> ref(6 * 6);
    for (int r = 0; r < 6; ++r)
      for (int o = 0; o < 6; ++o) {
        double s = bv[o];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 5; ++j) s += v1[r * 4 + i] * av[(o * 4 + i) * 5 + j] * v2[r * 5 + j];
        ref[r * 6 + o] = s;
      }
    check_close(layers::bilinear(x1, x2, a, b), ref, {2, 3, 6}, tol_for(dt));
    check_cuda_matches_cpu(
        [](const std::vector<Tensor>& in) { return layers::bilinear(in[0], in[1], in[2], in[3]); },
        {x1, x2, a, b}, tol_for(dt));
  }
  Tensor x1 = random_tensor({2, 3}, DType::f64, -1, 1, 15), x2 = random_tensor({2, 2}, DType::f64, -1, 1, 16);
  Tensor a = random_tensor({4, 3, 2}, DType::f64, -1, 1, 17), b = random_tensor({4}, DType::f64, -1, 1, 18);
  check_grad([](const std::vector<Tensor>& in) { return layers::bilinear(in[0], in[1], in[2], in[3]); },
             {x1, x2, a, b});
}

TEST_CASE("embedding gathers rows and scatters gradients", "[layers][linear]") {
  Tensor k = random_tensor({5, 3}, DType::f64, -1, 1, 21);
  Tensor ids = from_vector<int64_t>({4, 0, 4, 2, 1, 1}, {2, 3});
  auto kv = k.to_vector<double>();
  std::vector<double> ref;
  for (int64_t id : {4, 0, 4, 2, 1, 1})
    for (int j = 0; j < 3; ++j) ref.push_back(kv[id * 3 + j]);
  check_close(layers::embedding(ids, k), ref, {2, 3, 3}, tol_for(DType::f64));
  check_grad([&](const std::vector<Tensor>& in) { return layers::embedding(ids, in[0]); }, {k});
  check_cuda_matches_cpu([&](const std::vector<Tensor>& in) { return layers::embedding(in[1], in[0]); },
                         {k, ids}, tol_for(DType::f64));
}

TEST_CASE("linear layer errors", "[layers][linear][errors]") {
  AXON_REQUIRE_THROWS_WITH(layers::dense(zeros({4}), zeros({4, 2})), "dense: the input must have rank >= 2");
  AXON_REQUIRE_THROWS_WITH(layers::dense(zeros({3, 4}), zeros({5, 2})),
                           "dense: input f32[3, 4] on cpu has 4 features");
  AXON_REQUIRE_THROWS_WITH(layers::dense(zeros({3, 4}), zeros({4, 2}), zeros({3})),
                           "dense: bias must have shape [2]");
  AXON_REQUIRE_THROWS_WITH(layers::bilinear(zeros({2, 3}), zeros({2, 2}), zeros({4, 3, 3})),
                           "bilinear: inputs f32[2, 3] on cpu and f32[2, 2] on cpu do not match");
  AXON_REQUIRE_THROWS_WITH(layers::embedding(zeros({2}), zeros({5, 3})), "embedding: ids must be integers");
  AXON_REQUIRE_THROWS_WITH(layers::embedding(from_vector<int64_t>({7}), zeros({5, 3})),
                           "index 7 is out of range for axis 0 of size 5");
}
