#pragma once
// Which library runs the CPU's f32 matrix products (matmul, dense layers, the LSTM's GEMMs and the
// im2col convolutions' GEMMs), in builds with oneDNN: automatic (the default) times oneDNN's JIT
// sgemm and OpenBLAS on each single-threaded call shape's first use and keeps the faster; openblas
// and onednn force one. The environment variable AXON_CPU_GEMM (auto, openblas, onednn) sets the
// initial value, AXON_CPU_GEMM_VERBOSE=1 prints the first-use timings. f64 always runs on OpenBLAS,
// as does everything in builds without oneDNN.
#include <cstdint>

namespace axon {

enum class CpuGemmPath { automatic, openblas, onednn };
void set_cpu_gemm_path(CpuGemmPath path);
CpuGemmPath cpu_gemm_path();
bool cpu_gemm_has_onednn();  // whether this build has oneDNN
// How many single-threaded f32 GEMM calls each library has run since the start (a product split
// over the CPU kernels' threads is one call per part).
struct CpuGemmRuns {
  int64_t openblas = 0, onednn = 0;
};
CpuGemmRuns cpu_gemm_runs();

// How the CPU's f32 dense layers (fused_dense, dense layers in apply / predict) run: automatic (the
// default) times a GEMM followed by the bias + activation pass against one pass of GEMM tiles that
// apply the bias and activation while each tile is in cache, on each shape's first use (up to 4
// rows: the GEMM), and keeps the faster; gemm and fused force one. The environment variable
// AXON_CPU_DENSE (auto, fused, gemm) sets the initial value, AXON_CPU_DENSE_VERBOSE=1 prints the
// timings. f64 always takes the GEMM.
enum class CpuDensePath { automatic, gemm, fused };
void set_cpu_dense_path(CpuDensePath path);
CpuDensePath cpu_dense_path();
struct CpuDenseRuns {
  int64_t gemm = 0, fused = 0;
};
CpuDenseRuns cpu_dense_runs();  // f32 dense layers each path has run since the start

// Whether the CPU kernels with an AVX2 + FMA version (the one-pass dense kernel, the dense tanh
// epilogue, the fused first conv + pool of predict's plans) run it; true by default where the CPU
// has both. Off, they run the baseline code that CPUs without AVX2 take (the tests check it so);
// AXON_CPU_AVX2=off sets the initial value.
void set_cpu_avx2_kernels(bool on);
bool cpu_avx2_kernels();

}  // namespace axon
