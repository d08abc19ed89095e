// The tensor handle: creation, views, copies, element access, printing, memory, errors.
#include <cmath>
#include <numeric>

#include <axon/host_cache.hpp>

#include "harness.hpp"

using namespace axon;
using test::check_equal;

TEST_CASE("dtype names, sizes and promotion", "[tensor]") {
  CHECK(itemsize(DType::f32) == 4);
  CHECK(itemsize(DType::bf16) == 2);
  CHECK(itemsize(DType::i64) == 8);
  CHECK(itemsize(DType::boolean) == 1);
  CHECK(std::string(dtype_name(DType::bf16)) == "bf16");
  CHECK(dtype_from_name("float16") == DType::f16);
  CHECK(promote_types(DType::i32, DType::f16) == DType::f16);
  CHECK(promote_types(DType::f16, DType::bf16) == DType::f32);
  CHECK(promote_types(DType::i32, DType::i64) == DType::i64);
  CHECK(promote_types(DType::boolean, DType::u8) == DType::u8);
  CHECK(promote_types(DType::f32, DType::f64) == DType::f64);
  AXON_REQUIRE_THROWS_WITH(dtype_from_name("f128"), "unknown dtype name 'f128'");
}

TEST_CASE("bf16 and f16 round to nearest even and keep specials", "[tensor]") {
  CHECK(static_cast<float>(bf16(1.0f)) == 1.0f);
  CHECK(static_cast<float>(bf16(3.14159265f)) == 3.140625f);
  CHECK(static_cast<float>(f16(3.14159265f)) == 3.140625f);
  CHECK(static_cast<float>(f16(65504.f)) == 65504.f);
  CHECK(std::isinf(static_cast<float>(f16(65520.f))));
  CHECK(static_cast<float>(f16(5.9604645e-8f)) == 5.9604645e-8f);  // smallest subnormal
  CHECK(static_cast<float>(f16(1e-9f)) == 0.f);
  CHECK(static_cast<float>(f16(-2.5f)) == -2.5f);
  CHECK(std::isnan(static_cast<float>(f16(NAN))));
  CHECK(std::isnan(static_cast<float>(bf16(NAN))));
  // Every f16 value survives f16 -> f32 -> f16.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    f16 h;
    h.bits = static_cast<uint16_t>(b);
    float f = h;
    if (std::isnan(f)) continue;
    f16 back(f);
    if (back.bits != h.bits) FAIL("f16 bits " << b << " round trip gave " << back.bits);
  }
}

TEST_CASE("creation functions", "[tensor]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    check_equal(zeros({2, 3}, DType::f32, d), {0, 0, 0, 0, 0, 0}, {2, 3});
    check_equal(ones({2}, DType::i32, d), {1, 1}, {2});
    check_equal(full({2, 2}, 7.5, DType::f64, d), {7.5, 7.5, 7.5, 7.5}, {2, 2});
    check_equal(arange(5, DType::i64, d), {0, 1, 2, 3, 4}, {5});
    check_equal(arange(1, 2, 0.25, DType::f32, d), {1, 1.25, 1.5, 1.75}, {4});
    check_equal(arange(3, 0, -1, DType::f32, d), {3, 2, 1}, {3});
    check_equal(linspace(0, 1, 5, DType::f64, d), {0, 0.25, 0.5, 0.75, 1}, {5});
    check_equal(eye(2, 3, DType::f32, d), {1, 0, 0, 0, 1, 0}, {2, 3});
    check_equal(scalar_tensor(3, DType::f32, d), {3}, {});
    Tensor e = empty({0, 4}, DType::f32, d);
    CHECK(e.numel() == 0);
    CHECK(e.shape() == Shape{0, 4});
    auto v = from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3}, d);
    CHECK(v.dtype() == DType::i32);
    CHECK(v.device() == d);
    check_equal(v, {1, 2, 3, 4, 5, 6}, {2, 3});
    check_equal(tensor({1.f, 2.f}, {}, d), {1, 2}, {2});
  }
  AXON_REQUIRE_THROWS_WITH(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), "3 values do not fill shape [2, 2]");
  AXON_REQUIRE_THROWS_WITH(zeros({2, -1}), "negative dimension in shape [2, -1]");
  AXON_REQUIRE_THROWS_WITH(arange(0, 1, 0), "arange: step must be finite and nonzero");
}

TEST_CASE("from_blob wraps caller memory without copying", "[tensor]") {
  std::vector<float> buf{1, 2, 3, 4, 5, 6};
  bool deleted = false;
  {
    Tensor t = from_blob(buf.data(), {2, 3}, DType::f32, Device::cpu(), {}, [&](void*) { deleted = true; });
    CHECK(t.data_ptr() == buf.data());
    buf[4] = 50;
    check_equal(t, {1, 2, 3, 4, 50, 6}, {2, 3});
    Tensor col = from_blob(buf.data(), {3, 2}, DType::f32, Device::cpu(), {1, 3});  // column-major view
    check_equal(col.contiguous(), {1, 4, 2, 50, 3, 6}, {3, 2});
    CHECK(!deleted);
  }
  CHECK(deleted);
  AXON_REQUIRE_THROWS_WITH(from_blob(nullptr, {2}, DType::f32, Device::cpu()), "from_blob: null data pointer");
}

TEST_CASE("views share storage and have the right strides", "[tensor]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor x = arange(24, DType::f32, d).reshape({2, 3, 4});
    CHECK(x.strides() == Strides{12, 4, 1});
    Tensor t = x.transpose(0, 2);
    CHECK(t.shape() == Shape{4, 3, 2});
    CHECK(t.strides() == Strides{1, 4, 12});
    CHECK(!t.is_contiguous());
    CHECK(t.data_ptr() == x.data_ptr());
    check_equal(t.contiguous().reshape({-1}).slice(0, 0, 6), {0, 12, 4, 16, 8, 20}, {6});

    Tensor p = x.permute({1, 2, 0});
    CHECK(p.shape() == Shape{3, 4, 2});
    check_equal(p.select(0, 1).select(0, 2), {6, 18}, {2});

    Tensor s = x.slice(2, 1, 4, 2);  // columns 1 and 3
    CHECK(s.shape() == Shape{2, 3, 2});
    check_equal(s.select(0, 1).select(0, 0), {13, 15}, {2});
    check_equal(x.narrow(1, 1, 1).reshape({-1}), {4, 5, 6, 7, 16, 17, 18, 19}, {8});
    check_equal(x.slice(0, -1, 2).reshape({-1}).slice(0, 0, 2), {12, 13}, {2});

    Tensor u = arange(3, DType::f32, d).unsqueeze(0);
    CHECK(u.shape() == Shape{1, 3});
    Tensor ex = u.expand({4, 3});
    CHECK(ex.strides()[0] == 0);
    check_equal(ex.contiguous(), {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, {4, 3});
    CHECK(ex.unsqueeze(-1).shape() == Shape{4, 3, 1});
    CHECK(ones({1, 3, 1}).squeeze().shape() == Shape{3});
    CHECK(ones({1, 3, 1}).squeeze(-1).shape() == Shape{1, 3});
    CHECK(x.flatten(1).shape() == Shape{2, 12});
    CHECK(x.flatten().shape() == Shape{24});

    // reshape of a non-viewable layout copies; view refuses.
    Tensor r = t.reshape({4, 6});
    check_equal(r.slice(0, 0, 1).reshape({-1}), {0, 12, 4, 16, 8, 20}, {6});
    AXON_REQUIRE_THROWS_WITH(t.view({24}), "cannot be viewed as [24]");
    // a transposed matrix viewed with a split of a contiguous axis stays a view
    Tensor m = arange(12, DType::f32, d).reshape({3, 4}).t();  // [4, 3], strides [1, 4]
    CHECK(m.view({2, 2, 3}).strides() == Strides{2, 1, 4});
  }
  Tensor x = zeros({2, 3});
  AXON_REQUIRE_THROWS_WITH(x.reshape({4, 2}), "reshape: cannot reshape [2, 3] (6 elements) into [4, 2]");
  AXON_REQUIRE_THROWS_WITH(x.reshape({-1, -1}), "only one dimension can be -1");
  AXON_REQUIRE_THROWS_WITH(x.transpose(0, 2), "transpose: axis 2 is out of range for a tensor of rank 2");
  AXON_REQUIRE_THROWS_WITH(x.permute({0, 0}), "permute: axis 0 repeated");
  AXON_REQUIRE_THROWS_WITH(x.expand({3, 3}), "expand: cannot expand shape [2, 3] to [3, 3]");
  AXON_REQUIRE_THROWS_WITH(x.select(1, 3), "select: index 3 is out of range for axis 1 of size 3");
  AXON_REQUIRE_THROWS_WITH(x.narrow(0, 1, 2), "narrow: start 1 and length 2 are out of bounds for axis 0");
}

TEST_CASE("dtype conversion, clone and contiguous copies", "[tensor]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    Tensor x = from_vector(std::vector<double>{-1.5, -0.5, 0.5, 2.7, 255}, {5}, d);
    check_equal(x.to(DType::i32), {-1, 0, 0, 2, 255}, {5});
    check_equal(abs(x).to(DType::u8).to(DType::i32), {1, 0, 0, 2, 255}, {5});  // in-range values only
    check_equal(x.to(DType::boolean), {1, 1, 1, 1, 1}, {5});
    check_equal(x.to(DType::bf16), {-1.5, -0.5, 0.5, 2.703125, 255}, {5});
    check_equal(x.to(DType::f16), {-1.5, -0.5, 0.5, 2.69921875, 255}, {5});
    Tensor c = x.clone();
    CHECK(c.data_ptr() != x.data_ptr());
    check_equal(c, {-1.5, -0.5, 0.5, 2.7, 255}, {5});
    Tensor same = x.to(DType::f64);
    CHECK(same.data_ptr() == x.data_ptr());  // no-op conversion returns the same tensor
  }
}

TEST_CASE("item and to_vector", "[tensor]") {
  Tensor s = scalar_tensor(2.5);
  CHECK(s.item<float>() == 2.5f);
  CHECK(s.item<double>() == 2.5);
  CHECK(s.item<int64_t>() == 2);
  auto b = from_vector(std::vector<bool>{true, false, true}).to_vector<bool>();
  CHECK(b == std::vector<bool>{true, false, true});
  AXON_REQUIRE_THROWS_WITH(zeros({2, 2}).item<float>(), "item: item() needs a tensor with exactly one element, got f32[2, 2] on cpu");
  AXON_REQUIRE_THROWS_WITH(zeros({2}).data<double>(), "data: requested f64 but the tensor is f32");
  Tensor undefined;
  AXON_REQUIRE_THROWS_WITH(undefined.shape(), "undefined tensor");
}

TEST_CASE("printing looks like PyTorch", "[tensor]") {
  CHECK(tensor({1.f, 2.5f, -3.f}).str() == "tensor([ 1.0000,  2.5000, -3.0000], shape=[3], dtype=f32, device=cpu)");
  CHECK(arange(4, DType::i64).reshape({2, 2}).str() == "tensor([[0, 1],\n        [2, 3]], shape=[2, 2], dtype=i64, device=cpu)");
  CHECK(from_vector(std::vector<bool>{true, false}).str() == "tensor([ True, False], shape=[2], dtype=bool, device=cpu)");
  CHECK(scalar_tensor(3).str() == "tensor(3., shape=[], dtype=f32, device=cpu)");
  std::string big = arange(2000, DType::f32).str();
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.find("1999.") != std::string::npos);
  CHECK(big.size() < 200);
}

TEST_CASE("device parsing and a CUDA device where there is none", "[tensor][errors]") {
  CHECK(Device::parse("cuda:1") == Device::cuda(1));
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::cuda(2).str() == "cuda:2");
  AXON_REQUIRE_THROWS_WITH(Device::parse("tpu"), "cannot parse device 'tpu'");
  if (!cuda_available()) {
    AXON_REQUIRE_THROWS_WITH(zeros({2}, DType::f32, Device::cuda()), "cuda:0 requested but");
    AXON_REQUIRE_THROWS_WITH(zeros({2}).to(Device::cuda()), "cuda");
  } else {
    AXON_REQUIRE_THROWS_WITH(zeros({2}, DType::f32, Device::cuda(cuda_device_count())), "requested but only");
  }
}

TEST_CASE("memory statistics track allocations", "[tensor]") {
  for (Device d : test::devices()) {
    INFO(d.str());
    synchronize(d);
    auto before = memory_stats(d).in_use;
    {
      Tensor a = zeros({1000}, DType::f32, d);
      CHECK(memory_stats(d).in_use >= before + 4000);
      CHECK(memory_stats(d).peak >= before + 4000);
    }
    CHECK(memory_stats(d).in_use == before);
  }
}

TEST_CASE("CUDA round trip keeps values and layout", "[tensor][cuda]") {
  AXON_REQUIRE_CUDA();
  Tensor x = arange(12, DType::f32).reshape({3, 4});
  Tensor g = x.t().to(Device::cuda());
  CHECK(g.is_cuda());
  CHECK(g.is_contiguous());
  check_equal(g.to(Device::cpu()), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, {4, 3});
  check_equal(g.to(DType::bf16).to(DType::f32).to(Device::cpu()), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, {4, 3});
  check_equal(g.t().contiguous().to(Device::cpu()), x.to_vector<double>(), {3, 4});
  auto stats = memory_stats(Device::cuda());
  CHECK(stats.reserved >= stats.in_use);
}

TEST_CASE("method spellings forward to the ops", "[tensor]") {
  Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4, 0.5, -6}, {2, 3});
  check_equal(x.sum(), {-3.5}, {});
  check_equal(x.sum({1}, true), {-2, -1.5}, {2, 1});
  check_equal(x.max({0}), {4, 2, -3}, {3});
  check_equal(x.min({1}), {-3, -6}, {2});
  check_equal(x.argmax(1), {1, 0}, {2});
  check_equal(x.argmin(0), {0, 1, 1}, {3});
  test::check_close(x.mean(), {-3.5 / 6}, {}, test::tol_for(DType::f64));
  check_equal(x.abs(), {1, 2, 3, 4, 0.5, 6}, {2, 3});
  check_equal(x.neg(), {1, -2, 3, -4, -0.5, 6}, {2, 3});
  check_equal(x.relu(), {0, 2, 0, 4, 0.5, 0}, {2, 3});
  check_equal(x.square(), {1, 4, 9, 16, 0.25, 36}, {2, 3});
  check_equal(x.clamp(-2, 3), {-1, 2, -2, 3, 0.5, -2}, {2, 3});
  test::check_close(x.abs().sqrt().square(), {1, 2, 3, 4, 0.5, 6}, {2, 3}, test::tol_for(DType::f64));
  test::check_close(x.abs().pow(2).log().exp(), {1, 4, 9, 16, 0.25, 36}, {2, 3}, test::tol_for(DType::f64));
  check_equal(x.matmul(ones({3, 1}, DType::f64)), {-2, -1.5}, {2, 1});
  test::check_close(x.softmax(1).sum({1}), {1, 1}, {2}, test::tol_for(DType::f64));
  test::check_close(x.log_softmax(-1).exp().sum({-1}), {1, 1}, {2}, test::tol_for(DType::f64));
  test::check_close(x.sigmoid(), {1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-2.0)), 1 / (1 + std::exp(3.0)),
                                  1 / (1 + std::exp(-4.0)), 1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(6.0))},
                    {2, 3}, test::tol_for(DType::f64));
  test::check_close(x.tanh(), {std::tanh(-1.0), std::tanh(2.0), std::tanh(-3.0), std::tanh(4.0), std::tanh(0.5),
                               std::tanh(-6.0)},
                    {2, 3}, test::tol_for(DType::f64));
}

TEST_CASE("host cache hits: a freed block of the same size class serves the next allocation", "[tensor][storage]") {
  empty_cache(Device::cpu());
  const size_t a0 = memory_stats(Device::cpu()).allocations, h0 = host_cache_hits();
  { Tensor a = empty({1000, 37}); }  // freed into the cache
  CHECK(memory_stats(Device::cpu()).allocations - a0 == 1);
  CHECK(host_cache_hits() == h0);  // the cache was emptied: a fresh block
  Tensor b = empty({1000, 37});
  CHECK(memory_stats(Device::cpu()).allocations - a0 == 2);
  CHECK(host_cache_hits() - h0 == 1);
}
