#include <axon/kernels/scalar.hpp>
#include <axon/kernels/scan.hpp>
#include <memory>
#include <type_traits>

namespace axon::kernels::cpu {

namespace {
template <class T>
void cumsum_typed(const T* x, void* yv, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  using A = std::conditional_t<std::is_floating_point_v<acc_t<T>>, double, int64_t>;
  using Out = std::conditional_t<std::is_floating_point_v<acc_t<T>>, T, int64_t>;
  auto* y = static_cast<Out*>(yv);
  std::unique_ptr<A[]> acc(new A[static_cast<size_t>(inner)]);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) acc[i] = A(0);
    for (int64_t kk = 0; kk < n; ++kk) {
      int64_t k = reverse ? n - 1 - kk : kk;
      int64_t base = (o * n + k) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        acc[i] += convert<A>(x[base + i]);
        y[base + i] = convert<Out>(acc[i]);
      }
    }
  }
}
}  // namespace

void cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  if (outer * n * inner == 0) return;
  AXON_DISPATCH_ALL(dt, "cumsum", cumsum_typed(static_cast<const scalar_t*>(x), y, outer, n, inner, reverse));
}

}  // namespace axon::kernels::cpu
