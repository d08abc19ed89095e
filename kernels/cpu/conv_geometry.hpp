#pragma once
// Geometry helpers shared by the CPU convolution kernels (not installed).
#include <algorithm>
#include <axon/kernels/conv.hpp>
#include <thread>
#include <vector>

namespace axon::kernels::cpu::conv_detail {


// Runs f(begin, end) over batch items [n0, n0 + count) on up to two threads when the work pays
// for a thread (the GEMM around these copies already uses every core, the copies alone do not).
template <class F>
void parallel_items(int64_t n0, int64_t count, int64_t work_per_item, F f) {
  const unsigned hw = std::thread::hardware_concurrency();
  if (count < 2 || hw < 2 || count * work_per_item < (int64_t(1) << 16)) return f(n0, n0 + count);
  const int64_t nt = std::min<int64_t>(std::min<int64_t>(hw, 8), count);
  const int64_t per = (count + nt - 1) / nt;
  std::vector<std::thread> ts;
  for (int64_t t = 1; t < nt; ++t) {
    const int64_t b = n0 + t * per, e = std::min(n0 + count, b + per);
    if (b < e) ts.emplace_back([=] { f(b, e); });
  }
  f(n0, std::min(n0 + count, n0 + per));
  for (auto& t : ts) t.join();
}

// Input index along d read by output o and tap k, or -1 in padding / between dilated pixels.
inline int64_t input_index(const Geo3& g, int d, int64_t o, int64_t k) {
  int64_t p = o * g.s[d] + k * g.kdil[d] - g.lo[d];
  if (p < 0) return -1;
  if (g.idil[d] != 1) {
    if (p % g.idil[d] != 0) return -1;
    p /= g.idil[d];
  }
  return p < g.in[d] ? p : -1;
}

// Output index along d that reads input i through tap k, or -1.
inline int64_t output_index(const Geo3& g, int d, int64_t i, int64_t k) {
  int64_t q = i * g.idil[d] + g.lo[d] - k * g.kdil[d];
  if (q < 0 || q % g.s[d] != 0) return -1;
  q /= g.s[d];
  return q < g.out[d] ? q : -1;
}

}  // namespace axon::kernels::cpu::conv_detail
