#include <axon/error.hpp>
#include <axon/kernels/index.hpp>
#include <axon/kernels/scalar.hpp>

namespace axon::kernels::cpu {

namespace {
template <class T, class I>
void one_hot_typed(const I* labels, const Indexer& il, int64_t n, int64_t num_classes, T* out) {
  const T one = convert<T>(1), zero = convert<T>(0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = static_cast<int64_t>(labels[il.offset(i)]);
    T* row = out + i * num_classes;
    for (int64_t c = 0; c < num_classes; ++c) row[c] = c == v ? one : zero;
  }
}
}  // namespace

void one_hot(DType idx_dt, const void* labels, const Indexer& il, int64_t n, int64_t num_classes, DType dt,
             void* out) {
  if (n == 0 || num_classes == 0) return;
  AXON_DISPATCH_ALL(dt, "one_hot", {
    if (idx_dt == DType::i32)
      one_hot_typed(static_cast<const int32_t*>(labels), il, n, num_classes, static_cast<scalar_t*>(out));
    else if (idx_dt == DType::i64)
      one_hot_typed(static_cast<const int64_t*>(labels), il, n, num_classes, static_cast<scalar_t*>(out));
    else
      AXON_FAIL("one_hot", "labels must be i32 or i64, got {}", dtype_name(idx_dt));
  });
}

}  // namespace axon::kernels::cpu
