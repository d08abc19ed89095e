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

// The 1-D transforms of F(m, 3), m = 2 or 4 outputs from n = m + 2 inputs (points 0, 1, -1 and,
// for m = 4, 2, -2): in(d) = B^T d, out(q) = A^T q.
//   F(2,3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1]
//   F(4,3): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
//                  0 4 0 -5 0 1],  A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
template <int Mo, class T>
AXON_WINO_INLINE void in_1d(const T* d, T* t) {
  if constexpr (Mo == 2) {
    t[0] = d[0] - d[2];
    t[1] = d[1] + d[2];
    t[2] = d[2] - d[1];
    t[3] = d[1] - d[3];
  } else {
    const T a = d[4] - 4 * d[2], c = d[3] - 4 * d[1], e = d[4] - d[2], f = 2 * (d[3] - d[1]);
    t[0] = 4 * d[0] - 5 * d[2] + d[4];
    t[1] = a + c;
    t[2] = a - c;
    t[3] = e + f;
    t[4] = e - f;
    t[5] = 4 * d[1] - 5 * d[3] + d[5];
  }
}
template <int Mo, class T>
AXON_WINO_INLINE void out_1d(const T* q, T* o) {
  if constexpr (Mo == 2) {
    o[0] = q[0] + q[1] + q[2];
    o[1] = q[1] - q[2] - q[3];
  } else {
    const T s12 = q[1] + q[2], d12 = q[1] - q[2], s34 = q[3] + q[4], d34 = q[3] - q[4];
    o[0] = q[0] + s12 + s34;
    o[1] = d12 + 2 * d34;
    o[2] = s12 + 4 * s34;
    o[3] = d12 + 8 * d34 + q[5];
  }
}

// The cells of a tile that lie inside the input (the others are padding, read as zeros): rows
// [i0, i1), columns [j0, j1) of the n x n tile.
struct Inside {
  int i0, i1, j0, j1;
};

// V = B^T d B for one n x n tile whose cell (i, j) is x[at + i rs + j cs] (at may lie before x when
// the tile starts in the padding: only the Inside cells are read), element e = n i + j of V to
// v + e * ve. Border tiles read their padding as zeros here rather than from a zeroed copy of the
// tile (memset + memcpy: 8% of W2's second conv, about what the tests here cost instead).
template <int Mo, bool Border, class T>
AXON_WINO_INLINE void input_tile(const float* x, int64_t at, int64_t rs, int64_t cs, Inside in, float* v,
                                 int64_t ve) {
  constexpr int N = Mo + 2;
  T t[N][N];  // t[i][j]: row i of B^T d, column j
  for (int j = 0; j < N; ++j) {
    T col[N], tc[N];
    for (int i = 0; i < N; ++i)
      col[i] = !Border || (i >= in.i0 && i < in.i1 && j >= in.j0 && j < in.j1) ? load<T>(x + (at + i * rs + j * cs))
                                                                             : T{};
    in_1d<Mo>(col, tc);
    for (int i = 0; i < N; ++i) t[i][j] = tc[i];
  }
  for (int i = 0; i < N; ++i) {
    T r[N];
    in_1d<Mo>(t[i], r);
    for (int j = 0; j < N; ++j) store<T>(v + (N * i + j) * ve, r[j]);
  }
}

// y = A^T M A (+ b, relu) for one tile: element e of M at m + e * me; the m x m outputs (rows ys
// floats apart, columns cs) of which `rows` x `cols` lie inside the output.
template <int Mo, class T>
AXON_WINO_INLINE void output_tile(const float* m, int64_t me, const float* b, bool act, float* y, int64_t ys,
                                  int64_t cs, int rows, int cols) {
  constexpr int N = Mo + 2;
  T r[Mo][N];  // r[i][j]: row i of A^T M, column j
  for (int j = 0; j < N; ++j) {
    T col[N], rc[Mo];
    for (int i = 0; i < N; ++i) col[i] = load<T>(m + (N * i + j) * me);
    out_1d<Mo>(col, rc);
    for (int i = 0; i < Mo; ++i) r[i][j] = rc[i];
  }
  const T bias = b != nullptr ? load<T>(b) : T{};
  for (int i = 0; i < rows; ++i) {
    T o[Mo];
    out_1d<Mo>(r[i], o);
    for (int j = 0; j < cols; ++j) store<T>(y + i * ys + j * cs, act ? relu<T>(o[j] + bias) : o[j] + bias);
  }
}

// Where a tile's input and output lie.
struct TilePos {
  int64_t item, row, col;  // output row / column of its first cell
};
AXON_WINO_INLINE TilePos tile_pos(const WinogradShape& s, int64_t t) {
  const int64_t per_row = s.tiles_w(), per_item = s.tiles_h() * per_row;
  const int64_t item = t / per_item, r = t % per_item;
  return {item, s.tile * (r / per_row), s.tile * (r % per_row)};
}

template <int Mo>
AXON_VM_CLONES void block(const WinogradShape& s, const float* x, const float* u, const float* b, bool act,
                          float* y, int64_t t0, int64_t nt, int64_t bs, float* scratch) {
  constexpr int N = Mo + 2, E = N * N;
  const int64_t C = s.channels, K = s.out_channels, H = s.in_h, W = s.in_w;
  const int64_t c8 = C / 8 * 8, k8 = K / 8 * 8;
  float* V = scratch;         // [E][bs][C]
  float* M = V + E * bs * C;  // [E][bs][K]
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    const int64_t r0 = p.row - s.pad_top, c0 = p.col - s.pad_left;
    const int64_t at = ((p.item * H + r0) * W + c0) * C, rs = W * C;
    const Inside in{static_cast<int>(std::clamp<int64_t>(-r0, 0, N)), static_cast<int>(std::clamp<int64_t>(H - r0, 0, N)),
                    static_cast<int>(std::clamp<int64_t>(-c0, 0, N)), static_cast<int>(std::clamp<int64_t>(W - c0, 0, N))};
    float* v = V + t * C;
    int64_t c = 0;
    if (in.i0 == 0 && in.i1 == N && in.j0 == 0 && in.j1 == N) {
      for (; c < c8; c += 8) input_tile<Mo, false, v8>(x, at + c, rs, C, in, v + c, bs * C);
      for (; c < C; ++c) input_tile<Mo, false, float>(x, at + c, rs, C, in, v + c, bs * C);
    } else {
      for (; c < c8; c += 8) input_tile<Mo, true, v8>(x, at + c, rs, C, in, v + c, bs * C);
      for (; c < C; ++c) input_tile<Mo, true, float>(x, at + c, rs, C, in, v + c, bs * C);
    }
  }
  for (int e = 0; e < E; ++e)
    dense_block(DenseAct::none, 0, nt, 0, K, C, K, V + e * bs * C, u + e * C * K, nullptr, M + e * bs * K);
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    float* o = y + ((p.item * s.out_h + p.row) * s.out_w + p.col) * K;
    const int rows = static_cast<int>(std::min<int64_t>(Mo, s.out_h - p.row));
    const int cols = static_cast<int>(std::min<int64_t>(Mo, s.out_w - p.col));
    const float* m = M + t * K;
    int64_t k = 0;
    for (; k < k8; k += 8)
      output_tile<Mo, v8>(m + k, bs * K, b ? b + k : nullptr, act, o + k, s.out_w * K, K, rows, cols);
    for (; k < K; ++k)
      output_tile<Mo, float>(m + k, bs * K, b ? b + k : nullptr, act, o + k, s.out_w * K, K, rows, cols);
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

// F(2x2, 3x3): in the whole CNN's predict (chunks of 5 items, quiet machine) it beat F(4x4, 3x3) at
// batch 64 on one and two threads (4.33 against 5.09 ms, 2.25 against 2.66 ms, best of 4) and at
// batch 1 on two threads (59-69 against 115-135 us: W2's 14x14 output has 16 4x4 tiles, too few to
// split into even blocks), although the conv alone timed 11-18% faster with F(4x4) on a busy machine;
// and its error is a tenth of F(4x4)'s.
int winograd_default_tile() { return 2; }

WinogradShape winograd_shape(const ConvGeometry& g, int tile) {
  if (tile == 0) {
    const char* e = std::getenv("AXON_CPU_WINOGRAD_TILE");
    tile = e ? std::atoi(e) : winograd_default_tile();
  }
  AXON_CHECK(tile == 2 || tile == 4, "winograd_conv", "output tiles of {}x{}: the kernel has 2x2 and 4x4", tile, tile);
  AXON_CHECK(winograd_applies(g), "winograd_conv",
             "the Winograd kernel runs 2-d 3x3 convs with stride 1, no dilation, one group and padding >= 0, "
             "got a {}",
             describe(g));
  WinogradShape s;
  s.batch = g.batch, s.in_h = g.in[0], s.in_w = g.in[1], s.channels = g.channels, s.out_channels = g.out_channels;
  s.pad_top = g.pad_lo[0], s.pad_left = g.pad_lo[1], s.out_h = g.out[0], s.out_w = g.out[1];
  s.tile = tile;
  return s;
}

void winograd_transform_kernel(const float* w, int64_t channels, int64_t out_channels, int tile, float* u) {
  AXON_CHECK(channels > 0 && out_channels > 0 && (tile == 2 || tile == 4), "winograd_conv",
             "kernel of 3x3 x {} x {}, output tiles {}x{}: channels must be > 0, tiles 2 or 4", channels,
             out_channels, tile, tile);
  const int64_t ck = channels * out_channels;
  // U = G g G^T with F(2,3)'s G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], F(4,3)'s
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
  static constexpr double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double G4[6][3] = {{0.25, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  const int n = tile + 2;
  const double(*G)[3] = tile == 2 ? G2 : G4;
  for (int64_t i = 0; i < ck; ++i) {
    double g[3][3], t[6][3];
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 3; ++c) g[a][c] = w[(3 * a + c) * ck + i];
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < 3; ++c) t[r][c] = G[r][0] * g[0][c] + G[r][1] * g[1][c] + G[r][2] * g[2][c];
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c)
        u[(n * r + c) * ck + i] = static_cast<float>(t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2]);
  }
}

int64_t winograd_scratch_floats(const WinogradShape& s, int64_t block) {
  return s.elements() * block * (s.channels + s.out_channels);
}

void winograd_conv_tiles(const WinogradShape& s, const float* x, const float* u, const float* b, bool relu, float* y,
                         int64_t t0, int64_t t1, int64_t bs, float* scratch) {
  AXON_CHECK(bs > 0 && t0 >= 0 && t1 <= s.tiles() && s.channels > 0 && s.out_channels > 0 &&
                 (s.tile == 2 || s.tile == 4),
             "winograd_conv", "tiles [{}, {}) of {} in blocks of {} ({} -> {} channels, {}x{} tiles)", t0, t1,
             s.tiles(), bs, s.channels, s.out_channels, s.tile, s.tile);
  for (int64_t t = t0; t < t1; t += bs) {
    if (s.tile == 2) block<2>(s, x, u, b, relu, y, t, std::min(bs, t1 - t), bs, scratch);
    else block<4>(s, x, u, b, relu, y, t, std::min(bs, t1 - t), bs, scratch);
  }
}

int64_t winograd_block(const WinogradShape& s) {
  if (const char* e = std::getenv("AXON_CPU_WINOGRAD_BLOCK"); e && std::atoi(e) > 0) return std::atoi(e);
  // A block's V and M in half a core's L2, U and the block's input and output in the rest; rows in
  // 6s, the dense kernel's tile (W2's second conv: 18 tiles of 4x4, measured best of 6 to 36).
  constexpr int64_t kBudget = int64_t(256) << 10;  // bytes
  const int64_t per_tile = s.elements() * (s.channels + s.out_channels) * 4;
  return std::clamp<int64_t>(kBudget / per_tile, 6, 96) / 6 * 6;
}

WinogradMode winograd_mode() {
  const char* e = std::getenv("AXON_CPU_WINOGRAD");
  if (e && std::strcmp(e, "on") == 0) return WinogradMode::on;
  if (e && std::strcmp(e, "off") == 0) return WinogradMode::off;
  return WinogradMode::automatic;
}

std::unique_ptr<WinogradConv> WinogradConv::make(const ConvGeometry& g, bool relu, int parts, int tile) {
  const WinogradShape s = winograd_shape(g, tile);
  // The flops the tiles' 16 GEMMs take (the transforms add little for 8 or more channels).
  const double flops = 2.0 * double(s.elements()) * double(s.tiles()) * double(s.channels) * double(s.out_channels);
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
  u_ = std::make_unique<float[]>(size_t(s.elements() * ck));
}

void WinogradConv::run(const float* x, const float* w, const float* b, float* y) {
  // The kernel is transformed again when its values differ from the last call's (a weight changed
  // in place counts), as the oneDNN path reorders it.
  if (seen_.changed(w, size_t(9 * s_.channels * s_.out_channels)))
    winograd_transform_kernel(w, s_.channels, s_.out_channels, s_.tile, u_.get());
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
