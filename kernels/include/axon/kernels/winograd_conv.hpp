#pragma once
// Winograd convolution for CPU inference (not installed; issue 17). A 3x3 conv costs 9 multiplies
// an output per channel pair; computed on m x m output tiles from (m+2) x (m+2) input tiles it
// costs (m+2)^2 / m^2: F(2x2, 3x3) 4 (2.25x fewer FLOPs), F(4x4, 3x3) 2.25 (4x fewer), which is how
// a conv already running near a core's peak (W2's second conv on oneDNN's JIT kernel) gets faster.
// Three steps per block of tiles, E = (m+2)^2:
//   input transform  V[e] = (B^T d B)[e]  for each tile d ((m+2)^2 x Cin) -> E matrices [tiles x Cin]
//   E GEMMs          M[e] = V[e] @ U[e]   with U = G g G^T, [Cin x Cout] each (transformed once)
//   output transform y = A^T M A + bias, relu, written NHWC (m x m x Cout a tile)
// A block's V and M matrices stay in L2 between the steps. f32, channels last ([N, H, W, C]
// contiguous), kernel HWIO [3, 3, Cin, Cout], stride 1, no dilation, one group, any non-negative
// padding (`same` and `valid` included). Rounding: the transforms add to a direct conv's error (the
// tests bound it against a float64 direct conv: a few 1e-7 of the output's scale for m = 2, 1e-6
// for m = 4).
#include <cstdint>
#include <memory>

#include <axon/kernels/conv.hpp>
#include <axon/kernels/seen_values.hpp>

namespace axon::kernels::cpu {

// Whether the kernel can run the problem: 2-D, 3x3, stride 1, no input or kernel dilation, one
// group, padding >= 0, at least one output pixel.
bool winograd_applies(const ConvGeometry& g);

// The problem as the kernel sees it: output tiles of `tile` x `tile` cells, F(2x2, 3x3) or
// F(4x4, 3x3) (36 multiplies per 16 outputs, 1.8x fewer again, at a larger rounding error and more
// wasted cells where the output is not a multiple of 4). winograd_shape() throws axon::Error (op
// "winograd_conv") naming the geometry when winograd_applies() is false or the tile is not 2 or 4;
// tile 0: AXON_CPU_WINOGRAD_TILE when set, else the default (winograd_default_tile()).
struct WinogradShape {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0, out_channels = 0;
  int64_t pad_top = 0, pad_left = 0, out_h = 0, out_w = 0;
  int tile = 2;
  int64_t elements() const { return (tile + 2) * (tile + 2); }  // of a transformed tile
  int64_t tiles_h() const { return (out_h + tile - 1) / tile; }
  int64_t tiles_w() const { return (out_w + tile - 1) / tile; }
  int64_t tiles() const { return batch * tiles_h() * tiles_w(); }
};
WinogradShape winograd_shape(const ConvGeometry& g, int tile = 0);
int winograd_default_tile();

// u (elements * Cin * Cout floats) = the transformed kernel of w (HWIO 3x3 x Cin x Cout),
// u[e][ci][co] for the elements e of a (tile + 2)^2 transformed tile, computed in double.
void winograd_transform_kernel(const float* w, int64_t channels, int64_t out_channels, int tile, float* u);

// Tiles [t0, t1) (tile t: item t / (tiles_h tiles_w), then row-major) in blocks of `block` tiles
// on the calling thread: y's 2x2 x Cout outputs of those tiles = relu?(conv + b) (b: Cout floats or
// null). `scratch` holds winograd_scratch_floats(s, block) floats.
int64_t winograd_scratch_floats(const WinogradShape& s, int64_t block);
void winograd_conv_tiles(const WinogradShape& s, const float* x, const float* u, const float* b, bool relu, float* y,
                         int64_t t0, int64_t t1, int64_t block, float* scratch);

// Tiles per block when none is forced: the block's V and M matrices fill about half a core's L2.
// AXON_CPU_WINOGRAD_BLOCK overrides (measuring).
int64_t winograd_block(const WinogradShape& s);

// The conv of a predict plan on this kernel: the geometry (batch included) it was made for, the
// kernel transformed again when its values differ from the last call's, the tiles split into
// `parts` ranges across the kernels' pool (parallel.hpp). make() throws axon::Error (as
// winograd_shape) for a geometry the kernel cannot run.
class WinogradConv {
 public:
  static std::unique_ptr<WinogradConv> make(const ConvGeometry& g, bool relu, int parts, int tile = 0);
  WinogradConv(const WinogradShape& s, bool relu, int parts);
  void run(const float* x, const float* w, const float* b, float* y);
  int parts() const { return parts_; }

 private:
  WinogradShape s_;
  bool relu_;
  int parts_;
  int64_t block_;
  std::unique_ptr<float[]> u_;
  SeenValues seen_;  // the kernel's values at the last transform
};

// The environment's AXON_CPU_WINOGRAD: automatic (unset or "auto": timed against the other path on
// a shape's first call), on (every problem it applies to), off.
enum class WinogradMode { automatic, on, off };
WinogradMode winograd_mode();

}  // namespace axon::kernels::cpu
