// The 16-bit float conversions (axon::bf16, axon::f16) against an independent round-to-nearest-even
// reference. Device code converts with the hardware instructions (cvt.rn.bf16.f32, cvt.rn.f16.f32,
// cvt.f32.f16: IEEE round to nearest even, subnormals kept) and keeps the host's NaN; these tests
// pin the host path to IEEE, so the two agree bit for bit on every non-NaN value (dtype.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "harness.hpp"

using namespace axon;

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The exact value of a finite non-negative 16-bit pattern (sign clear), from its fields in double;
// the infinity pattern stands for 2^(emax+1), the value IEEE rounding treats it as.
double f16_value(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return 65536.0;
  return e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
}
double bf16_value(uint16_t h) {
  int e = (h >> 7) & 0xff, m = h & 0x7f;
  if (e == 0xff) return std::ldexp(1.0, 128);
  return e == 0 ? std::ldexp(m, -133) : std::ldexp(128 + m, e - 134);
}

// Nearest-even rounding of a finite float onto the sorted non-negative patterns 0 .. inf.
template <class Value>
uint16_t round_ref(float f, uint16_t inf_bits, Value value) {
  double a = std::fabs(double(f));
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (a >= value(inf_bits)) return sign | inf_bits;
  // Largest pattern with value <= a (values increase with the pattern).
  uint16_t lo = 0, hi = inf_bits;
  while (hi - lo > 1) {
    uint16_t mid = uint16_t((lo + hi) / 2);
    (value(mid) <= a ? lo : hi) = mid;
  }
  double dl = a - value(lo), dh = value(hi) - a;
  uint16_t r = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
  return sign | r;
}

// A few hundred thousand floats: every 16-bit value, the halfway points between neighbours and the
// floats either side of them (both signs), and random bit patterns (every exponent, subnormals,
// infinities and NaNs included).
std::vector<float> probe_values(uint16_t inf_bits, double (*value)(uint16_t), int random_count) {
  std::vector<float> v;
  for (uint16_t h = 0; h < inf_bits; ++h) {
    double mid = (value(h) + value(uint16_t(h + 1))) / 2;
    float m = float(mid);  // exact: a halfway point of 16-bit values is a float
    for (float f : {float(value(h)), m, std::nextafter(m, 0.0f), std::nextafter(m, INFINITY)}) {
      v.push_back(f);
      v.push_back(-f);
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < random_count; ++i) v.push_back(float_of(rng()));
  for (float f : {0.0f, -0.0f, INFINITY, -INFINITY, 65504.0f, 65519.99f, 65520.0f, 3.3895314e38f,
                  std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(), 1e-45f})
    v.push_back(f);
  return v;
}

}  // namespace

TEST_CASE("f16 from float rounds to nearest even, with overflow, subnormals and NaN", "[dtype]") {
  auto values = probe_values(0x7c00, f16_value, 200000);
  int64_t checked = 0;
  for (float f : values) {
    uint16_t got = f16(f).bits;
    if (std::isnan(f)) {
      INFO("NaN bits " << bits_of(f));
      CHECK((got & 0x7fff) > 0x7c00);                          // a NaN
      CHECK((got & 0x8000) == ((bits_of(f) >> 16) & 0x8000));  // sign kept
      continue;
    }
    uint16_t want = round_ref(f, 0x7c00, f16_value);
    if (got != want) {
      INFO("float bits " << bits_of(f) << " value " << f);
      CHECK(got == want);
    }
    ++checked;
  }
  CHECK(checked > 300000);
}

TEST_CASE("f16 to float is exact for every pattern", "[dtype]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    f16 x;
    x.bits = uint16_t(h);
    float got = float(x);
    uint16_t mag = h & 0x7fff;
    INFO("f16 bits " << h);
    CHECK(std::signbit(got) == ((h & 0x8000) != 0));
    if (mag > 0x7c00) {
      CHECK(std::isnan(got));
      CHECK(f16(got).bits == ((h & 0x8000) | 0x7e00));  // back as the quiet NaN of that sign
    } else if (mag == 0x7c00) {
      CHECK(std::isinf(got));
    } else {
      CHECK(double(std::fabs(got)) == f16_value(mag));
      CHECK(f16(got).bits == h);  // round trip
    }
  }
}

TEST_CASE("bf16 from float rounds to nearest even; to float is exact", "[dtype]") {
  auto values = probe_values(0x7f80, bf16_value, 200000);
  int64_t checked = 0;
  for (float f : values) {
    uint16_t got = bf16(f).bits;
    if (std::isnan(f)) {
      CHECK(got == uint16_t((bits_of(f) >> 16) | 0x40));  // sign and payload's top kept, quiet
      continue;
    }
    uint16_t want = round_ref(f, 0x7f80, bf16_value);
    if (got != want) {
      INFO("float bits " << bits_of(f) << " value " << f);
      CHECK(got == want);
    }
    ++checked;
  }
  CHECK(checked > 300000);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    bf16 x;
    x.bits = uint16_t(h);
    CHECK(bits_of(float(x)) == h << 16);
  }
}

TEST_CASE("casting floats to integer types wraps through int64 as PyTorch does; NaN and huge values are defined",
          "[dtype]") {
  const std::vector<double> v{-2.0, 300.0, 3.7, -3.7, std::nan(""), 1e30, -1e30, 255.0};
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (DType from : {DType::f32, DType::f64, DType::bf16}) {
    INFO(dtype_name(from));
    const Tensor x = from_vector(v).to(from);
    const std::vector<double> back = x.to_vector<double>();  // bf16 rounds 300 and 3.7
    std::vector<int64_t> want64;
    for (double d : back) want64.push_back(std::isnan(d) || std::abs(d) >= 9.2e18 ? kMin : static_cast<int64_t>(d));
    std::vector<int64_t> want_u8, want_i32;
    for (int64_t w : want64) {
      want_u8.push_back(static_cast<uint8_t>(w));
      want_i32.push_back(static_cast<int32_t>(w));
    }
    CHECK(x.to(DType::i64).to_vector<int64_t>() == want64);
    CHECK(x.to(DType::u8).to_vector<int64_t>() == want_u8);
    CHECK(x.to(DType::i32).to_vector<int64_t>() == want_i32);
    if (from == DType::f64) CHECK(want_u8 == std::vector<int64_t>{254, 44, 3, 253, 0, 0, 0, 255});
    if (test::has_cuda()) {
      const Tensor xc = x.to(Device::cuda());
      CHECK(xc.to(DType::u8).to(Device::cpu()).to_vector<int64_t>() == want_u8);
      CHECK(xc.to(DType::i32).to(Device::cpu()).to_vector<int64_t>() == want_i32);
    }
  }
  CHECK(full({2}, -1.0, DType::u8).to_vector<int64_t>() == std::vector<int64_t>{255, 255});
}
