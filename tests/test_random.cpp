// The Philox generator: known answers, the stream layout, reproducibility, statistics, errors, and
// CPU/CUDA agreement.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include <axon/kernels/philox.hpp>

#include "harness.hpp"

using namespace axon;


namespace {

kernels::PhiloxBlock block_of(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {{a, b, c, d}}; }

void check_block(kernels::PhiloxBlock got, std::array<uint32_t, 4> want) {
  for (int i = 0; i < 4; ++i) {
    INFO("word " << i << ": got " << std::hex << got.x[i] << " expected " << want[i]);
    CHECK(got.x[i] == want[i]);
  }
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double std_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}
// Pearson chi-square of counts against equal expected counts.
double chi_square(const std::vector<int64_t>& counts, double expected) {
  double c = 0;
  for (auto k : counts) c += (double(k) - expected) * (double(k) - expected) / expected;
  return c;
}

// The word the stream layout assigns to 32-bit element i of a draw starting at `offset`.
uint32_t word_at(uint64_t seed, uint64_t offset, int64_t i) {
  return kernels::philox_block(seed, offset + uint64_t(i) / 4).x[i % 4];
}

}  // namespace

TEST_CASE("philox 4x32-10 matches the Random123 known answers", "[random]") {
  check_block(kernels::philox4x32_10(block_of(0, 0, 0, 0), 0, 0), {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  check_block(kernels::philox4x32_10(block_of(~0u, ~0u, ~0u, ~0u), ~0u, ~0u),
              {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  check_block(kernels::philox4x32_10(block_of(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), 0xa4093822, 0x299f31d0),
              {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
  // philox_block: counter = the 64-bit block index (low word first, upper words zero), key = the seed.
  check_block(kernels::philox_block(0, 0), {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  auto a = kernels::philox_block(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull);
  auto b = kernels::philox4x32_10(block_of(0x243f6a88, 0x85a308d3, 0, 0), 0xa4093822, 0x299f31d0);
  check_block(a, {b.x[0], b.x[1], b.x[2], b.x[3]});
}

TEST_CASE("rand follows the documented stream layout", "[random]") {
  Generator gen(1234);
  gen.offset = 7;
  Tensor x = rand({3, 5}, gen, DType::f32);
  CHECK(gen.offset == 7 + 4);  // ceil(15 / 4) blocks
  auto v = x.to_vector<float>();
  for (int64_t i = 0; i < 15; ++i) {
    INFO("element " << i);
    CHECK(v[i] == float(word_at(1234, 7, i) >> 8) * 0x1p-24f);
  }

  SECTION("f64 takes two words per element") {
    Generator g(99);
    Tensor d = rand({5}, g, DType::f64);
    CHECK(g.offset == 3);  // ceil(5 / 2)
    auto dv = d.to_vector<double>();
    for (int64_t i = 0; i < 5; ++i) {
      uint64_t w = (uint64_t(word_at(99, 0, 2 * i + 1)) << 32) | word_at(99, 0, 2 * i);
      CHECK(dv[i] == double(w >> 11) * 0x1p-53);
    }
  }
  SECTION("16-bit floats use a grid their type holds exactly") {
    Generator g1(5), g2(5);
    auto hb = rand({9}, g1, DType::bf16).to_vector<double>();
    auto hh = rand({9}, g2, DType::f16).to_vector<double>();
    for (int64_t i = 0; i < 9; ++i) {
      CHECK(hb[i] == double(word_at(5, 0, i) >> 24) * 0x1p-8);
      CHECK(hh[i] == double(word_at(5, 0, i) >> 21) * 0x1p-11);
    }
  }
  SECTION("a draw long enough to be split across the CPU pool keeps the layout") {
    Generator g(77);
    g.offset = 3;
    const int64_t n = 40001;  // 10001 blocks: several parts of the pool's split, and a partial last block
    auto v = rand({n}, g, DType::f32).to_vector<float>();
    CHECK(g.offset == 3 + 10001);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += v[i] != float(word_at(77, 3, i) >> 8) * 0x1p-24f;
    CHECK(bad == 0);
  }
  SECTION("two draws continue the stream where one longer draw would") {
    Generator g1(42), g2(42);
    auto first = rand({8}, g1).to_vector<float>();
    auto second = rand({8}, g1).to_vector<float>();
    auto both = rand({16}, g2).to_vector<float>();
    first.insert(first.end(), second.begin(), second.end());
    CHECK(first == both);
  }
}

TEST_CASE("randn is Box-Muller on pairs of words", "[random]") {
  Generator gen(2024);
  auto z = randn({7}, gen).to_vector<float>();
  CHECK(gen.offset == 2);
  for (int64_t i = 0; i < 7; ++i) {
    int64_t pair = i & ~int64_t(1);
    double u1 = double((word_at(2024, 0, pair) >> 8) + 1) * 0x1p-24;
    double u2 = double(word_at(2024, 0, pair + 1) >> 8) * 0x1p-24;
    double r = std::sqrt(-2 * std::log(u1)), t = 2 * M_PI * u2;
    double want = (i % 2 == 0) ? r * std::cos(t) : r * std::sin(t);
    INFO("element " << i << " got " << z[i] << " expected " << want);
    CHECK(std::fabs(z[i] - want) <= 1e-5 * (1 + std::fabs(want)));
  }
  SECTION("f64") {
    Generator g(77);
    auto d = randn({3}, g, DType::f64).to_vector<double>();
    CHECK(g.offset == 2);  // ceil(3 / 2)
    for (int64_t i = 0; i < 3; ++i) {
      int64_t blk = i / 2;
      const kernels::PhiloxBlock words = kernels::philox_block(77, uint64_t(blk));
      const uint32_t* w = words.x;
      double u1 = double((((uint64_t(w[1]) << 32) | w[0]) >> 11) + 1) * 0x1p-53;
      double u2 = double(((uint64_t(w[3]) << 32) | w[2]) >> 11) * 0x1p-53;
      double r = std::sqrt(-2 * std::log(u1)), t = 2 * M_PI * u2;
      double want = (i % 2 == 0) ? r * std::cos(t) : r * std::sin(t);
      CHECK(std::fabs(d[i] - want) <= 1e-12 * (1 + std::fabs(want)));
    }
  }
}

TEST_CASE("the same seed gives the same numbers, other seeds and later draws differ", "[random]") {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Generator a(7), b(7), c(8);
    auto x = rand({1000}, a, dt).to_vector<double>();
    auto y = rand({1000}, b, dt).to_vector<double>();
    auto z = rand({1000}, c, dt).to_vector<double>();
    auto x2 = rand({1000}, a, dt).to_vector<double>();
    CHECK(x == y);
    int64_t same_seed = 0, same_next = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      same_seed += x[i] == z[i];
      same_next += x[i] == x2[i];
    }
    // 16-bit grids have 256 or 2048 values, so a few coincide by chance.
    int64_t allowed = dt == DType::bf16 ? 30 : dt == DType::f16 ? 10 : 0;
    CHECK(same_seed <= allowed);
    CHECK(same_next <= allowed);
  }
  SECTION("randn, randint, bernoulli") {
    Generator a(3), b(3);
    CHECK(randn({100}, a).to_vector<float>() == randn({100}, b).to_vector<float>());
    CHECK(randint(0, 1000, {100}, a).to_vector<int64_t>() == randint(0, 1000, {100}, b).to_vector<int64_t>());
    CHECK(bernoulli({100}, 0.5, a).to_vector<float>() == bernoulli({100}, 0.5, b).to_vector<float>());
    CHECK(randn({100}, a).to_vector<float>() != randn({100}, a).to_vector<float>());
  }
}

TEST_CASE("manual_seed resets the global generator", "[random]") {
  manual_seed(11);
  auto a = rand({64}).to_vector<float>();
  auto b = rand({64}).to_vector<float>();
  CHECK(a != b);
  CHECK(default_generator().seed == 11);
  CHECK(default_generator().offset == 32);
  manual_seed(11);
  CHECK(rand({64}).to_vector<float>() == a);
  manual_seed(11);
  Generator g(11);
  CHECK(randn({10}).to_vector<float>() == randn({10}, g).to_vector<float>());
  CHECK(randint(-5, 5, {10}).to_vector<int64_t>() == randint(-5, 5, {10}, g).to_vector<int64_t>());
  CHECK(bernoulli({10}, 0.25, DType::boolean).to_vector<bool>() == bernoulli({10}, 0.25, g, DType::boolean).to_vector<bool>());
}

TEST_CASE("uniform draws have the right statistics", "[random]") {
  const int64_t n = 100000;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Generator gen(17);
    auto v = rand({n}, gen, dt).to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0);
    // Mean 1/2 and std 1/sqrt(12) within several standard errors.
    CHECK(std::fabs(mean_of(v) - 0.5) < 0.005);
    CHECK(std::fabs(std_of(v) - std::sqrt(1.0 / 12)) < 0.005);
    // 16 bins: chi-square with 15 degrees of freedom stays below 40 except once in ~3000 runs.
    std::vector<int64_t> bins(16, 0);
    for (double x : v) ++bins[size_t(x * 16)];
    CHECK(chi_square(bins, double(n) / 16) < 40);
  }
  SECTION("uniform(low, high)") {
    Generator gen(5);
    auto v = uniform({n}, -2, 3, gen).to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= -2.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 3.0);
    CHECK(std::fabs(mean_of(v) - 0.5) < 0.03);
    CHECK(std::fabs(std_of(v) - 5 / std::sqrt(12.0)) < 0.03);
  }
  SECTION("a bound the dtype cannot hold is never reached") {
    Generator gen(6);
    auto v = uniform({n}, 1.0, 1.3, gen, DType::bf16).to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= 1.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.3);
    auto w = uniform({n}, -1.0, 0.0, gen, DType::f16).to_vector<double>();
    CHECK(*std::max_element(w.begin(), w.end()) < 0.0);
  }
  SECTION("an empty interval gives its bound") {
    Generator gen(6);
    auto v = uniform({10}, 2.5, 2.5, gen).to_vector<double>();
    CHECK(std::all_of(v.begin(), v.end(), [](double x) { return x == 2.5; }));
  }
}

TEST_CASE("normal draws have the right statistics", "[random]") {
  const int64_t n = 100000;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Generator gen(23);
    auto v = randn({n}, gen, dt).to_vector<double>();
    CHECK(std::fabs(mean_of(v)) < 0.015);
    CHECK(std::fabs(std_of(v) - 1) < 0.015);
    double within1 = double(std::count_if(v.begin(), v.end(), [](double x) { return std::fabs(x) < 1; })) / double(n);
    double within2 = double(std::count_if(v.begin(), v.end(), [](double x) { return std::fabs(x) < 2; })) / double(n);
    CHECK(std::fabs(within1 - 0.682689) < 0.01);
    CHECK(std::fabs(within2 - 0.954500) < 0.005);
    CHECK(std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }));
  }
  SECTION("normal(mean, std)") {
    Generator gen(29);
    auto v = normal({n}, 3, 2, gen).to_vector<double>();
    CHECK(std::fabs(mean_of(v) - 3) < 0.03);
    CHECK(std::fabs(std_of(v) - 2) < 0.03);
    auto c = normal({5}, -1.5, 0, gen, DType::f64).to_vector<double>();
    CHECK(std::all_of(c.begin(), c.end(), [](double x) { return x == -1.5; }));
  }
}

TEST_CASE("randint covers its range evenly in every dtype", "[random]") {
  const int64_t n = 100000;
  for (DType dt : {DType::i64, DType::i32, DType::u8, DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Generator gen(31);
    int64_t low = dt == DType::u8 ? 0 : -3, high = low + 10;
    Tensor t = randint(low, high, {n}, gen, dt);
    CHECK(t.dtype() == dt);
    auto v = t.to_vector<double>();
    std::vector<int64_t> counts(10, 0);
    bool integral_in_range = true;
    for (double x : v) {
      if (x != std::floor(x) || x < double(low) || x >= double(high)) {
        integral_in_range = false;
        continue;
      }
      ++counts[size_t(x - double(low))];
    }
    CHECK(integral_in_range);
    CHECK(*std::min_element(counts.begin(), counts.end()) > 0);
    CHECK(chi_square(counts, double(n) / 10) < 35);  // 9 degrees of freedom
  }
  SECTION("ranges wider than 2^32 take two words per element") {
    Generator gen(37);
    const int64_t low = -(int64_t(1) << 40), high = int64_t(1) << 40;
    auto v = randint(low, high, {n}, gen).to_vector<int64_t>();
    CHECK(gen.offset == uint64_t(n) / 2);
    CHECK(*std::min_element(v.begin(), v.end()) >= low);
    CHECK(*std::max_element(v.begin(), v.end()) < high);
    std::vector<double> d(v.begin(), v.end());
    CHECK(std::fabs(mean_of(d)) < 0.01 * double(high));
    // The low bits vary too (multiply-shift on a 64-bit word, not a 32-bit one scaled up).
    CHECK(std::count_if(v.begin(), v.end(), [](int64_t x) { return (x & 1) != 0; }) > n / 3);
  }
  SECTION("the extreme ends of i64") {
    Generator gen(41);
    auto v = randint(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), {1000}, gen)
                 .to_vector<int64_t>();
    CHECK(std::count_if(v.begin(), v.end(), [](int64_t x) { return x < 0; }) > 400);
    CHECK(std::count_if(v.begin(), v.end(), [](int64_t x) { return x > 0; }) > 400);
  }
  SECTION("a range of one value") {
    Generator gen(1);
    auto v = randint(5, 6, {20}, gen, DType::i32).to_vector<int32_t>();
    CHECK(std::all_of(v.begin(), v.end(), [](int32_t x) { return x == 5; }));
  }
}

TEST_CASE("bernoulli draws ones with probability p in any dtype", "[random]") {
  const int64_t n = 100000;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8, DType::boolean}) {
    INFO(dtype_name(dt));
    Generator gen(43);
    Tensor t = bernoulli({n}, 0.3, gen, dt);
    CHECK(t.dtype() == dt);
    auto v = t.to_vector<double>();
    CHECK(std::all_of(v.begin(), v.end(), [](double x) { return x == 0 || x == 1; }));
    CHECK(std::fabs(mean_of(v) - 0.3) < 0.006);
  }
  Generator gen(47);
  auto zeros_ = bernoulli({1000}, 0.0, gen).to_vector<float>();
  auto ones_ = bernoulli({1000}, 1.0, gen).to_vector<float>();
  CHECK(std::all_of(zeros_.begin(), zeros_.end(), [](float x) { return x == 0; }));
  CHECK(std::all_of(ones_.begin(), ones_.end(), [](float x) { return x == 1; }));
}

TEST_CASE("random draws of empty and scalar shapes", "[random]") {
  Generator gen(3);
  Tensor e = rand({0, 4}, gen);
  CHECK(e.shape() == Shape{0, 4});
  CHECK(e.numel() == 0);
  CHECK(randn({4, 0}, gen, DType::f64).numel() == 0);
  CHECK(randint(0, 3, {0}, gen).numel() == 0);
  CHECK(bernoulli({0}, 0.5, gen).numel() == 0);
  CHECK(gen.offset == 0);
  Tensor s = rand({}, gen);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(gen.offset == 1);
  float x = s.item<float>();
  CHECK((x >= 0 && x < 1));
}

TEST_CASE("random draws reject bad arguments", "[random][errors]") {
  Generator gen(1);
  AXON_REQUIRE_THROWS_WITH(rand({3}, gen, DType::i64), "rand: dtype i64 is not a floating type");
  AXON_REQUIRE_THROWS_WITH(randn({3}, gen, DType::boolean), "randn: dtype bool is not a floating type");
  AXON_REQUIRE_THROWS_WITH(uniform({3}, 1, 0, gen), "uniform: needs finite bounds with low <= high, got [1, 0)");
  AXON_REQUIRE_THROWS_WITH(uniform({3}, 0, INFINITY, gen), "uniform: needs finite bounds");
  AXON_REQUIRE_THROWS_WITH(uniform({3}, 0, 1e6, gen, DType::f16), "uniform: bounds [0, 1000000) are out of range for f16");
  AXON_REQUIRE_THROWS_WITH(normal({3}, 0, -1, gen), "normal: needs a finite mean and a finite std >= 0");
  AXON_REQUIRE_THROWS_WITH(normal({3}, NAN, 1, gen), "normal: needs a finite mean");
  AXON_REQUIRE_THROWS_WITH(randint(5, 5, {3}, gen), "randint: empty range [5, 5)");
  AXON_REQUIRE_THROWS_WITH(randint(0, 300, {3}, gen, DType::u8), "randint: range [0, 300) does not fit u8");
  AXON_REQUIRE_THROWS_WITH(randint(-1, 3, {3}, gen, DType::u8), "does not fit u8");
  AXON_REQUIRE_THROWS_WITH(randint(0, (int64_t(1) << 31) + 1, {3}, gen, DType::i32), "does not fit i32");
  AXON_REQUIRE_THROWS_WITH(randint(0, (int64_t(1) << 24) + 2, {3}, gen, DType::f32), "does not fit f32");
  AXON_REQUIRE_THROWS_WITH(randint(0, 2, {3}, gen, DType::boolean), "randint: dtype bool is not supported");
  AXON_REQUIRE_THROWS_WITH(bernoulli({3}, 1.5, gen), "bernoulli: probability must be in [0, 1], got 1.5");
  AXON_REQUIRE_THROWS_WITH(bernoulli({3}, NAN, gen), "bernoulli: probability must be in [0, 1]");
  AXON_REQUIRE_THROWS_WITH(rand({2, -1}, gen), "rand: negative dimension in shape [2, -1]");
  // A rejected draw leaves the generator where it was.
  CHECK(gen.offset == 0);
}

TEST_CASE("CUDA draws equal CPU draws for the same seed", "[random][cuda]") {
  AXON_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  const Shape shape{1001, 3};  // not a multiple of 4: the tail block is partial
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    INFO(dtype_name(dt));
    Generator c(123), g(123);
    CHECK(rand(shape, c, dt).to_vector<double>() == rand(shape, g, dt, gpu).to_vector<double>());
    CHECK(uniform(shape, -3, 1.3, c, dt).to_vector<double>() == uniform(shape, -3, 1.3, g, dt, gpu).to_vector<double>());
    // Box-Muller uses log/sin/cos, which the host libm and CUDA may round differently by an ulp.
    test::check_close(normal(shape, 1, 2, g, dt, gpu).to(Device::cpu()), normal(shape, 1, 2, c, dt),
                      dt == DType::f64 ? test::Tol{1e-12, 1e-12} : dt == DType::f32 ? test::Tol{1e-6, 1e-6}
                                                                                   : test::tol_for(dt));
    CHECK(c.offset == g.offset);
  }
  for (DType dt : {DType::i64, DType::i32, DType::u8, DType::f32}) {
    INFO(dtype_name(dt));
    Generator c(5), g(5);
    CHECK(randint(0, 200, shape, c, dt).to_vector<double>() == randint(0, 200, shape, g, dt, gpu).to_vector<double>());
  }
  Generator c(9), g(9);
  CHECK(randint(-(int64_t(1) << 50), int64_t(1) << 50, shape, c).to_vector<int64_t>() ==
        randint(-(int64_t(1) << 50), int64_t(1) << 50, shape, g, DType::i64, gpu).to_vector<int64_t>());
  CHECK(bernoulli(shape, 0.4, c, DType::boolean).to_vector<bool>() ==
        bernoulli(shape, 0.4, g, DType::boolean, gpu).to_vector<bool>());
  CHECK(rand({0}, g, DType::f32, gpu).numel() == 0);
  // A large draw: many grid-stride iterations.
  Generator c2(77), g2(77);
  CHECK(rand({1 << 22}, c2).to_vector<float>() == rand({1 << 22}, g2, DType::f32, gpu).to_vector<float>());
}
