// copy_into and the out= variants: results written into the caller's memory (views included),
// exactly the values of the allocating ops, and errors naming the op and the shapes at fault.
#include <axon/axon.hpp>

#include "harness.hpp"

using namespace axon;

TEST_CASE("copy_into writes into a view of the caller's memory and nothing else", "[out]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor big = zeros({4, 5}, DType::f32, d);
    Tensor src = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}, d);
    Tensor r = copy_into(big.slice(0, 1, 3).slice(1, 2, 5), src);
    CHECK(r.shape() == Shape{2, 3});
    test::check_close(big, {0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0}, {4, 5}, {0, 0});
    // A transposed source: its logical order is what is copied.
    Tensor dst = empty({3, 2}, DType::f32, d);
    copy_into(dst, src.transpose(0, 1));
    test::check_close(dst, {1, 4, 2, 5, 3, 6}, {3, 2}, {0, 0});
  }
}

TEST_CASE("copy_into writes into memory wrapped with from_blob", "[out]") {
  std::vector<double> mine(6, -1.0);
  Tensor view = from_blob(mine.data(), {2, 3}, DType::f64, Device::cpu());
  copy_into(view, arange(0, 6, 1, DType::f64).reshape({2, 3}));
  CHECK(mine == std::vector<double>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("copy_into and out= errors name the op, shapes, dtypes and devices", "[out][errors]") {
  Tensor a = ones({2, 3});
  AXON_REQUIRE_THROWS_WITH(copy_into(empty({3, 2}), a), "copy_into: the output has shape [3, 2] but the result has shape [2, 3]");
  AXON_REQUIRE_THROWS_WITH(copy_into(empty({2, 3}, DType::f64), a), "copy_into: the output has dtype f64 but the result has dtype f32");
  AXON_REQUIRE_THROWS_WITH(copy_into(Tensor(), a), "copy_into: the output tensor is undefined");
  AXON_REQUIRE_THROWS_WITH(add_out(empty({2, 3}), a, ones({4})), "add_out");
  AXON_REQUIRE_THROWS_WITH(add_out(empty({2}), a, ones({3})), "add_out: the output has shape [2] but the result has shape [2, 3]");
  AXON_REQUIRE_THROWS_WITH(div_out(empty({2, 3}, DType::i32), ones({2, 3}, DType::i32), ones({2, 3}, DType::i32)),
                           "div_out: the output has dtype i32 but the result has dtype f32");
  AXON_REQUIRE_THROWS_WITH(sub_out(empty({2}, DType::boolean), ones({2}, DType::boolean), ones({2}, DType::boolean)),
                           "sub_out: subtraction of bool tensors is not supported");
  AXON_REQUIRE_THROWS_WITH(matmul_out(empty({2, 2}), a, ones({3, 4})),
                           "matmul_out: the output has shape [2, 2] but the result has shape [2, 4]");
  AXON_REQUIRE_THROWS_WITH(matmul_out(empty({2, 4}), a, ones({2, 4})), "cannot be multiplied");
  // No gradient flows into memory written in place.
  Params p{{"l", {{"w", ones({2, 3})}}}};
  AXON_REQUIRE_THROWS_WITH(value_and_grad([&](const Params& q) {
                             Tensor buf = empty({2, 3});
                             add_out(buf, q.at("l").at("w"), a);
                             return sum(buf);
                           }, p),
                           "add_out: writes into an existing tensor, which no gradient can flow through");
  if (cuda_available())
    AXON_REQUIRE_THROWS_WITH(copy_into(empty({2, 3}, DType::f32, Device::cuda()), a), "copy_into: the output is on cuda:0 but the result is on cpu");
}

TEST_CASE("add_out / sub_out / mul_out / div_out equal the allocating ops, into views too", "[out]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}, d);
    Tensor b = from_vector<float>({2, -1, 4}, {3}, d);  // broadcast over rows
    Tensor out = empty({2, 3}, DType::f32, d);
    test::check_close(add_out(out, a, b), add(a, b), {0, 0});
    test::check_close(sub_out(out, a, b), sub(a, b), {0, 0});
    test::check_close(mul_out(out, a, b), mul(a, b), {0, 0});
    test::check_close(div_out(out, a, b), div(a, b), {0, 0});
    // Into a strided view: the columns 1..3 of a wider buffer.
    Tensor wide = full({2, 5}, Scalar(7.0), DType::f32, d);
    add_out(wide.slice(1, 1, 4), a, b);
    test::check_close(wide, {7, 3, 1, 7, 7, 7, 6, 4, 10, 7}, {2, 5}, {0, 0});
    // In place: a += b.
    Tensor acc = a.clone();
    add_out(acc, acc, from_vector<float>({1, 1, 1, 1, 1, 1}, {2, 3}, d));
    test::check_close(acc, {2, 3, 4, 5, 6, 7}, {2, 3}, {0, 0});
    // Integer inputs: div gives floats, the others keep the promoted integer type.
    Tensor i = from_vector<int32_t>({7, 8}, {2}, d);
    Tensor q = empty({2}, DType::f32, d);
    div_out(q, i, from_vector<int32_t>({2, 4}, {2}, d));
    test::check_close(q, {3.5, 2}, {2}, {0, 0});
  }
}

TEST_CASE("matmul_out writes the product into the caller's tensor, batched and strided", "[out]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
      INFO(dtype_name(dt));
      Tensor a = randn({3, 4, 5}, DType::f32, d).to(dt), b = randn({5, 6}, DType::f32, d).to(dt);
      Tensor out = empty({3, 4, 6}, dt, d);
      Tensor r = matmul_out(out, a, b);
      CHECK(r.data_ptr() == out.data_ptr());
      test::check_close(out, matmul(a, b), {0, 0});
      // Strided: every other column of a wider buffer (the product computed, then copied in).
      Tensor wide = zeros({3, 4, 12}, dt, d);
      matmul_out(wide.slice(2, 0, 12, 2), a, b);
      test::check_close(wide.slice(2, 0, 12, 2), matmul(a, b), {0, 0});
      test::check_close(wide.slice(2, 1, 12, 2), zeros({3, 4, 6}, dt, d), {0, 0});
    }
    // A vector times a matrix, and an empty inner dimension (zeros).
    Tensor v = from_vector<float>({1, 2}, {2}, d), m = from_vector<float>({1, 2, 3, 4}, {2, 2}, d);
    Tensor o = empty({2}, DType::f32, d);
    test::check_close(matmul_out(o, v, m), {7, 10}, {2}, {0, 0});
    Tensor z = full({2, 3}, Scalar(5.0), DType::f32, d);
    matmul_out(z, empty({2, 0}, DType::f32, d), empty({0, 3}, DType::f32, d));
    test::check_close(z, zeros({2, 3}, DType::f32, d), {0, 0});
  }
}
