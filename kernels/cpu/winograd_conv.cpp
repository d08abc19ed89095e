// Winograd F(2x2, 3x3) convolution for CPU inference (winograd_conv.hpp).
// The vectors here never cross a call (always inlined): GCC's note that passing them by value
// changes the ABI without AVX is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <axon/kernels/winograd_conv.hpp>

#include <algorithm>
#include <string>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <axon/error.hpp>

#include "gemm_dense.hpp"
#include "infer_parts.hpp"
#include "parallel.hpp"
#include "vmath.hpp"

namespace axon::kernels::cpu {

namespace {

// Eight floats (one AVX2 register in the x86-64-v3 clone), loaded and stored at any float's address.
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define AXON_WINO_INLINE inline __attribute__((always_inline))

// Each transform is written once over T = v8 (eight channels) or float (the channels after the last
// full group of eight), so that both run the same arithmetic.
template <class T>
AXON_WINO_INLINE T load(const float* p) {
  if constexpr (sizeof(T) == sizeof(float)) return *p;
  else return *reinterpret_cast<const v8u*>(p);
}
template <class T>
AXON_WINO_INLINE void store(float* p, const T& v) {
  if constexpr (sizeof(T) == sizeof(float)) *p = v;
  else *reinterpret_cast<v8u*>(p) = v;
}
template <class T>
AXON_WINO_INLINE T relu(const T& v) {
  if constexpr (sizeof(T) == sizeof(float)) return v > 0.0f ? v : 0.0f;
  else return v > v8{} ? v : v8{};
}

// V = B^T d B for one 4x4 tile d (rows rs floats apart, columns cs), element e = 4 i + j of V to
// v + e * ve. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <class T>
AXON_WINO_INLINE void input_tile(const float* d, int64_t rs, int64_t cs, float* v, int64_t ve) {
  T t[4][4];
  for (int j = 0; j < 4; ++j) {
    const T d0 = load<T>(d + j * cs), d1 = load<T>(d + rs + j * cs), d2 = load<T>(d + 2 * rs + j * cs),
            d3 = load<T>(d + 3 * rs + j * cs);
    t[0][j] = d0 - d2;
    t[1][j] = d1 + d2;
    t[2][j] = d2 - d1;
    t[3][j] = d1 - d3;
  }
  for (int i = 0; i < 4; ++i) {
    float* row = v + 4 * i * ve;
    store<T>(row, t[i][0] - t[i][2]);
    store<T>(row + ve, t[i][1] + t[i][2]);
    store<T>(row + 2 * ve, t[i][2] - t[i][1]);
    store<T>(row + 3 * ve, t[i][1] - t[i][3]);
  }
}

// y = A^T M A (+ b, relu) for one tile: element e of M at m + e * me; the 2x2 outputs (rows ys
// floats apart, columns cs) of which `rows` x `cols` lie inside the output. A^T = [1 1 1 0; 0 1 -1 -1].
template <class T>
AXON_WINO_INLINE void output_tile(const float* m, int64_t me, const float* b, bool act, float* y, int64_t ys,
                                  int64_t cs, int rows, int cols) {
  T r[2][4];
  for (int j = 0; j < 4; ++j) {
    const T m0 = load<T>(m + j * me), m1 = load<T>(m + (4 + j) * me), m2 = load<T>(m + (8 + j) * me),
            m3 = load<T>(m + (12 + j) * me);
    r[0][j] = m0 + m1 + m2;
    r[1][j] = m1 - m2 - m3;
  }
  const T bias = b != nullptr ? load<T>(b) : T{};
  for (int i = 0; i < rows; ++i) {
    T o[2] = {r[i][0] + r[i][1] + r[i][2] + bias, r[i][1] - r[i][2] - r[i][3] + bias};
    for (int j = 0; j < cols; ++j) store<T>(y + i * ys + j * cs, act ? relu<T>(o[j]) : o[j]);
  }
}

// Where a tile's input and output lie.
struct TilePos {
  int64_t item, row, col;  // output row / column of its first cell
};
AXON_WINO_INLINE TilePos tile_pos(const WinogradShape& s, int64_t t) {
  const int64_t per_row = s.tiles_w(), per_item = s.tiles_h() * per_row;
  const int64_t item = t / per_item, r = t % per_item;
  return {item, 2 * (r / per_row), 2 * (r % per_row)};
}

AXON_VM_CLONES void block(const WinogradShape& s, const float* x, const float* u, const float* b, bool act,
                          float* y, int64_t t0, int64_t nt, int64_t bs, float* scratch) {
  const int64_t C = s.channels, K = s.out_channels, H = s.in_h, W = s.in_w;
  const int64_t c8 = C / 8 * 8, k8 = K / 8 * 8;
  float* V = scratch;                   // [16][bs][C]
  float* M = V + 16 * bs * C;           // [16][bs][K]
  float* patch = M + 16 * bs * K;       // a border tile's 4x4 x C input, zero where it is padding
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    const int64_t r0 = p.row - s.pad_top, c0 = p.col - s.pad_left;
    const float* d = x + ((p.item * H + r0) * W + c0) * C;
    int64_t rs = W * C;
    if (r0 < 0 || c0 < 0 || r0 + 4 > H || c0 + 4 > W) {
      std::memset(patch, 0, sizeof(float) * size_t(16 * C));
      for (int64_t i = std::max<int64_t>(0, -r0); i < std::min<int64_t>(4, H - r0); ++i) {
        const int64_t j0 = std::max<int64_t>(0, -c0), j1 = std::min<int64_t>(4, W - c0);
        if (j1 > j0)
          std::memcpy(patch + (4 * i + j0) * C, x + ((p.item * H + r0 + i) * W + c0 + j0) * C,
                      sizeof(float) * size_t((j1 - j0) * C));
      }
      d = patch;
      rs = 4 * C;
    }
    float* v = V + t * C;
    int64_t c = 0;
    for (; c < c8; c += 8) input_tile<v8>(d + c, rs, C, v + c, bs * C);
    for (; c < C; ++c) input_tile<float>(d + c, rs, C, v + c, bs * C);
  }
  for (int e = 0; e < 16; ++e)
    dense_block(DenseAct::none, 0, nt, 0, K, C, K, V + e * bs * C, u + e * C * K, nullptr, M + e * bs * K);
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    float* o = y + ((p.item * s.out_h + p.row) * s.out_w + p.col) * K;
    const int rows = static_cast<int>(std::min<int64_t>(2, s.out_h - p.row));
    const int cols = static_cast<int>(std::min<int64_t>(2, s.out_w - p.col));
    const float* m = M + t * K;
    int64_t k = 0;
    for (; k < k8; k += 8)
      output_tile<v8>(m + k, bs * K, b ? b + k : nullptr, act, o + k, s.out_w * K, K, rows, cols);
    for (; k < K; ++k) output_tile<float>(m + k, bs * K, b ? b + k : nullptr, act, o + k, s.out_w * K, K, rows, cols);
  }
}

std::string describe(const ConvGeometry& g) {
  std::string d = fmt::format("{}-d conv, kernel", g.nd);
  for (int i = 0; i < g.nd; ++i) d += fmt::format("{}{}", i ? "x" : " ", g.kernel[i]);
  d += ", stride";
  for (int i = 0; i < g.nd; ++i) d += fmt::format("{}{}", i ? "x" : " ", g.stride[i]);
  d += ", dilation";
  for (int i = 0; i < g.nd; ++i) d += fmt::format("{}{}/{}", i ? " " : " ", g.in_dil[i], g.k_dil[i]);
  d += ", padding";
  for (int i = 0; i < g.nd; ++i) d += fmt::format("{}{}/{}", i ? " " : " ", g.pad_lo[i], g.pad_hi[i]);
  return d + fmt::format(", groups {}, batch {}, channels {} -> {}", g.groups, g.batch, g.channels, g.out_channels);
}

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  if (g.nd != 2 || g.groups != 1 || g.batch < 1 || g.channels < 1 || g.out_channels < 1) return false;
  for (int d = 0; d < 2; ++d)
    if (g.kernel[d] != 3 || g.stride[d] != 1 || g.in_dil[d] != 1 || g.k_dil[d] != 1 || g.pad_lo[d] < 0 ||
        g.pad_hi[d] < 0 || g.in[d] < 1 || g.out[d] < 1 || g.out[d] != g.in[d] + g.pad_lo[d] + g.pad_hi[d] - 2)
      return false;
  return true;
}

WinogradShape winograd_shape(const ConvGeometry& g) {
  AXON_CHECK(winograd_applies(g), "winograd_conv",
             "the Winograd kernel runs 2-d 3x3 convs with stride 1, no dilation, one group and padding >= 0, "
             "got a {}",
             describe(g));
  WinogradShape s;
  s.batch = g.batch, s.in_h = g.in[0], s.in_w = g.in[1], s.channels = g.channels, s.out_channels = g.out_channels;
  s.pad_top = g.pad_lo[0], s.pad_left = g.pad_lo[1], s.out_h = g.out[0], s.out_w = g.out[1];
  return s;
}

void winograd_transform_kernel(const float* w, int64_t channels, int64_t out_channels, float* u) {
  AXON_CHECK(channels > 0 && out_channels > 0, "winograd_conv", "kernel of 3x3 x {} x {}: channels must be > 0",
             channels, out_channels);
  const int64_t ck = channels * out_channels;
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]: U = G g G^T.
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (int64_t i = 0; i < ck; ++i) {
    double g[3][3], t[4][3];
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 3; ++c) g[a][c] = w[(3 * a + c) * ck + i];
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) t[r][c] = G[r][0] * g[0][c] + G[r][1] * g[1][c] + G[r][2] * g[2][c];
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c)
        u[(4 * r + c) * ck + i] = static_cast<float>(t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2]);
  }
}

int64_t winograd_scratch_floats(const WinogradShape& s, int64_t block) {
  return 16 * block * (s.channels + s.out_channels) + 16 * s.channels;
}

void winograd_conv_tiles(const WinogradShape& s, const float* x, const float* u, const float* b, bool relu, float* y,
                         int64_t t0, int64_t t1, int64_t bs, float* scratch) {
  AXON_CHECK(bs > 0 && t0 >= 0 && t1 <= s.tiles() && s.channels > 0 && s.out_channels > 0, "winograd_conv",
             "tiles [{}, {}) of {} in blocks of {} ({} -> {} channels)", t0, t1, s.tiles(), bs, s.channels,
             s.out_channels);
  for (int64_t t = t0; t < t1; t += bs) block(s, x, u, b, relu, y, t, std::min(bs, t1 - t), bs, scratch);
}

int64_t winograd_block(const WinogradShape& s) {
  if (const char* e = std::getenv("AXON_CPU_WINOGRAD_BLOCK"); e && std::atoi(e) > 0) return std::atoi(e);
  constexpr int64_t kBudget = int64_t(256) << 10;  // bytes: half a core's L2
  const int64_t u = 16 * s.channels * s.out_channels * 4, per_tile = 16 * (s.channels + s.out_channels) * 4;
  return std::clamp<int64_t>((kBudget - std::min(u, kBudget / 2)) / per_tile, 6, 96) / 6 * 6;
}

WinogradMode winograd_mode() {
  const char* e = std::getenv("AXON_CPU_WINOGRAD");
  if (e && std::strcmp(e, "on") == 0) return WinogradMode::on;
  if (e && std::strcmp(e, "off") == 0) return WinogradMode::off;
  return WinogradMode::automatic;
}

std::unique_ptr<WinogradConv> WinogradConv::make(const ConvGeometry& g, bool relu, int parts) {
  const WinogradShape s = winograd_shape(g);
  // The flops the tiles' 16 GEMMs take (the transforms add little for 8 or more channels).
  const double flops = 2.0 * 16 * double(s.tiles()) * double(s.channels) * double(s.out_channels);
  return std::make_unique<WinogradConv>(s, relu, infer_parts(parts, flops, 1.5e6));
}

WinogradConv::WinogradConv(const WinogradShape& s, bool relu, int parts)
    : s_(s), relu_(relu), parts_(std::max(parts, 1)) {
  const int64_t tiles = s.tiles();
  // A multiple of `parts` blocks of about the same size, so that the parts are even (49 tiles in
  // 2 parts: 4 blocks of 13 or fewer, not 18 + 18 + 13 split 36 / 13).
  const int64_t per_part = (tiles + parts_ - 1) / parts_;
  const int64_t blocks = parts_ * ((per_part + winograd_block(s) - 1) / winograd_block(s));
  block_ = std::max<int64_t>(1, (tiles + blocks - 1) / blocks);
  const int64_t ck = s.channels * s.out_channels;
  u_ = std::make_unique<float[]>(size_t(16 * ck));
  seen_ = std::make_unique<float[]>(size_t(9 * ck));
}

void WinogradConv::run(const float* x, const float* w, const float* b, float* y) {
  // The kernel is transformed again when its values differ from the last call's (a weight changed
  // in place counts), as the oneDNN path reorders it.
  const size_t wn = size_t(9 * s_.channels * s_.out_channels);
  if (!transformed_ || std::memcmp(seen_.get(), w, wn * sizeof(float)) != 0) {
    std::memcpy(seen_.get(), w, wn * sizeof(float));
    winograd_transform_kernel(w, s_.channels, s_.out_channels, u_.get());
    transformed_ = true;
  }
  const int64_t tiles = s_.tiles(), blocks = (tiles + block_ - 1) / block_;
  const int64_t grain = (blocks + parts_ - 1) / parts_;
  const float* u = u_.get();
  parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> scratch;
    const auto need = size_t(winograd_scratch_floats(s_, block_));
    if (scratch.size() < need) scratch.resize(need);
    winograd_conv_tiles(s_, x, u, b, relu_, y, b0 * block_, std::min(tiles, b1 * block_), block_, scratch.data());
  });
}

}  // namespace axon::kernels::cpu
