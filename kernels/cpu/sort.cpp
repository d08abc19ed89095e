#include <algorithm>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/sort.hpp>
#include <numeric>
#include <type_traits>
#include <vector>

namespace axon::kernels::cpu {

namespace {
template <class T>
void sort_typed(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, bool descending) {
  using A = std::conditional_t<std::is_floating_point_v<acc_t<T>>, acc_t<T>, T>;
  // NaN is the greatest value; -0.0 == 0.0 under <, so stability keeps their order.
  auto less = [](A a, A b) {
    if constexpr (std::is_floating_point_v<A>)
      return !(a != a) && (b != b || a < b);
    else
      return a < b;
  };
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::vector<A> key(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * n;
    for (int64_t k = 0; k < n; ++k) key[k] = convert<A>(row[k]);
    std::iota(idx.begin(), idx.end(), 0);
    if (descending)
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return less(key[b], key[a]); });
    else
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return less(key[a], key[b]); });
    for (int64_t k = 0; k < n; ++k) {
      values[r * n + k] = row[idx[k]];
      indices[r * n + k] = idx[k];
    }
  }
}
}  // namespace

void sort(DType dt, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n, bool descending) {
  if (rows * n == 0) return;
  AXON_DISPATCH_ALL(dt, "sort",
                    sort_typed(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(values), indices, rows,
                               n, descending));
}

}  // namespace axon::kernels::cpu
