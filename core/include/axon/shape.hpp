#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace axon {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;  // in elements

// Every shape product axon computes (element counts, strides, byte sizes) is checked: a shape whose
// elements, counted with every zero-sized axis taken as 1, would exceed kMaxElements is refused with an
// axon::Error naming the op and the shape, so no size computation can wrap around. The bound keeps
// numel * itemsize (at most 8 bytes) and the allocator's rounding far from overflow.
inline constexpr int64_t kMaxElements = int64_t(1) << 59;

int64_t numel(const Shape& s);  // checked as above; the error names "shape"
// numel for a shape that comes from a caller: non-negative dims, checked product; errors name `op`.
int64_t checked_numel(const Shape& s, const char* op);
// a * b, or an axon::Error naming `op` and `what` when the product leaves [0, kMaxElements].
int64_t checked_mul(int64_t a, int64_t b, const char* op, const char* what);
Strides contiguous_strides(const Shape& s);
std::string to_string(const Shape& s);  // "[2, 3]"
// Wraps a possibly negative axis into [0, rank); `op` names the caller in the error.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* op);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace axon
