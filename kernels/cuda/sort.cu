// CUDA sort: values become order-preserving unsigned keys (NaN canonicalised to the largest key,
// -0.0 to +0.0), CUB sorts (key, position) pairs stably (DeviceRadixSort for one row,
// DeviceSegmentedSort for many), and a gather writes the original values and i64 positions.
// CUB's item and segment counts are 32-bit in the CUDA 12 releases, so rows go to CUB in chunks
// of at most kChunkItems elements (a row of up to 2^31 - 1 elements, the front-end's limit, is a
// chunk of its own); the scratch is sized for one chunk.
#include <axon/kernels/cuda_check.hpp>
#include <axon/kernels/scalar.hpp>
#include <axon/kernels/sort.hpp>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_sort.cuh>
#include <string>
#include <type_traits>

namespace axon::kernels::cuda {

namespace {

template <class T>
using key_t = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;

template <class T>
__device__ __forceinline__ key_t<T> to_key(T v) {
  if constexpr (std::is_same_v<T, double>) {
    unsigned long long u = v != v ? 0x7ff8000000000000ull : __double_as_longlong(v == 0.0 ? 0.0 : v);
    return (u >> 63) ? ~u : (u | (1ull << 63));
  } else if constexpr (std::is_floating_point_v<acc_t<T>>) {  // f32, bf16, f16 (exact in float)
    float f = static_cast<float>(v);
    unsigned int u = f != f ? 0x7fc00000u : __float_as_uint(f == 0.0f ? 0.0f : f);
    return (u >> 31) ? ~u : (u | 0x80000000u);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return static_cast<unsigned long long>(v) ^ (1ull << 63);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return static_cast<unsigned int>(v) ^ 0x80000000u;
  } else {  // u8, bool
    return static_cast<unsigned int>(v);
  }
}

template <class T>
__global__ void make_keys(const T* __restrict__ x, key_t<T>* __restrict__ keys, int* __restrict__ pos,
                          int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    keys[i] = to_key(x[i]);
    pos[i] = static_cast<int>(i % n);
  }
}

__global__ void make_offsets(int64_t* off, int64_t rows, int64_t n) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r <= rows;
       r += int64_t(gridDim.x) * blockDim.x)
    off[r] = r * n;
}

template <class T>
__global__ void gather_sorted(const T* __restrict__ x, const int* __restrict__ pos, T* __restrict__ values,
                              int64_t* __restrict__ indices, int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t p = pos[i];
    values[i] = x[i - i % n + p];
    indices[i] = p;
  }
}

size_t align_up(size_t b) { return (b + 255) / 256 * 256; }

constexpr int64_t kChunkItems = int64_t(1) << 28;  // 4 GiB of 8-byte keys and positions at most

// Rows per chunk: as many as fit in kChunkItems, at least one.
int64_t chunk_rows(int64_t rows, int64_t n) {
  const int64_t c = kChunkItems / n;
  return c < 1 ? 1 : (c > rows ? rows : c);
}

struct Layout {
  size_t keys_in = 0, keys_out = 0, pos_in = 0, pos_out = 0, offsets = 0, temp = 0, temp_bytes = 0, total = 0;
};

template <class K>
size_t cub_temp_bytes(int64_t rows64, int64_t total64, bool descending) {
  // The counts' types as sort_chunk passes them: CUB sizes its scratch by its offset type.
  const int rows = static_cast<int>(rows64), total = static_cast<int>(total64);
  size_t bytes = 0;
  const K* kin = nullptr;
  K* kout = nullptr;
  const int* vin = nullptr;
  int* vout = nullptr;
  const int64_t* off = nullptr;
  cudaError_t e;
  if (rows == 1) {
    e = descending ? cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, kin, kout, vin, vout, total)
                   : cub::DeviceRadixSort::SortPairs(nullptr, bytes, kin, kout, vin, vout, total);
  } else {
    e = descending ? cub::DeviceSegmentedSort::StableSortPairsDescending(nullptr, bytes, kin, kout, vin, vout,
                                                                         total, rows, off, off + 1)
                   : cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes, kin, kout, vin, vout, total,
                                                               rows, off, off + 1);
  }
  AXON_CUDA_CHECK(e, "sort");
  return bytes;
}

// Scratch for sorting one chunk of `rows` rows of n (and the shorter last chunk, whose CUB path may
// differ when it is a single row).
Layout layout(DType dt, int64_t rows, int64_t n) {
  const int64_t last = rows % chunk_rows(rows, n);
  rows = chunk_rows(rows, n);
  int64_t total = rows * n;
  size_t ks = itemsize(dt) == 8 ? 8 : 4;
  Layout l;
  size_t at = 0;
  l.keys_in = at, at += align_up(size_t(total) * ks);
  l.keys_out = at, at += align_up(size_t(total) * ks);
  l.pos_in = at, at += align_up(size_t(total) * 4);
  l.pos_out = at, at += align_up(size_t(total) * 4);
  l.offsets = at, at += align_up(size_t(rows + 1) * 8);
  // Room for either direction, so that the size query needs no direction.
  for (int64_t r : {rows, last}) {
    if (r == 0) continue;
    for (bool desc : {false, true}) {
      size_t b = ks == 8 ? cub_temp_bytes<unsigned long long>(r, r * n, desc)
                         : cub_temp_bytes<unsigned int>(r, r * n, desc);
      l.temp_bytes = b > l.temp_bytes ? b : l.temp_bytes;
    }
  }
  l.temp = at, at += align_up(l.temp_bytes);
  l.total = at;
  return l;
}

// One chunk: rows (< 2^31) rows of n, total = rows * n <= max(kChunkItems, n) < 2^31 elements.
template <class T>
void sort_chunk(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, bool descending, char* ws,
                const Layout& l, cudaStream_t s) {
  using K = key_t<T>;
  const int64_t total = rows * n;
  K* kin = reinterpret_cast<K*>(ws + l.keys_in);
  K* kout = reinterpret_cast<K*>(ws + l.keys_out);
  int* pin = reinterpret_cast<int*>(ws + l.pos_in);
  int* pout = reinterpret_cast<int*>(ws + l.pos_out);
  const int64_t* off = reinterpret_cast<const int64_t*>(ws + l.offsets);
  void* temp = ws + l.temp;
  size_t temp_bytes = l.temp_bytes;
  const int items = static_cast<int>(total), segments = static_cast<int>(rows);
  make_keys<<<grid_for(total, 256), 256, 0, s>>>(x, kin, pin, total, n);
  AXON_CUDA_LAUNCH_CHECK("sort");
  if (rows == 1) {
    if (descending)
      AXON_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(temp, temp_bytes, kin, kout, pin, pout, items, 0,
                                                                int(sizeof(K) * 8), s),
                      "sort");
    else
      AXON_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, kin, kout, pin, pout, items, 0,
                                                      int(sizeof(K) * 8), s),
                      "sort");
  } else {
    if (descending)
      AXON_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairsDescending(temp, temp_bytes, kin, kout, pin, pout,
                                                                          items, segments, off, off + 1, s),
                      "sort");
    else
      AXON_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(temp, temp_bytes, kin, kout, pin, pout, items,
                                                                segments, off, off + 1, s),
                      "sort");
  }
  gather_sorted<<<grid_for(total, 256), 256, 0, s>>>(x, pout, values, indices, total, n);
  AXON_CUDA_LAUNCH_CHECK("sort");
}

template <class T>
void sort_typed(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, bool descending, char* ws,
                const Layout& l, cudaStream_t s) {
  const int64_t per = chunk_rows(rows, n);
  if (per > 1) {  // one set of offsets r * n, r <= per, serves every chunk (a shorter one uses a prefix)
    make_offsets<<<grid_for(per + 1, 256), 256, 0, s>>>(reinterpret_cast<int64_t*>(ws + l.offsets), per, n);
    AXON_CUDA_LAUNCH_CHECK("sort");
  }
  for (int64_t r0 = 0; r0 < rows; r0 += per) {
    const int64_t r = rows - r0 < per ? rows - r0 : per;
    sort_chunk(x + r0 * n, values + r0 * n, indices + r0 * n, r, n, descending, ws, l, s);
  }
}

}  // namespace

size_t sort_workspace_bytes(DType dt, int64_t rows, int64_t n) {
  if (rows * n == 0) return 0;
  return layout(dt, rows, n).total;
}

void sort(DType dt, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n, bool descending,
          void* workspace, size_t workspace_bytes, cudaStream_t s) {
  if (rows * n == 0) return;
  Layout l = layout(dt, rows, n);
  if (!workspace || workspace_bytes < l.total)  // a front-end bug, not a user error
    throw Error("sort: workspace too small (" + std::to_string(workspace_bytes) + " bytes)", __FILE__,
                __LINE__);
  AXON_DISPATCH_ALL(dt, "sort",
                    sort_typed(static_cast<const scalar_t*>(x), static_cast<scalar_t*>(values), indices, rows,
                               n, descending, static_cast<char*>(workspace), l, s));
}

}  // namespace axon::kernels::cuda
