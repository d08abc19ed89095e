// The AVX2 kernels' switch (cpu_features.hpp).
#include "cpu_features.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace axon::kernels::cpu {

namespace {
std::atomic<bool> g_allowed{[] {
  const char* s = std::getenv("AXON_CPU_AVX2");
  return !(s && std::strcmp(s, "off") == 0);
}()};
}  // namespace

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

bool avx2_kernels() { return g_allowed.load(std::memory_order_relaxed) && cpu_has_avx2_fma(); }
void set_avx2_kernels(bool on) { g_allowed.store(on, std::memory_order_relaxed); }

}  // namespace axon::kernels::cpu
