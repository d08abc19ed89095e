#pragma once
// NumPy's .npy and .npz files (format versions 1.0, 2.0 and 3.0; .npz stored or deflated, zip64
// included), read into CPU tensors of the matching dtype; .npy written from any tensor.
//
// dtypes: '<f4' f32, '<f8' f64, '<f2' f16, '<i4' i32, '<i8' i64, '|u1' u8, '|b1' bool; other
// little-endian integers ('|i1', '<i2', '<u2', '<u4') are widened to i32 or i64 exactly. Fortran-order
// arrays are returned in C order (transposed copy). Anything else (big-endian data, object arrays,
// structured dtypes, a header or size that does not add up, a truncated file) is an axon::Error naming
// the file and what is wrong; the size declared by the header is checked against the file before
// anything is allocated.
#include <map>
#include <string>

#include <axon/tensor.hpp>

namespace axon::data {

Tensor read_npy(const std::string& path);
// Every array of an .npz archive, by name without the ".npy" suffix (np.savez's "arr_0" or the keyword).
std::map<std::string, Tensor> read_npz(const std::string& path);
// Writes format 1.0 (2.0 when the header needs it), C order; any device, bf16 is written as f32.
void write_npy(const std::string& path, const Tensor& x);

}  // namespace axon::data
