#pragma once
// Element types. A leaf header: kernels/ may include it (it knows no Tensor).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#define AXON_HD __host__ __device__ __forceinline__
#else
#define AXON_HD inline
#endif

namespace axon {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, u8, boolean };
inline constexpr int kNumDTypes = 8;

// Storage-only 16-bit floats: arithmetic happens in float. Layout-compatible with CUDA's
// __nv_bfloat16 and __half, so kernels reinterpret the pointers.
//
// Conversions give the same bits on the host and in device code. The host rounds in software
// (round to nearest even, overflow to infinity, subnormals kept); device code uses the hardware's
// cvt.rn.{bf16,f16}.f32 and cvt.f32.f16, which are IEEE round-to-nearest-even conversions that
// keep subnormals (the inline asm of __float2half_rn and friends has no .ftz), so every non-NaN
// value converts identically: tests/test_dtype_convert.cpp pins the host path to an independent
// nearest-even reference; the host path also matched CUDA 13's host emulation of these
// instructions (__float2half_rn, __float2bfloat16_rn, __half2float) on all 2^32 - 2^24 non-NaN
// floats; and the [cuda] test "CUDA 16-bit conversions give the host's bits" compares the device
// with the host bit for bit. The hardware turns every NaN into the canonical 0x7fff / 0x7fffffff; device
// code instead takes the host's path for a NaN (f16: the quiet NaN of its sign; bf16 and f16 to
// float: sign and leading payload kept), which costs a compare and a select.
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  AXON_HD explicit bf16(float f) {
#if defined(__CUDA_ARCH__)
    bits = f != f ? static_cast<uint16_t>((__float_as_uint(f) >> 16) | 0x40u)
                  : __bfloat16_as_ushort(__float2bfloat16_rn(f));
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN stays a (quiet) NaN
      bits = static_cast<uint16_t>((u >> 16) | 0x40u);
    } else {  // round to nearest even
      bits = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
#endif
  }
  // Exact: the bf16 bits are the top half of the float's (what __bfloat162float does too).
  AXON_HD operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

struct f16 {
  uint16_t bits = 0;
  f16() = default;
  AXON_HD explicit f16(float f) { bits = from_float(f); }
  AXON_HD operator float() const { return to_float(bits); }

  AXON_HD static float to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
    if ((h & 0x7fffu) <= 0x7c00u) return __half2float(__ushort_as_half(h));  // not NaN: exact
#endif
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
      if (man == 0) {
        u = sign;
      } else {  // subnormal: normalise
        exp = 127 - 15 + 1;
        while ((man & 0x400u) == 0) { man <<= 1; --exp; }
        man &= 0x3ffu;
        u = sign | (exp << 23) | (man << 13);
      }
    } else if (exp == 0x1f) {
      u = sign | 0x7f800000u | (man << 13);
    } else {
      u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  AXON_HD static uint16_t from_float(float f) {
#if defined(__CUDA_ARCH__)
    if (f == f) return __half_as_ushort(__float2half_rn(f));
#endif
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (a < 0x38800000u) {  // subnormal or zero in half
      if (a < 0x33000000u) return static_cast<uint16_t>(sign);
      uint32_t exp = a >> 23, man = (a & 0x7fffffu) | 0x800000u;
      uint32_t shift = 126 - exp;  // value / 2^-24 = man * 2^(exp - 126)
      uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
      if (rem > half || (rem == half && (q & 1u))) ++q;
      return static_cast<uint16_t>(sign | q);
    }
    uint32_t r = a - 0x38000000u;  // rebias exponent 127 -> 15
    uint32_t q = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
};

AXON_HD constexpr std::size_t itemsize(DType t) {
  switch (t) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::bf16: case DType::f16: return 2;
    default: return 1;
  }
}
constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
constexpr bool is_integral(DType t, bool include_bool = false) {
  return t == DType::i32 || t == DType::i64 || t == DType::u8 || (include_bool && t == DType::boolean);
}
const char* dtype_name(DType t);  // "f32", "bf16", "bool", ...
DType dtype_from_name(const std::string& name);
// NumPy/PyTorch-style promotion: bool < u8 < i32 < i64 < floats; f16 with bf16 gives f32.
DType promote_types(DType a, DType b);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<f16> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::boolean; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

}  // namespace axon

// Calls F.template operator()<T>() with the C++ type of a runtime dtype. Used by kernels.
#define AXON_DISPATCH_CASE(DT, T, ...) case ::axon::DType::DT: { using scalar_t = T; __VA_ARGS__; } break;
#define AXON_DISPATCH_FLOAT(dt, opname, ...)                                                 \
  switch (dt) {                                                                              \
    AXON_DISPATCH_CASE(f32, float, __VA_ARGS__)                                              \
    AXON_DISPATCH_CASE(f64, double, __VA_ARGS__)                                             \
    AXON_DISPATCH_CASE(bf16, ::axon::bf16, __VA_ARGS__)                                      \
    AXON_DISPATCH_CASE(f16, ::axon::f16, __VA_ARGS__)                                        \
    default: ::axon::detail::unsupported_dtype(opname, dt);                                  \
  }
#define AXON_DISPATCH_ALL(dt, opname, ...)                                                   \
  switch (dt) {                                                                              \
    AXON_DISPATCH_CASE(f32, float, __VA_ARGS__)                                              \
    AXON_DISPATCH_CASE(f64, double, __VA_ARGS__)                                             \
    AXON_DISPATCH_CASE(bf16, ::axon::bf16, __VA_ARGS__)                                      \
    AXON_DISPATCH_CASE(f16, ::axon::f16, __VA_ARGS__)                                        \
    AXON_DISPATCH_CASE(i32, int32_t, __VA_ARGS__)                                            \
    AXON_DISPATCH_CASE(i64, int64_t, __VA_ARGS__)                                            \
    AXON_DISPATCH_CASE(u8, uint8_t, __VA_ARGS__)                                             \
    AXON_DISPATCH_CASE(boolean, bool, __VA_ARGS__)                                           \
    default: ::axon::detail::unsupported_dtype(opname, dt);                                  \
  }

namespace axon::detail {
[[noreturn]] void unsupported_dtype(const char* op, DType dt);
}
