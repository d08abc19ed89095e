#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace axon {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;  // in elements

int64_t numel(const Shape& s);
Strides contiguous_strides(const Shape& s);
std::string to_string(const Shape& s);  // "[2, 3]"
// Wraps a possibly negative axis into [0, rank); `op` names the caller in the error.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* op);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace axon
