// What linking libaxon costs a program that never touches a GPU: the resident memory (VmRSS) at
// the start of main(), after a first CPU matmul, and the number of CUDA devices axon sees (which,
// in a split build, is when libaxon_cuda.so is looked for). tools/footprint.sh prints the table.
#include <axon/axon.hpp>

#include <cstdio>
#include <fstream>
#include <string>

namespace {
long vm_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}
}  // namespace

int main() {
  const long at_start = vm_rss_kib();
  axon::Tensor a = axon::ones({256, 256});
  axon::Tensor c = axon::matmul(a, a);
  const float c00 = c.to_vector<float>()[0];
  const long after_matmul = vm_rss_kib();
  const int devices = axon::cuda_device_count();
  const long after_query = vm_rss_kib();
  std::printf("rss_start_kib %ld\nrss_after_matmul_kib %ld\n", at_start, after_matmul);
  std::printf("rss_after_device_query_kib %ld\ncuda_devices %d\ncheck %g\n", after_query, devices, double(c00));
  return c00 == 256.0f ? 0 : 1;
}
