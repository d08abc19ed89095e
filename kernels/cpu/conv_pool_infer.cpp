// A first conv on one input channel with its 2x2 max pool, in one pass (conv_pool_infer.hpp).
#include "conv_pool_infer.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AXON_CONV_POOL_AVX2 1
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu_features.hpp"
#include "infer_parts.hpp"
#include "parallel.hpp"

namespace axon::kernels::cpu {

namespace {

// Below this many flops a part does not repay waking a thread (as dnnl_conv_infer.cpp's).
constexpr double kFlopsPerPart = 1.5e6;

// The max of two conv outputs, NaN winning (the pool's rule: a NaN kept, a NaN taken).
inline float nan_max(float m, float a) { return m == m && !(a <= m) ? a : m; }

struct Shape {
  int64_t kh, kw, o, in_h, in_w, pad_h, pad_w, wp, ph, pw;  // wp: the padded row's length
};

// The item's one channel with the conv's zero padding around it, so that every window reads inside.
void pad_item(const Shape& s, const ConvGeometry& c, const float* x, std::vector<float>& xp) {
  const int64_t hp = c.in[0] + c.pad_lo[0] + c.pad_hi[0];
  xp.assign(static_cast<size_t>(hp * s.wp), 0.0f);
  for (int64_t h = 0; h < s.in_h; ++h)
    std::memcpy(xp.data() + (h + s.pad_h) * s.wp + s.pad_w, x + h * s.in_w, sizeof(float) * static_cast<size_t>(s.in_w));
}

#ifdef AXON_CONV_POOL_AVX2
__attribute__((target("avx2,fma"))) inline __m256 nanmax8(__m256 m, __m256 a) {
  const __m256 take = _mm256_and_ps(_mm256_cmp_ps(m, m, _CMP_EQ_OQ), _mm256_cmp_ps(a, m, _CMP_NLE_UQ));
  return _mm256_blendv_ps(m, a, take);
}

// The pooled cell from its four conv outputs: their max, plus the bias, relu'd, stored.
__attribute__((target("avx2,fma"))) inline void finish8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, const float* bias,
                                                        bool relu, float* out) {
  __m256 m = nanmax8(nanmax8(nanmax8(a0, a1), a2), a3);
  if (bias) m = _mm256_add_ps(m, _mm256_loadu_ps(bias));
  if (relu) m = _mm256_blendv_ps(m, _mm256_setzero_ps(), _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_LT_OQ));
  _mm256_storeu_ps(out, m);
}

// Pooled rows [r0, r1) of one item from its padded input; AVX2 + FMA: a pooled cell's four conv
// outputs for 16 channels are 8 accumulators, each tap one weight load pair and four broadcasts.
__attribute__((target("avx2,fma"))) void rows_avx2(const Shape& s, bool relu, const float* xp, const float* w,
                                                   const float* b, float* y, int64_t r0, int64_t r1) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t py = r0; py < r1; ++py)
    for (int64_t px = 0; px < s.pw; ++px) {
      const float* base = xp + 2 * py * s.wp + 2 * px;
      float* out = y + (py * s.pw + px) * s.o;
      int64_t ob = 0;
      for (; ob + 16 <= s.o; ob += 16) {
        __m256 a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero;
        for (int64_t ky = 0; ky < s.kh; ++ky)
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const float* wt = w + (ky * s.kw + kx) * s.o + ob;
            const __m256 w0 = _mm256_loadu_ps(wt), w1 = _mm256_loadu_ps(wt + 8);
            const float* q = base + ky * s.wp + kx;
            __m256 v = _mm256_broadcast_ss(q);
            a00 = _mm256_fmadd_ps(v, w0, a00), a01 = _mm256_fmadd_ps(v, w1, a01);
            v = _mm256_broadcast_ss(q + 1);
            a10 = _mm256_fmadd_ps(v, w0, a10), a11 = _mm256_fmadd_ps(v, w1, a11);
            v = _mm256_broadcast_ss(q + s.wp);
            a20 = _mm256_fmadd_ps(v, w0, a20), a21 = _mm256_fmadd_ps(v, w1, a21);
            v = _mm256_broadcast_ss(q + s.wp + 1);
            a30 = _mm256_fmadd_ps(v, w0, a30), a31 = _mm256_fmadd_ps(v, w1, a31);
          }
        finish8(a00, a10, a20, a30, b ? b + ob : nullptr, relu, out + ob);
        finish8(a01, a11, a21, a31, b ? b + ob + 8 : nullptr, relu, out + ob + 8);
      }
      if (ob < s.o) {  // 8 channels left
        __m256 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (int64_t ky = 0; ky < s.kh; ++ky)
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const __m256 w0 = _mm256_loadu_ps(w + (ky * s.kw + kx) * s.o + ob);
            const float* q = base + ky * s.wp + kx;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(q), w0, a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + 1), w0, a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + s.wp), w0, a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + s.wp + 1), w0, a3);
          }
        finish8(a0, a1, a2, a3, b ? b + ob : nullptr, relu, out + ob);
      }
    }
}

#endif

// The same without AVX2 (CPUs that lack it), a channel at a time.
void rows_plain(const Shape& s, bool relu, const float* xp, const float* w, const float* b, float* y, int64_t r0,
                int64_t r1) {
  for (int64_t py = r0; py < r1; ++py)
    for (int64_t px = 0; px < s.pw; ++px)
      for (int64_t o = 0; o < s.o; ++o) {
        float m = 0.0f;
        for (int pos = 0; pos < 4; ++pos) {
          const float* base = xp + (2 * py + pos / 2) * s.wp + 2 * px + pos % 2;
          float a = 0.0f;
          for (int64_t ky = 0; ky < s.kh; ++ky)
            for (int64_t kx = 0; kx < s.kw; ++kx) a += base[ky * s.wp + kx] * w[(ky * s.kw + kx) * s.o + o];
          m = pos == 0 ? a : nan_max(m, a);
        }
        if (b) m += b[o];
        if (relu && m < 0.0f) m = 0.0f;
        y[(py * s.pw + px) * s.o + o] = m;
      }
}

}  // namespace

bool conv_pool_fits(const ConvGeometry& c, const PoolGeometry& p) {
  if (c.nd != 2 || c.channels != 1 || c.groups != 1 || c.out_channels % 8 != 0) return false;
  for (int d = 0; d < 2; ++d)
    if (c.stride[d] != 1 || c.k_dil[d] != 1 || c.in_dil[d] != 1 || c.pad_lo[d] < 0 || c.pad_hi[d] < 0) return false;
  if (p.n != c.batch || p.c != c.out_channels || p.in[0] != 1 || p.in[1] != c.out[0] || p.in[2] != c.out[1]) return false;
  for (int d = 1; d < 3; ++d)
    if (p.window[d] != 2 || p.stride[d] != 2 || p.dilation[d] != 1 || p.pad_lo[d] != 0 || p.out[d] != p.in[d] / 2)
      return false;
  return p.window[0] == 1 && p.stride[0] == 1 && p.out[0] == 1;
}

void conv_pool_forward(const ConvGeometry& c, const PoolGeometry& p, bool relu, const float* x, const float* w,
                       const float* b, float* y, int64_t n0, int64_t items, int64_t r0, int64_t r1) {
#ifdef AXON_CONV_POOL_AVX2
  const bool avx2 = avx2_kernels();
#endif
  const Shape s{c.kernel[0], c.kernel[1], c.out_channels, c.in[0], c.in[1], c.pad_lo[0], c.pad_lo[1],
                c.in[1] + c.pad_lo[1] + c.pad_hi[1], p.out[1], p.out[2]};
  thread_local std::vector<float> xp;
  for (int64_t n = n0; n < n0 + items; ++n) {
    pad_item(s, c, x + n * s.in_h * s.in_w, xp);
    float* out = y + n * s.ph * s.pw * s.o;
#ifdef AXON_CONV_POOL_AVX2
    if (avx2) {
      rows_avx2(s, relu, xp.data(), w, b, out, r0, r1);
      continue;
    }
#endif
    rows_plain(s, relu, xp.data(), w, b, out, r0, r1);
  }
}

void conv_pool_run(const ConvGeometry& c, const PoolGeometry& p, bool relu, const float* x, const float* w,
                   const float* b, float* y, int64_t n0, int64_t items) {
  const int64_t rows = items * p.out[1];
  const double flops = 8.0 * double(rows * p.out[2]) * double(c.out_channels * c.kernel[0] * c.kernel[1]);
  const int parts = infer_parts(0, flops, kFlopsPerPart);
  parallel_for(rows, (rows + parts - 1) / parts, [&](int64_t q0, int64_t q1) {
    // Whole items, then the rows of a part-item at either end.
    while (q0 < q1) {
      const int64_t n = q0 / p.out[1], r0 = q0 % p.out[1], r1 = std::min(p.out[1], r0 + (q1 - q0));
      conv_pool_forward(c, p, relu, x, w, b, y, n0 + n, 1, r0, r1);
      q0 += r1 - r0;
    }
  });
}

}  // namespace axon::kernels::cpu
