#pragma once
// Op front-ends: each validates its inputs (shapes, dtypes, devices) and throws axon::Error naming
// the op before any kernel runs, promotes dtypes, dispatches to kernels/cpu or kernels/cuda, and
// records itself on the autograd tape with its backward formula (written with these same ops, so
// gradients are differentiable again).
#include <optional>
#include <utility>
#include <vector>

#include <axon/tensor.hpp>

namespace axon {

using Axes = std::vector<int64_t>;  // empty: every axis

// ---- unary (floating inputs; integer inputs are promoted to f32 except where noted)
// On bool inputs: neg is an error; abs, sign, square, relu, floor, ceil and round are the identity.
Tensor neg(const Tensor& x);         // keeps integer dtypes
Tensor abs(const Tensor& x);         // keeps integer dtypes
Tensor sign(const Tensor& x);        // keeps integer dtypes; sign(NaN) is NaN
Tensor exp(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor erfinv(const Tensor& x);
Tensor floor(const Tensor& x);       // identity on integers
Tensor ceil(const Tensor& x);        // identity on integers
Tensor round(const Tensor& x);       // half to even, identity on integers
Tensor reciprocal(const Tensor& x);
Tensor square(const Tensor& x);      // keeps integer dtypes
Tensor relu(const Tensor& x);        // keeps integer dtypes
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
Tensor pow(const Tensor& x, Scalar exponent);  // integer inputs give f32

// ---- binary, with NumPy broadcasting and type promotion
// bool op bool stays bool (PyTorch's rule): add and maximum are logical or, mul and minimum logical
// and; sub of two bool tensors is an error (use logical_xor). maximum/minimum propagate NaN; their
// gradient is split half and half between tied operands.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division: integers give f32
Tensor pow(const Tensor& a, const Tensor& b);  // integer operands give f32
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, Scalar b);
Tensor sub(const Tensor& a, Scalar b);
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, Scalar b);
Tensor rsub(Scalar a, const Tensor& b);   // a - b
Tensor rdiv(Scalar a, const Tensor& b);   // a / b
// comparisons give bool tensors
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, Scalar b);
Tensor ne(const Tensor& a, Scalar b);
Tensor lt(const Tensor& a, Scalar b);
Tensor le(const Tensor& a, Scalar b);
Tensor gt(const Tensor& a, Scalar b);
Tensor ge(const Tensor& a, Scalar b);
// logical ops take any dtype (nonzero is true) and give bool
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
// ---- ternary
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond must be bool
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
// clamp(x, lo, hi) = min(max(x, lo), hi) (so lo > hi gives hi; NaN passes through); at least one
// bound must be given. Tensor bounds broadcast with x; an undefined Tensor is a missing bound.
Tensor clamp(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi);
Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi);

// ---- reductions over any set of axes (empty = all), with keepdims
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor prod(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims = false);  // i64; first index on ties
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims = false);
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t correction = 0, bool keepdims = false);
Tensor std(const Tensor& x, const Axes& axes = {}, int64_t correction = 0, bool keepdims = false);
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor norm(const Tensor& x, double ord = 2, const Axes& axes = {}, bool keepdims = false);
Tensor all(const Tensor& x, const Axes& axes = {}, bool keepdims = false);  // bool
Tensor any(const Tensor& x, const Axes& axes = {}, bool keepdims = false);  // bool
Tensor cumsum(const Tensor& x, int64_t axis);
// Sorted values and their i64 indices along an axis (stable).
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t axis = -1, bool descending = false);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true);
// Reduces a broadcast result back to `shape` (summing broadcast axes): the gradient of expand.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- softmax family, fused along one axis
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

// ---- matrix products: cuBLAS/cuBLASLt on CUDA, OpenBLAS on CPU. 1-D operands follow NumPy's rules;
// batch dimensions broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// TF32 for f32 matmuls on CUDA: off by default (exact f32), as PyTorch's allow_tf32 = False.
void set_allow_tf32(bool allow);
bool allow_tf32();

// ---- joining, splitting, indexing
Tensor concat(const std::vector<Tensor>& xs, int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis = 0);
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t axis = 0);  // equal chunks of `size`
// Constant padding: pads[i] = {before, after} for axis i (fewer entries pad the leading axes only).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value = 0);
// out[i...] = x[..., index[i...], ...] along axis (index i32/i64, any shape): NumPy's take.
Tensor take(const Tensor& x, const Tensor& index, int64_t axis = 0);
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);  // index 1-D
// torch.gather: index has x's rank; out[i][j] = x[index[i][j]][j] for axis 0.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// out = copy of x with src added at index along axis (torch.scatter_add semantics).
Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype = DType::f32);
Tensor cast(const Tensor& x, DType dtype);  // differentiable between float dtypes

// ---- view front-ends (the Tensor methods call these)
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis = std::nullopt);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor contiguous(const Tensor& x);
Tensor to_device(const Tensor& x, Device device);

// ---- operators
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
inline Tensor operator+(Scalar a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(Scalar a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(Scalar a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(Scalar a, const Tensor& b) { return rdiv(a, b); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator!(const Tensor& a) { return logical_not(a); }
inline Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
inline Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }

}  // namespace axon
