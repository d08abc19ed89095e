#pragma once
// Whether the CPU kernels that have an AVX2 + FMA version run it (not installed): the one-pass dense
// kernel's tiles (gemm_dense.cpp), the dense epilogue's f32 tanh (dense.cpp) and the fused first conv
// + pool (conv_pool_infer.cpp). True when the CPU has both and set_avx2_kernels(false) (the public
// set_cpu_avx2_kernels, or AXON_CPU_AVX2=off at start) has not turned them off: off, they run the
// baseline code that CPUs without AVX2 take, which is how the tests check that code on this machine.
namespace axon::kernels::cpu {

bool cpu_has_avx2_fma();
bool avx2_kernels();
void set_avx2_kernels(bool on);

}  // namespace axon::kernels::cpu
